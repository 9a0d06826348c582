import type { KyselyPlugin, PluginTransformQueryArgs, RootOperationNode } from 'kysely';
import { jobStreamId, type JobCommand } from '@switchyard/contracts';
import { PostgresEventStore } from '@switchyard/event-store';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '@switchyard/event-store/testing';
import { handleCommand, jobDecider } from '@switchyard/jobs';
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

  it('sends the reads that arrive while a query runs together, in one query', async () => {
    const counter = new StatementCounter();
    const reader = new JobReader(database.db.withPlugin(counter), { maxInFlight: 1 });
    const ids = ['r1', 'r2', 'r3', 'r2', 'nobody', 'r4'];
    const records = await Promise.all(ids.map((jobId) => reader.find(jobId)));
    expect(records.map((record) => record?.lifecycle.jobId ?? null)).toEqual(['r1', 'r2', 'r3', 'r2', null, 'r4']);
    // r1 alone, then the five that came while it ran.
    expect(counter.count).toBe(2);
  });

  it('splits a burst into queries of at most maxBatch jobs', async () => {
    const counter = new StatementCounter();
    const reader = new JobReader(database.db.withPlugin(counter), { maxInFlight: 1, maxBatch: 2 });
    const records = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r1'].map((jobId) => reader.find(jobId)));
    expect(records.map((record) => record?.lifecycle.jobId)).toEqual(['r1', 'r2', 'r3', 'r4', 'r1']);
    expect(counter.count).toBe(3);
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
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'fulfilled']);
    // r1 is sent at once; the two reads of r3 wait for it and go together, in the query that fails.
    const first = reader.find('r1');
    expect(counter.count).toBe(3);
    counter.failNext = true;
    const both = await Promise.allSettled([reader.find('r3'), reader.find('r3')]);
    expect(both.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    await expect(first).resolves.toMatchObject({ lifecycle: { jobId: 'r1' } });
    await expect(reader.find('r4')).resolves.toMatchObject({ lifecycle: { jobId: 'r4' } });
  });
});
