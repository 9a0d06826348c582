import { DomainError, type CommandEnvelope } from '@switchyard/contracts';
import { InProcessCommandBus, replyTo } from './command-bus';

const envelope: CommandEnvelope = {
  principal: { orgId: 'o', userId: 'u', role: 'member', keyId: 'k' },
  correlationId: 'c-1',
  payload: { when: new Date('2026-01-01T00:00:00Z') },
};

describe('command bus', () => {
  it('returns what the handler returns, after a trip through JSON as on the wire', async () => {
    const bus = new InProcessCommandBus().register('print', { submit: async (env) => ({ got: env }) });
    const result = await bus.send<{ got: { payload: { when: unknown } } }>('print', 'submit', envelope);
    expect(result.got.payload.when).toBe('2026-01-01T00:00:00.000Z');
  });

  it('turns a DomainError reply back into a DomainError with its code', async () => {
    const bus = new InProcessCommandBus().register('print', {
      cancel: async () => {
        throw new DomainError('JOB_NOT_FOUND', 'No job with ID: pj_00000000');
      },
    });
    await expect(bus.send('print', 'cancel', envelope)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND', message: 'No job with ID: pj_00000000' });
  });

  it('hides an unexpected failure behind INTERNAL, and answers unknown services and commands', async () => {
    const reply = await replyTo(async () => {
      throw new Error('db password is hunter2');
    }, envelope);
    expect(reply).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'the service failed to handle the command' } });
    const bus = new InProcessCommandBus();
    await expect(bus.send('image', 'submit', envelope)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await expect(new InProcessCommandBus().register('print', {}).send('print', 'submit', envelope)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
