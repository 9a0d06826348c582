import 'reflect-metadata';
import type { INestMicroservice } from '@nestjs/common';
import { DomainError, type CommandEnvelope } from '@switchyard/contracts';
import { NatsCommandBus } from './nats-command-bus';
import { startCommandServer } from './nats-command-server';

const servers = [process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222'];
// Each run answers on its own service name, so parallel runs never answer each other.
const service = `t${process.pid}${Date.now().toString(36)}`;

const handlers = {
  submit: async (env: CommandEnvelope) => ({ doubled: (env as CommandEnvelope<{ n: number }>).payload.n * 2 }),
  cancel: async () => {
    throw new DomainError('JOB_NOT_FOUND', 'No job with ID: pj_00000000');
  },
};

describe('NATS command bus against a command server on the real NATS', () => {
  let app: INestMicroservice;
  let bus: NatsCommandBus;
  const envelope = (payload: unknown): CommandEnvelope => ({
    principal: { orgId: 'o', userId: 'u', role: 'member', keyId: 'k' },
    correlationId: 'c',
    payload,
  });

  beforeAll(async () => {
    app = await startCommandServer({ kind: service, handlers, servers });
    bus = new NatsCommandBus({ servers, timeoutMs: 2_000 });
    await bus.connect();
  });
  afterAll(async () => {
    await bus.close();
    await app.close();
  });

  it('sends a command and returns the reply value', async () => {
    await expect(bus.send(service, 'submit', envelope({ n: 21 }))).resolves.toEqual({ doubled: 42 });
  });

  it('turns an error reply into the DomainError it was', async () => {
    await expect(bus.send(service, 'cancel', envelope({}))).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it('keeps installations apart by their command root', async () => {
    const other = await startCommandServer({ kind: service, handlers: { submit: async () => ({ from: 'other' }) }, servers, commandRoot: `${service}cmd` });
    const otherBus = new NatsCommandBus({ servers, timeoutMs: 2_000, commandRoot: `${service}cmd` });
    await otherBus.connect();
    try {
      for (let i = 0; i < 10; i++) {
        await expect(bus.send(service, 'submit', envelope({ n: i }))).resolves.toEqual({ doubled: i * 2 });
        await expect(otherBus.send(service, 'submit', envelope({ n: i }))).resolves.toEqual({ from: 'other' });
      }
    } finally {
      await otherBus.close();
      await other.close();
    }
  });

  it('answers SERVICE_UNAVAILABLE when nothing answers in time', async () => {
    const quick = new NatsCommandBus({ servers, timeoutMs: 300 });
    await quick.connect();
    await expect(quick.send(`${service}none`, 'submit', envelope({}))).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await quick.close();
  });
});
