import {
  sql,
  ValueNode,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import { jobStreamId, type JobCommand, type JobEvent } from '@switchyard/contracts';
import { PostgresEventStore } from '@switchyard/event-store';
import { createTestDatabase, eventually, TEST_BACKENDS, type TestDatabase } from '@switchyard/event-store/testing';
import { handleCommand, jobDecider, type JobState } from '@switchyard/jobs';
import { createJobsProjection, jobsReadModelMigrations } from '@switchyard/jobs-read-model';
import { InProcessEventConsumers, messagingMigrations } from '@switchyard/messaging';
import { jobLeasesProjection, JobLeases } from './job-leases';
import { JobWorkerHost, type JobExecutor, type JobWorkerHostOptions } from './job-worker-host';
import { jobRuntimeMigrations } from './migrations';
import { submitJob } from './submit-job';

/** Counts the reads of each stream (readStream and readStreams) made through a database. */
class StreamReads implements KyselyPlugin {
  private readonly streamIds: unknown[] = [];
  of(streamId: string): number {
    return this.streamIds.filter((id) => id === streamId).length;
  }
  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    if (node.kind === 'RawNode' && node.sqlFragments.join('?').includes('FROM streams s')) {
      for (const parameter of node.parameters) if (ValueNode.is(parameter)) this.streamIds.push(parameter.value);
    }
    return node;
  }
  transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(result);
  }
}

let counter = 0;
const newJobId = (): string => `t${process.pid}x${++counter}`;

