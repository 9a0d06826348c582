import type { KyselyPlugin, PluginTransformQueryArgs, RootOperationNode } from 'kysely';
import { jobStreamId, type JobCommand } from '@switchyard/contracts';
import { PostgresEventStore } from '@switchyard/event-store';
import { createTestDatabase, holdTransaction, TEST_BACKENDS, turnEnded, type TestDatabase } from '@switchyard/event-store/testing';
import { handleCommand, jobDecider } from '@switchyard/jobs';
import { JobCache } from './job-cache';
import { createJobsProjection } from './jobs-projection';
import { JobReader } from './job-reader';
import { jobsReadModelMigrations } from './migrations';

/** Counts the statements sent through it, and fails the next one when asked to. */
class StatementCounter implements KyselyPlugin {
  count = 0;
  failNext = false;
  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    this.count += 1;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('the database is gone');
    }
    return node;
  }
  transformResult = async <T>({ result }: { result: T }): Promise<T> => result;
}

describe.each(TEST_BACKENDS)('JobReader on %s', (backend) => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  const submit = (jobId: string) =>
    handleCommand(
      store,
      jobStreamId(jobId),
      { type: 'SubmitJob', data: { jobId, kind: 'print', orgId: 'org-a', submittedBy: 'u1', input: {}, now: new Date().toISOString() } } satisfies JobCommand,
      jobDecider,
    );

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'job_reader', jobsReadModelMigrations);
    store = new PostgresEventStore(database.db as never, { projections: [createJobsProjection()] });
    for (const jobId of ['r1', 'r2', 'r3', 'r4']) await submit(jobId);
  });
  afterAll(() => database.dispose());

  it('reads a job by id, and null for one nobody submitted', async () => {
    const reader = new JobReader(database.db);
    const record = await reader.find('r1');
    expect(record?.lifecycle).toMatchObject({ jobId: 'r1', kind: 'print', orgId: 'org-a', status: 'queued' });
    expect(record?.version).toBe(2);
    await expect(reader.find('nobody')).resolves.toBeNull();
  });

  it('reads ids with quotes, commas, braces and backslashes, alone and beside others', async () => {
    const reader = new JobReader(database.db, { maxInFlight: 1 });
    const odd = 'a "quoted", {braced} \\ id';
    await expect(reader.find(odd)).resolves.toBeNull();
    await submit(odd);
    await expect(reader.find(odd)).resolves.toMatchObject({ lifecycle: { jobId: odd } });
    const read = await Promise.all(['r1', odd, 'r2', `${odd}x`].map((jobId) => reader.find(jobId)));
    expect(read.map((record) => record?.lifecycle.jobId ?? null)).toEqual(['r1', odd, 'r2', null]);
  });

  it('sends the reads asked in one turn together, in one query, though a query slot was free', async () => {
    const counter = new StatementCounter();
    const reader = new JobReader(database.db.withPlugin(counter), { maxInFlight: 2 });
    const ids = ['r1', 'r2', 'r3', 'r2', 'nobody', 'r4'];
    const records = await Promise.all(ids.map((jobId) => reader.find(jobId)));
    expect(records.map((record) => record?.lifecycle.jobId ?? null)).toEqual(['r1', 'r2', 'r3', 'r2', null, 'r4']);
    expect(counter.count).toBe(1);
  });

  it('splits a burst into queries of at most maxBatch jobs', async () => {
    const counter = new StatementCounter();
    const reader = new JobReader(database.db.withPlugin(counter), { maxInFlight: 1, maxBatch: 2 });
    const records = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r1'].map((jobId) => reader.find(jobId)));
    expect(records.map((record) => record?.lifecycle.jobId)).toEqual(['r1', 'r2', 'r3', 'r4', 'r1']);
    // Four jobs (r1's second read joins its first), two a query.
    expect(counter.count).toBe(2);
  });

  it('sees a job submitted while an earlier read was running', async () => {
    const reader = new JobReader(database.db, { maxInFlight: 1 });
    const earlier = reader.find('r1');
    await submit('late');
    await expect(reader.find('late')).resolves.toMatchObject({ lifecycle: { jobId: 'late' } });
    await expect(earlier).resolves.not.toBeNull();
  });

  it('fails every read of a query that failed, and reads again afterwards', async () => {
    const counter = new StatementCounter();
    const reader = new JobReader(database.db.withPlugin(counter), { maxInFlight: 1 });
    counter.failNext = true;
    const failed = await Promise.allSettled([reader.find('r1'), reader.find('r2')]);
    // Asked in one turn, they went in one query, and failed with it.
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    // r1 is sent when its turn ends; the two reads of r3 wait for it and go together, in the query that fails.
    const first = reader.find('r1');
    await turnEnded();
    expect(counter.count).toBe(2);
    counter.failNext = true;
    const both = await Promise.allSettled([reader.find('r3'), reader.find('r3')]);
    expect(both.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    await expect(first).resolves.toMatchObject({ lifecycle: { jobId: 'r1' } });
    await expect(reader.find('r4')).resolves.toMatchObject({ lifecycle: { jobId: 'r4' } });
  });
});

