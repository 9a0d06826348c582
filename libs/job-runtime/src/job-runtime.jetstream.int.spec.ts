import { sql } from 'kysely';
import { jobStreamId, type JobCommand, type JobEvent } from '@switchyard/contracts';
import { PostgresEventStore, type EventStoreDb } from '@switchyard/event-store';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '@switchyard/event-store/testing';
import { handleCommand, jobDecider, type JobState } from '@switchyard/jobs';
import { createJobsProjection, jobsReadModelMigrations } from '@switchyard/jobs-read-model';
import { JetStreamEventConsumers, messagingMigrations, startRelay, type Relay } from '@switchyard/messaging';
import { createTestEventsStream, type TestEventsStream } from '@switchyard/messaging/testing';
import { JobWorkerHost, type JobExecutor } from './job-worker-host';
import { jobLeasesProjection } from './job-leases';
import { jobRuntimeMigrations } from './migrations';
import { submitJob } from './submit-job';

let counter = 0;
const newJobId = (): string => `js${process.pid}x${++counter}`;

// The distributed mode's claim path: JobQueued events from JetStream, claimed in batches.
describe('job runtime on JetStream', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let stream: TestEventsStream;
  let relay: Relay;
  let worker: JobWorkerHost<JobEvent, JobState> | undefined;

  beforeAll(async () => {
    database = await createPostgresTestDatabase('job_runtime_js', { ...jobsReadModelMigrations, ...messagingMigrations, ...jobRuntimeMigrations });
    store = new PostgresEventStore(database.db as never, { projections: [createJobsProjection(), jobLeasesProjection] });
    stream = await createTestEventsStream();
    relay = startRelay({ store, nc: stream.nc, streamName: stream.name, subjectRoot: stream.subjectRoot, subscription: { idlePollMs: 10 } });
  });
  afterAll(async () => {
    await worker?.stop();
    await relay.stop();
    await stream.dispose();
    await store.close().catch(() => undefined);
    await database.dispose().catch(() => undefined);
  });

  const submit = async (): Promise<string> =>
    (
      await submitJob({
        store,
        decider: jobDecider,
        orgId: 'org-1',
        newJobId,
        submitCommand: (jobId): Extract<JobCommand, { type: 'SubmitJob' }> => ({
          type: 'SubmitJob',
          data: { jobId, kind: 'print', orgId: 'org-1', input: {}, now: new Date().toISOString() },
        }),
        metadata: { orgId: 'org-1', kind: 'print' },
      })
    ).jobId;
  const status = async (jobId: string): Promise<string | undefined> =>
    (await sql<{ status: string }>`SELECT status FROM jobs WHERE id = ${jobId}`.execute(database.db)).rows[0]?.status;

  it('claims the queued jobs that arrive together in batches, runs each once, and skips a cancelled one', async () => {
    const cancelled = await submit();
    await handleCommand(store, jobStreamId(cancelled), { type: 'RequestCancellation', data: { now: new Date().toISOString() } }, jobDecider);
    expect(await status(cancelled)).toBe('cancelled');
    const jobIds = await Promise.all(Array.from({ length: 10 }, () => submit()));
    // Everything is published before the worker starts, so its consumer finds it all waiting.
    await relay.caughtUp();

    const runs = new Map<string, number>();
    const completing: JobExecutor<JobState> = {
      run: async (jobId, _signal, claimed) => {
        runs.set(jobId, (runs.get(jobId) ?? 0) + 1);
        // The claim's own state and version: the executor's first append expects exactly that version.
        expect(claimed?.state.status).toBe('running');
        await handleCommand(store, jobStreamId(jobId), { type: 'CompleteJob', data: { now: new Date().toISOString() } }, jobDecider, {
          maxAttempts: 1,
          ...(claimed ? { known: claimed } : {}),
        });
        return 'completed';
      },
      resume: async () => undefined,
    };
    worker = new JobWorkerHost({
      kind: 'print',
      store,
      db: database.db,
      consumers: new JetStreamEventConsumers({ nc: stream.nc, db: database.db as EventStoreDb, streamName: stream.name, ackWaitMs: 5_000 }),
      decider: jobDecider,
      executor: completing,
      concurrency: 4,
      subjectRoot: stream.subjectRoot,
    });
    await worker.start();

    await eventually(async () => (await Promise.all(jobIds.map(status))).every((s) => s === 'completed'), { message: 'all 10 completed' });
    expect(jobIds.map((jobId) => runs.get(jobId))).toEqual(jobIds.map(() => 1));
    expect(runs.has(cancelled)).toBe(false);
    expect(await status(cancelled)).toBe('cancelled');

    const started = await Promise.all(
      jobIds.map(async (jobId) => (await store.readStream(jobStreamId(jobId))).events.filter((e) => e.type === 'JobStarted')),
    );
    expect(started.map((events) => events.length)).toEqual(jobIds.map(() => 1));
    // Claimed in batches: some JobStarted events share a transaction, none more than 4 (the free slots).
    const perTransaction = new Map<string, number>();
    for (const [event] of started) perTransaction.set(String(event?.transactionId), (perTransaction.get(String(event?.transactionId)) ?? 0) + 1);
    expect(Math.max(...perTransaction.values())).toBeGreaterThan(1);
    expect(Math.max(...perTransaction.values())).toBeLessThanOrEqual(4);
    await eventually(async () => (await sql`SELECT job_id FROM job_leases`.execute(database.db)).rows.length === 0, { message: 'leases released' });
  });
});