describe.each(TEST_BACKENDS)('job runtime on %s', (backend) => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  const hosts: JobWorkerHost<JobEvent, JobState>[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'job_runtime', {
      ...jobsReadModelMigrations,
      ...messagingMigrations,
      ...jobRuntimeMigrations,
    });
    store = new PostgresEventStore(database.db as never, { projections: [createJobsProjection(), jobLeasesProjection] });
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.stop()));
  });
  afterAll(async () => {
    await store.close().catch(() => undefined);
    await database.dispose().catch(() => undefined);
  });

  const submit = (options: { key?: string; body?: unknown; runAt?: string; kind?: 'print' | 'image'; maxAttempts?: number } = {}) =>
    submitJob({
      store,
      decider: jobDecider,
      orgId: 'org-1',
      newJobId,
      submitCommand: (jobId): Extract<JobCommand, { type: 'SubmitJob' }> => ({
        type: 'SubmitJob',
        data: {
          jobId,
          kind: options.kind ?? 'print',
          orgId: 'org-1',
          input: {},
          now: new Date().toISOString(),
          ...(options.runAt ? { runAt: options.runAt } : {}),
          ...(options.maxAttempts ? { retry: { maxAttempts: options.maxAttempts } } : {}),
        },
      }),
      metadata: { orgId: 'org-1', kind: options.kind ?? 'print' },
      ...(options.key ? { idempotencyKey: options.key } : {}),
      requestFingerprint: options.body ?? { same: true },
    });
  const status = async (jobId: string): Promise<string | undefined> =>
    (await sql<{ status: string }>`SELECT status FROM jobs WHERE id = ${jobId}`.execute(database.db)).rows[0]?.status;
  const leased = async (jobId: string): Promise<number> =>
    (await sql`SELECT job_id FROM job_leases WHERE job_id = ${jobId}`.execute(database.db)).rows.length;
  const jobCount = async (): Promise<number> =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM jobs`.execute(database.db)).rows[0]?.n ?? 0;

  const host = (
    executor: JobExecutor,
    extra: Pick<JobWorkerHostOptions<JobEvent, JobState>, 'leaseMs' | 'concurrency' | 'onHostEnded' | 'leases'> & {
      kind?: 'print' | 'image';
      store?: PostgresEventStore;
    } = {},
  ) => {
    const hostStore = extra.store ?? store;
    const worker = new JobWorkerHost({
      kind: extra.kind ?? 'print',
      store: hostStore,
      db: database.db,
      consumers: new InProcessEventConsumers({ store: hostStore, subscription: { idlePollMs: 10 } }),
      decider: jobDecider,
      executor,
      leaseMs: extra.leaseMs ?? 10_000,
      concurrency: extra.concurrency ?? 4,
      timerIntervalMs: 50,
      ...(extra.onHostEnded ? { onHostEnded: extra.onHostEnded } : {}),
      ...(extra.leases ? { leases: extra.leases } : {}),
    });
    hosts.push(worker);
    return worker;
  };
  const completing: JobExecutor = {
    run: (jobId) =>
      handleCommand(store, jobStreamId(jobId), { type: 'CompleteJob', data: { now: new Date().toISOString() } }, jobDecider).then(() => undefined),
    resume: (jobId) =>
      handleCommand(store, jobStreamId(jobId), { type: 'CompleteJob', data: { partial: true, now: new Date().toISOString() } }, jobDecider).then(
        () => undefined,
      ),
  };

  it('answers a retried submission with the same job and creates nothing new', async () => {
    const first = await submit({ key: 'order-1', body: { a: 1 } });
    const before = await jobCount();
    const again = await submit({ key: 'order-1', body: { a: 1 } });
    expect(first.created).toBe(true);
    expect(again).toEqual({ jobId: first.jobId, created: false });
    expect(await jobCount()).toBe(before);
    await expect(submit({ key: 'order-1', body: { a: 2 } })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('answers a submission with the state it decided, which is what the jobs row holds', async () => {
    const submitted = await submit();
    if (!submitted.created) throw new Error('a first submission creates its job');
    const { rows } = await sql<{ state: JobState; version: number }>`SELECT state, version FROM jobs WHERE id = ${submitted.jobId}`.execute(database.db);
    expect(rows).toEqual([{ state: JSON.parse(JSON.stringify(submitted.state)), version: submitted.version }]);
    expect(submitted.state.status).toBe('queued');
  });

  it('gives a submission a fresh id when the one it drew is taken, and leaves the taken job alone', async () => {
    const { jobId: taken } = await submit();
    const drawn = [taken, newJobId()];
    const { jobId, created } = await submitJob({
      store,
      decider: jobDecider,
      orgId: 'org-1',
      newJobId: () => drawn.shift() as string,
      submitCommand: (id): Extract<JobCommand, { type: 'SubmitJob' }> => ({
        type: 'SubmitJob',
        data: { jobId: id, kind: 'print', orgId: 'org-1', input: {}, now: new Date().toISOString() },
      }),
      metadata: { orgId: 'org-1', kind: 'print' },
    });
    expect(created).toBe(true);
    expect(jobId).not.toBe(taken);
    expect(drawn).toEqual([]);
    expect((await store.readStream(jobStreamId(taken))).currentVersion).toBe(2);
    expect(await status(jobId)).toBe('queued');
  });

  it('creates one job for concurrent retries with the same key', async () => {
    const before = await jobCount();
    const results = await Promise.all(Array.from({ length: 10 }, () => submit({ key: 'burst', body: { b: 1 } })));
    expect(new Set(results.map((r) => r.jobId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await jobCount()).toBe(before + 1);
  });

  it('claims a queued job, runs it after the claim committed, and lets its lease go with its end', async () => {
    await host(completing).start();
    const { jobId } = await submit();
    await eventually(async () => (await status(jobId)) === 'completed', { message: `${jobId} completed` });
    const { events } = await store.readStream(jobStreamId(jobId));
    expect(events.map((e) => e.type)).toEqual(['JobSubmitted', 'JobQueued', 'JobStarted', 'JobCompleted']);
    // The lease went in the statement that recorded the end, which wrote the status just read.
    expect(await leased(jobId)).toBe(0);
  });

  it('claims a job this process submitted without reading it, and one changed since only as it now is', async () => {
    const reads = new StreamReads();
    const counted = new PostgresEventStore(database.db.withPlugin(reads) as never, { projections: [createJobsProjection(), jobLeasesProjection] });
    const fresh = await submit();
    if (!fresh.created) throw new Error('a first submission creates its job');
    const first = host(completing, { store: counted });
    first.submittedHere(fresh.jobId, { state: fresh.state, version: fresh.version });
    await first.start();
    await eventually(async () => (await status(fresh.jobId)) === 'completed', { message: `${fresh.jobId} completed` });
    expect(reads.of(jobStreamId(fresh.jobId))).toBe(0);
    await first.stop();

    // Cancelled after its submission: the state kept here is stale, and the job must not start.
    const stale = await submit();
    if (!stale.created) throw new Error('a first submission creates its job');
    await handleCommand(store, jobStreamId(stale.jobId), { type: 'RequestCancellation', data: { now: new Date().toISOString() } }, jobDecider);
    const queued = (await store.readStream(jobStreamId(stale.jobId))).events.find((e) => e.type === 'JobQueued');
    const second = host(completing, { store: counted });
    second.submittedHere(stale.jobId, { state: stale.state, version: stale.version });
    await second.start();
    if (!queued) throw new Error('a submitted job has its JobQueued');
    // Handled: the worker's subscription moved past it, in the transaction that handled it.
    await eventually(
      async () =>
        (
          await sql`SELECT 1 FROM subscription_checkpoints WHERE consumer = 'worker:print'
            AND (transaction_id, global_position) >= (${queued.transactionId}::xid8, ${queued.globalPosition}::bigint)`.execute(database.db)
        ).rows.length === 1,
      { message: `${stale.jobId}'s JobQueued handled` },
    );
    expect(await status(stale.jobId)).toBe('cancelled');
    const { events } = await store.readStream(jobStreamId(stale.jobId));
    expect(events.map((e) => e.type)).not.toContain('JobStarted');
    expect(reads.of(jobStreamId(stale.jobId))).toBeGreaterThan(0);
  });

  it('behind a backlog, claims a freed slot within a short wait even when no other slot frees', async () => {
    // Drain what earlier tests left queued, so that this worker's backlog is its own nine jobs.
    const drain = host(completing);
    await drain.start();
    await eventually(async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM jobs WHERE status IN ('queued', 'running')`.execute(database.db)).rows[0]?.n === 0, {
      message: 'no job left queued or running',
    });
    await drain.stop();

    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const holding: JobExecutor = {
      run: async (jobId) => {
        started.push(jobId);
        await new Promise<void>((resolve) => gates.set(jobId, resolve));
        await handleCommand(store, jobStreamId(jobId), { type: 'CompleteJob', data: { now: new Date().toISOString() } }, jobDecider);
      },
      resume: async () => undefined,
    };
    const jobIds: string[] = [];
    for (let i = 0; i < 9; i++) jobIds.push((await submit()).jobId);
    // Eight slots: the first poll reads eight of the nine (a full poll, so a backlog).
    const worker = host(holding, { concurrency: 8 });
    await worker.start();
    await eventually(() => started.length === 8, { message: 'eight jobs running' });
    // One slot frees and no other will: the ninth job still starts, after the gather wait.
    gates.get(started[0] as string)?.();
    await eventually(() => started.length === 9, { message: 'the ninth job started' });
    for (const release of gates.values()) release();
    await eventually(async () => (await Promise.all(jobIds.map(status))).every((s) => s === 'completed'), { message: 'all nine completed' });
  });

  it('lets a lease go with a retry, writes it again with the retry\'s claim, and lets it go with the end', async () => {
    const now = (): string => new Date().toISOString();
    let runs = 0;
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const executor: JobExecutor = {
      run: async (jobId) => {
        runs += 1;
        if (runs === 1) {
          await handleCommand(store, jobStreamId(jobId), { type: 'FailJob', data: { code: 'FLAKY', message: 'once', retryable: true, now: now() } }, jobDecider);
          return;
        }
        await finished;
        await handleCommand(store, jobStreamId(jobId), { type: 'CompleteJob', data: { now: now() } }, jobDecider);
      },
      resume: () => Promise.resolve(),
    };
    const { jobId } = await submit({ kind: 'image', maxAttempts: 2 });
    await host(executor, { kind: 'image', concurrency: 1 }).start();
    await eventually(async () => (await status(jobId)) === 'scheduled', { message: 'first run failed, retry scheduled' });
    expect(await leased(jobId)).toBe(0);
    await eventually(() => runs === 2, { message: 'retry claimed and running' });
    expect(await leased(jobId)).toBe(1);
    finish();
    await eventually(async () => (await status(jobId)) === 'completed', { message: 'retry completed' });
    expect(await leased(jobId)).toBe(0);
  });

  it('keeps the lease of a run whose end could not be recorded, so the job is taken over', async () => {
    // The first worker's store cannot record a JobFailed, as if the database went away just then.
    class RefuseFailures implements KyselyPlugin {
      transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
        const values = node.kind === 'RawNode' ? node.parameters.flatMap((parameter) => (ValueNode.is(parameter) ? [parameter.value] : [])) : [];
        if (values.some((value) => typeof value === 'string' && value.includes('"JobFailed"'))) throw new Error('database unreachable');
        return node;
      }
      transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
        return Promise.resolve(result);
      }
    }
    const refusing = new PostgresEventStore(database.db.withPlugin(new RefuseFailures()) as never, { projections: [createJobsProjection(), jobLeasesProjection] });
    const failing = host({ run: async () => Promise.reject(new Error('printer on fire')), resume: async () => undefined }, {
      kind: 'image',
      store: refusing,
      leaseMs: 300,
    });
    await failing.start();
    const { jobId } = await submit({ kind: 'image', maxAttempts: 1 });
    await eventually(async () => (await status(jobId)) === 'running' && failing.running === 0, { message: 'the run ended unrecorded' });
    await failing.stop();
    expect(await leased(jobId)).toBe(1);
    // Its lease expires unrenewed, and another worker takes the job over and ends it.
    await host(completing, { kind: 'image', leaseMs: 300 }).start();
    await eventually(async () => (await status(jobId)) === 'completed', { message: 'taken over and completed' });
    expect(await leased(jobId)).toBe(0);
  });

  it('lets go the lease of a job a takeover finds ended, but not one another worker has taken over', async () => {
    // A job that ended in a process whose store let no lease go: its lease outlived it.
    const { jobId } = await submit({ kind: 'image' });
    await handleCommand(store, jobStreamId(jobId), { type: 'StartJob', data: { workerId: 'gone', now: new Date().toISOString() } }, jobDecider);
    await handleCommand(store, jobStreamId(jobId), { type: 'CompleteJob', data: { now: new Date().toISOString() } }, jobDecider);
    await sql`INSERT INTO job_leases (job_id, kind, worker_id, expires_at) VALUES (${jobId}, 'image', 'gone', now() - interval '1 second')`.execute(database.db);
    const resumed: string[] = [];
    await host({ run: async () => undefined, resume: async (id) => void resumed.push(id) }, { kind: 'image', leaseMs: 300 }).start();
    await eventually(async () => resumed.includes(jobId) && (await leased(jobId)) === 0, { message: 'taken over, found ended, let go' });

    const leases = new JobLeases(database.db, 10_000);
    const other = newJobId();
    await leases.claim(database.db, other, 'print', 'worker-2');
    await leases.release(other, 'worker-1');
    expect(await leased(other)).toBe(1);
    await leases.release(other, 'worker-2');
    expect(await leased(other)).toBe(0);
  });

  it('takes over a job whose worker stopped renewing its lease, and resumes it without starting it again', async () => {
    // Works until its worker is stopped, as a worker that dies mid-job does.
    const untilStopped = (_: string, signal: AbortSignal) =>
      new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    const dying = host({ run: untilStopped, resume: untilStopped }, { kind: 'image', leaseMs: 300 });
    await dying.start();
    const { jobId } = await submit({ kind: 'image' });
    await eventually(async () => (await status(jobId)) === 'running');
    // The worker dies: no more renewals, its lease is left behind.
    await dying.stop();
    expect((await sql`SELECT job_id FROM job_leases`.execute(database.db)).rows).toEqual([{ job_id: jobId }]);
    await host(completing, { kind: 'image', leaseMs: 300 }).start();
    await eventually(async () => (await status(jobId)) === 'completed', { message: 'taken over and completed' });
    const { events } = await store.readStream(jobStreamId(jobId));
    expect(events.filter((e) => e.type === 'JobStarted')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'JobCompleted', data: { partial: true } });
  });

  it('fails a job, retryably, when its executor returned without finishing it', async () => {
    await host({ run: async () => undefined, resume: async () => undefined }, { kind: 'image' }).start();
    const { jobId } = await submit({ kind: 'image' });
    await eventually(async () => (await status(jobId)) === 'scheduled', { message: 'retry scheduled' });
    const { events } = await store.readStream(jobStreamId(jobId));
    expect(events.at(-1)).toMatchObject({ type: 'JobRetryScheduled', data: { code: 'INTERNAL' } });
  });

  it('fails a job for good when its executor throws on the last attempt, and runs onHostEnded in that transaction', async () => {
    const ended: string[] = [];
    await host(
      { run: async () => Promise.reject(new Error('disk on fire')), resume: async () => undefined },
      {
        onHostEnded: async (session, jobId, state) => {
          ended.push(state.status ?? 'none');
          await session.appendToStream(`owed-${jobId}`, [{ type: 'Owed', data: { jobId } }], { expectedVersion: 'no_stream' });
        },
      },
    ).start();
    const { jobId } = await submit({ maxAttempts: 1 });
    await eventually(async () => (await status(jobId)) === 'failed', { message: 'failed for good' });
    const { events } = await store.readStream(jobStreamId(jobId));
    expect(events.at(-1)).toMatchObject({ type: 'JobFailed', data: { code: 'INTERNAL', message: 'disk on fire' } });
    expect(ended).toEqual(['failed']);
    expect((await store.readStream(`owed-${jobId}`)).events.map((event) => event.type)).toEqual(['Owed']);
  });

  it('releases a scheduled job when it is due, then runs it', async () => {
    await host(completing).start();
    const { jobId } = await submit({ runAt: new Date(Date.now() + 300).toISOString() });
    expect(await status(jobId)).toBe('scheduled');
    await eventually(async () => (await status(jobId)) === 'completed', { message: 'scheduled job ran' });
  });
});
