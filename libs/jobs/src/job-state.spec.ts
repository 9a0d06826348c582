import { DEFAULT_RETRY_POLICY, type Event, type JobEvent } from '@switchyard/contracts';
import { evolveJob, initialJobState, type JobState } from './job-state';

const fold = (events: (JobEvent | Event)[]): JobState => events.reduce(evolveJob, initialJobState());

const submitted: JobEvent = {
  type: 'JobSubmitted',
  data: {
    jobId: 'job_1',
    kind: 'document',
    orgId: 'org_1',
    submittedBy: 'user_1',
    input: { file: 'a.pdf' },
    retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 2 },
    expiresAt: '2030-01-02T00:00:00.000Z',
    at: '2030-01-01T00:00:00.000Z',
  },
};
const queued: JobEvent = { type: 'JobQueued', data: { at: '2030-01-01T00:00:00.000Z' } };
const started: JobEvent = { type: 'JobStarted', data: { attempt: 1, at: '2030-01-01T00:00:01.000Z' } };

const retryScheduled: JobEvent = {
  type: 'JobRetryScheduled',
  data: { attempt: 1, retryAt: '2030-01-01T00:00:03.000Z', code: 'X', message: 'x', at: '2030-01-01T00:00:02.000Z' },
};

describe('evolveJob', () => {
  it('starts empty', () => {
    expect(initialJobState()).toMatchObject({ exists: false, status: null, progress: 0, attempts: 0, blocked: null });
  });

  it('records the submission', () => {
    expect(fold([submitted, queued])).toMatchObject({
      exists: true,
      jobId: 'job_1',
      kind: 'document',
      orgId: 'org_1',
      submittedBy: 'user_1',
      input: { file: 'a.pdf' },
      externalId: null,
      priority: 0,
      status: 'queued',
      retry: { maxAttempts: 2 },
      runAt: null,
      expiresAt: '2030-01-02T00:00:00.000Z',
      submittedAt: '2030-01-01T00:00:00.000Z',
    });
  });

  it('leaves the state untouched for a kind’s own events', () => {
    const before = fold([submitted, queued, started]);
    const after = evolveJob(before, { type: 'PrinterJobAccepted', data: { cupsJobId: 17, at: '2030-01-01T00:00:05Z' } });
    expect(after).toBe(before);
  });

  it('folds a working attempt: progress, messages, outputs, failed items, completion', () => {
    const state = fold([
      submitted,
      queued,
      started,
      { type: 'JobProgressed', data: { progress: 30, at: '2030-01-01T00:00:02.000Z' } },
      { type: 'JobMessageLogged', data: { level: 'info', message: 'page 1', at: '2030-01-01T00:00:02.000Z' } },
      { type: 'JobOutputAdded', data: { name: 'thumb', value: 'v1', at: '2030-01-01T00:00:03.000Z' } },
      { type: 'JobOutputAdded', data: { name: 'thumb', value: 'v2', at: '2030-01-01T00:00:03.000Z' } },
      { type: 'JobItemFailed', data: { item: 'page-2', code: 'CORRUPT', message: 'bad', at: '2030-01-01T00:00:04.000Z' } },
      { type: 'JobCompleted', data: { partial: true, result: { pages: 2 }, at: '2030-01-01T00:00:05.000Z' } },
    ]);
    expect(state).toMatchObject({
      status: 'completed',
      progress: 100,
      attempts: 1,
      messages: 1,
      outputs: { thumb: 'v2' },
      failedItems: [{ item: 'page-2', code: 'CORRUPT', message: 'bad' }],
      partial: true,
      result: { pages: 2 },
      startedAt: '2030-01-01T00:00:01.000Z',
      finishedAt: '2030-01-01T00:00:05.000Z',
      updatedAt: '2030-01-01T00:00:05.000Z',
    });
  });

  it('turns a scheduled retry into a scheduled job due at retryAt, keeping the first start', () => {
    const state = fold([
      submitted,
      queued,
      started,
      retryScheduled,
    ]);
    expect(state).toMatchObject({ status: 'scheduled', runAt: '2030-01-01T00:00:03.000Z', error: { code: 'X', message: 'x' } });
    const retried = fold([
      submitted,
      queued,
      started,
      retryScheduled,
      { type: 'JobQueued', data: { at: '2030-01-01T00:00:03.000Z' } },
      { type: 'JobStarted', data: { attempt: 2, at: '2030-01-01T00:00:04.000Z' } },
    ]);
    expect(retried).toMatchObject({ status: 'running', attempts: 2, startedAt: '2030-01-01T00:00:01.000Z' });
  });

  it('holds the block only while blocked, and marks a resume as continuing the attempt', () => {
    const blocked = fold([
      submitted,
      queued,
      started,
      { type: 'JobBlocked', data: { code: 'PAPER_OUT', reason: 'tray 1', at: '2030-01-01T00:00:02.000Z' } },
    ]);
    expect(blocked).toMatchObject({ status: 'blocked', blocked: { code: 'PAPER_OUT', reason: 'tray 1' } });
    const resumed = [
      { type: 'JobResumed', data: { at: '2030-01-01T00:00:03.000Z' } },
      { type: 'JobQueued', data: { at: '2030-01-01T00:00:03.000Z' } },
    ] as const;
    expect(resumed.reduce(evolveJob, blocked)).toMatchObject({ status: 'queued', blocked: null, resuming: true });
  });

  it('records who asked for cancellation and why', () => {
    const state = fold([
      submitted,
      queued,
      started,
      { type: 'JobCancellationRequested', data: { by: 'user_2', reason: 'duplicate', at: '2030-01-01T00:00:02.000Z' } },
    ]);
    expect(state.status).toBe('running');
    expect(state.cancellation).toEqual({ requested: true, by: 'user_2', reason: 'duplicate', at: '2030-01-01T00:00:02.000Z' });
  });

  it('ends with failure, cancellation or expiry', () => {
    const failed: JobEvent = { type: 'JobFailed', data: { code: 'BOOM', message: 'm', at: '2030-01-01T00:00:09.000Z' } };
    expect(fold([submitted, queued, started, failed])).toMatchObject({
      status: 'failed',
      error: { code: 'BOOM', message: 'm' },
      finishedAt: '2030-01-01T00:00:09.000Z',
    });
    expect(fold([submitted, queued, { type: 'JobCancelled', data: { at: '2030-01-01T00:00:09.000Z' } }]).status).toBe('cancelled');
    expect(fold([submitted, queued, { type: 'JobExpired', data: { at: '2030-01-02T00:00:00.000Z' } }])).toMatchObject({
      status: 'expired',
      finishedAt: '2030-01-02T00:00:00.000Z',
    });
  });

  it('never mutates the state it is given', () => {
    const before = fold([submitted, queued, started]);
    const snapshot = structuredClone(before);
    evolveJob(before, { type: 'JobOutputAdded', data: { name: 'x', value: 1, at: '2030-01-01T00:00:02.000Z' } });
    evolveJob(before, { type: 'JobItemFailed', data: { item: 'a', code: 'B', message: 'c', at: '2030-01-01T00:00:02.000Z' } });
    expect(before).toEqual(snapshot);
  });
});
