import { commandSubject, eventSubject, kindEventsFilter } from './subjects';
import { jobEventSchema, JOB_EVENT_TYPES, isJobEvent } from './job-lifecycle';
import { streamCategory, streamEntityId } from './events';

describe('subjects', () => {
  it('puts a job event under its kind, job id and type', () => {
    expect(eventSubject('job-pj_0a1b2c3d', 'JobQueued', 'print')).toBe('evt.print.pj_0a1b2c3d.JobQueued');
  });

  it('puts other streams under their category', () => {
    expect(eventSubject('credits-org_1', 'CreditsGranted')).toBe('evt.credits.org_1.CreditsGranted');
  });

  it('never lets an id break the subject into more tokens', () => {
    expect(eventSubject('job-a.b*c>d e', 'JobQueued', 'print')).toBe('evt.print.a_b_c_d_e.JobQueued');
  });

  it('names filters and command subjects', () => {
    expect(kindEventsFilter('image')).toBe('evt.image.>');
    expect(commandSubject('print', 'submit')).toBe('cmd.print.submit');
    expect(commandSubject('image', 'cancel', 'staging-cmd')).toBe('staging-cmd.image.cancel');
  });

  it('splits a stream id into category and entity at the first dash', () => {
    expect(streamCategory('job-abc-def')).toBe('job');
    expect(streamEntityId('job-abc-def')).toBe('abc-def');
  });
});

describe('job event schema', () => {
  it('knows every lifecycle event type', () => {
    expect(JOB_EVENT_TYPES).toContain('JobSubmitted');
    expect(JOB_EVENT_TYPES).toHaveLength(16);
    expect(isJobEvent({ type: 'JobExpired' })).toBe(true);
    expect(isJobEvent({ type: 'PrinterJobAccepted' })).toBe(false);
  });

  it('rejects progress outside 0..100 and a time without a zone', () => {
    expect(jobEventSchema.safeParse({ type: 'JobProgressed', data: { progress: 101, at: '2026-01-01T00:00:00Z' } }).success).toBe(false);
    expect(jobEventSchema.safeParse({ type: 'JobQueued', data: { at: 'yesterday' } }).success).toBe(false);
    expect(jobEventSchema.safeParse({ type: 'JobQueued', data: { at: '2026-01-01T00:00:00.000Z' } }).success).toBe(true);
  });
});