// The cache's premise: one process writes the database, through one session (the embedded PGlite).
describe('JobReader with a JobCache on pglite', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let cache: JobCache;
  let counter: StatementCounter;
  let reader: JobReader;
  const now = () => new Date().toISOString();

  const submit = (jobId: string) =>
    handleCommand(
      store,
      jobStreamId(jobId),
      { type: 'SubmitJob', data: { jobId, kind: 'print', orgId: 'org-a', input: {}, now: now() } } satisfies JobCommand,
      jobDecider,
    );
  const progress = (jobId: string, expectedVersion: number, value: number) =>
    store.appendToStream(jobStreamId(jobId), [{ type: 'JobProgressed', data: { progress: value, at: now() } }], { expectedVersion });

  beforeAll(async () => {
    database = await createTestDatabase('pglite', 'job_cache', jobsReadModelMigrations);
    cache = new JobCache();
    store = new PostgresEventStore(database.db as never, { projections: [createJobsProjection([], { cache })] });
  });
  afterAll(() => database.dispose());
  // A job of its own for each test, and a reader that counts its statements from zero.
  let jobId: string;
  let count = 0;
  beforeEach(async () => {
    count += 1;
    jobId = `c${count}`;
    await submit(jobId);
    counter = new StatementCounter();
    reader = new JobReader(database.db.withPlugin(counter), { cache });
  });

  it('answers a job it read before without a query, and reads it again once it was written', async () => {
    const first = await reader.find(jobId);
    expect(counter.count).toBe(1);
    // The session held: only an answer from the cache can come now.
    const session = await holdTransaction(database.db);
    await expect(reader.find(jobId)).resolves.toBe(first);
    session.release();
    await session.done;
    expect(counter.count).toBe(1);
    await progress(jobId, 2, 40);
    const after = await reader.find(jobId);
    expect(after).toMatchObject({ version: 3, lifecycle: { progress: 40 } });
    expect(counter.count).toBe(2);
  });

  it('reads a job larger than the cache keeps each time it is asked for', async () => {
    const small = new JobReader(database.db.withPlugin(counter), { cache: new JobCache({ maxJobBytes: 1 }) });
    await expect(small.find(jobId)).resolves.toMatchObject({ version: 2 });
    await expect(small.find(jobId)).resolves.toMatchObject({ version: 2 });
    expect(counter.count).toBe(2);
  });

  it('does not keep the row a read found when a write ran right after it', async () => {
    const session = await holdTransaction(database.db);
    // The read goes first, then the write, both waiting for the session.
    const read = reader.find(jobId);
    await new Promise((resolve) => setImmediate(resolve));
    const written = progress(jobId, 2, 60);
    session.release();
    await session.done;
    await expect(read).resolves.toMatchObject({ version: 2 });
    await written;
    await expect(reader.find(jobId)).resolves.toMatchObject({ version: 3, lifecycle: { progress: 60 } });
  });

  it('shows what a transaction wrote once it committed, and the old row after a rollback', async () => {
    await expect(reader.find(jobId)).resolves.toMatchObject({ version: 2 });
    await expect(
      store.transaction(async (session) => {
        await session.appendToStream(jobStreamId(jobId), [{ type: 'JobProgressed', data: { progress: 10, at: now() } }], { expectedVersion: 2 });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await expect(reader.find(jobId)).resolves.toMatchObject({ version: 2, lifecycle: { progress: 0 } });
    await store.transaction((session) =>
      session.appendToStream(jobStreamId(jobId), [{ type: 'JobProgressed', data: { progress: 20, at: now() } }], { expectedVersion: 2 }),
    );
    await expect(reader.find(jobId)).resolves.toMatchObject({ version: 3, lifecycle: { progress: 20 } });
  });
});
