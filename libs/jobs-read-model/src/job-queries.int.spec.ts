import { sql } from 'kysely';
import type { JobCommand, Principal } from '@switchyard/contracts';
import { jobStreamId } from '@switchyard/contracts';
import { PostgresEventStore } from '@switchyard/event-store';
import { beforeAndAfterAnalyze, createTestDatabase, explainPlan, TEST_BACKENDS, type TestDatabase } from '@switchyard/event-store/testing';
import { handleCommand, jobDecider } from '@switchyard/jobs';
import { createJobsProjection } from './jobs-projection';
import { dueJobsStatement, findJob, findJobs, listJobs, listJobsStatement } from './job-queries';
import { jobsReadModelMigrations } from './migrations';

const curator: Principal = { orgId: 'org-a', userId: 'u-cur', role: 'curator', keyId: 'k1' };
const member: Principal = { orgId: 'org-a', userId: 'u-mem', role: 'member', keyId: 'k2' };

describe.each(TEST_BACKENDS)('job queries on %s', (backend) => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'job_queries', jobsReadModelMigrations);
    store = new PostgresEventStore(database.db as never, { projections: [createJobsProjection()] });
    const submit = (jobId: string, orgId: string, submittedBy: string, second: number, kind: 'print' | 'image', externalId?: string) =>
      handleCommand(
        store,
        jobStreamId(jobId),
        {
          type: 'SubmitJob',
          data: {
            jobId, kind, orgId, submittedBy, input: {},
            now: new Date(Date.UTC(2026, 10, 23, 12, 0, second)).toISOString(),
            ...(externalId ? { externalId } : {}),
          },
        } satisfies JobCommand,
        jobDecider,
      );
    for (let i = 0; i < 7; i++) await submit(`a${i}`, 'org-a', i % 2 ? 'u-mem' : 'u-cur', i, i < 5 ? 'print' : 'image', i === 3 ? 'ext-3' : undefined);
    await submit('b0', 'org-b', 'u-other', 9, 'print');
  });
  afterAll(() => database.dispose());

  it('pages newest first with a cursor, without repeats or gaps', async () => {
    const first = await listJobs(database.db, { principal: curator, limit: 3 });
    expect(first.jobs.map((j) => j.lifecycle.jobId)).toEqual(['a6', 'a5', 'a4']);
    const second = await listJobs(database.db, { principal: curator, limit: 3, cursor: first.nextCursor as string });
    expect(second.jobs.map((j) => j.lifecycle.jobId)).toEqual(['a3', 'a2', 'a1']);
    const third = await listJobs(database.db, { principal: curator, limit: 3, cursor: second.nextCursor as string });
    expect(third.jobs.map((j) => j.lifecycle.jobId)).toEqual(['a0']);
    expect(third.nextCursor).toBeNull();
  });

  it('filters by kind, status, external id and creation time, within the organization', async () => {
    expect((await listJobs(database.db, { principal: curator, kind: 'image' })).jobs.map((j) => j.lifecycle.jobId)).toEqual(['a6', 'a5']);
    expect((await listJobs(database.db, { principal: curator, externalId: 'ext-3' })).jobs.map((j) => j.lifecycle.jobId)).toEqual(['a3']);
    expect((await listJobs(database.db, { principal: curator, status: 'completed' })).jobs).toEqual([]);
    const window = await listJobs(database.db, {
      principal: curator,
      createdFrom: '2026-11-23T12:00:02Z',
      createdTo: '2026-11-23T12:00:04Z',
    });
    expect(window.jobs.map((j) => j.lifecycle.jobId)).toEqual(['a3', 'a2']);
  });

  it('shows a member only its own jobs', async () => {
    const mine = await listJobs(database.db, { principal: member });
    expect(mine.jobs.map((j) => j.lifecycle.jobId)).toEqual(['a5', 'a3', 'a1']);
  });

  it('finds one job, and refuses a cursor it did not give out', async () => {
    expect((await findJob(database.db, 'b0'))?.lifecycle.orgId).toBe('org-b');
    expect(await findJob(database.db, 'nope')).toBeNull();
    await expect(listJobs(database.db, { principal: curator, cursor: 'garbage' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const forged = Buffer.from(JSON.stringify(['0000-00-00T99:99', 'a1'])).toString('base64url');
    await expect(listJobs(database.db, { principal: curator, cursor: forged })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('plans a read of one job once per connection, not on every read', async () => {
    const plans = await database.db.connection().execute(async (connection) => {
      for (let i = 0; i < 8; i++) expect((await findJobs(connection, [`a${i % 7}`])).size).toBe(1);
      expect([...(await findJobs(connection, ['a1', 'a2', 'nope'])).keys()].sort()).toEqual(['a1', 'a2']);
      const { rows } = await sql<{ generic_plans: string; custom_plans: string }>`
        SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%FROM jobs WHERE id = $1'`.execute(connection);
      return rows.map((row) => ({ generic: Number(row.generic_plans), custom: Number(row.custom_plans) }));
    });
    // PostgreSQL plans the first five executions for their parameters, then keeps the generic plan
    // (earlier tests may have read on this connection too).
    expect(plans).toEqual([{ generic: expect.any(Number), custom: 5 }]);
    expect(plans[0]?.generic).toBeGreaterThanOrEqual(3);
  });
});

describe.each(TEST_BACKENDS)("a list of an organization's jobs by kind and status, on a long table, on %s", (backend) => {
  let database: TestDatabase;
  const admin: Principal = { orgId: 'org-long', userId: 'u-admin', role: 'admin', keyId: 'k3' };
  /** The bench's wait for a round's end (is any print job still queued?), planned without statistics and with. */
  let plans: string[];

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'job_list_plans', jobsReadModelMigrations);
    // 5,000 print jobs, one in ten still queued.
    await sql`INSERT INTO jobs (id, kind, org_id, status, progress, attempts, priority, version, created_at, updated_at, state)
      SELECT 'pj_' || g, 'print', 'org-long', CASE WHEN g % 10 = 0 THEN 'queued' ELSE 'completed' END, 0, 0, 0, 1,
             timestamptz '2026-11-23T12:00:00Z' + g * interval '1 second', timestamptz '2026-11-23T12:00:00Z', '{}'
      FROM generate_series(1, 5000) AS g`.execute(database.db);
    const query = listJobsStatement({ principal: admin, kind: 'print', status: 'queued', limit: 1 }).compile(database.db);
    plans = await beforeAndAfterAnalyze(database.db, 'jobs', () => explainPlan(database.db, query));
  });
  afterAll(() => database.dispose());

  it('walks an index in the list order and stops at the page, with statistics or without', async () => {
    for (const planned of plans) {
      expect(planned).toMatch(/Limit[^\n]*\n\s*->\s+Index Scan using jobs_org_kind_status_created on jobs/);
      expect(planned).not.toMatch(/Sort/);
    }
    // The page of two, newest first, and the one more that says a next page exists.
    expect((await listJobsStatement({ principal: admin, kind: 'print', status: 'queued', limit: 2 }).execute(database.db)).rows.map((row) => row.id)).toEqual([
      'pj_5000',
      'pj_4990',
      'pj_4980',
    ]);
  });
});

describe.each(TEST_BACKENDS)("a worker's look for its kind's due jobs, behind a queue, on %s", (backend) => {
  let database: TestDatabase;
  let plans: string[];

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'due_job_plans', jobsReadModelMigrations);
    // A kind's own index of its unfinished jobs, as the print service keeps one by printer.
    await sql`CREATE INDEX jobs_print_unfinished ON jobs ((state->'input'->>'printer'))
      WHERE kind = 'print' AND status IN ('queued', 'running', 'scheduled')`.execute(database.db);
    // 3,000 queued print jobs, 10 scheduled image jobs due, 3 print jobs due and 2 not yet.
    await sql`INSERT INTO jobs (id, kind, org_id, status, progress, attempts, priority, version, created_at, updated_at, run_at, state)
      SELECT 'j' || g, CASE WHEN g BETWEEN 3001 AND 3010 THEN 'image' ELSE 'print' END, 'org-a',
             CASE WHEN g <= 3000 THEN 'queued' ELSE 'scheduled' END, 0, 0, 0, 1, now(), now(),
             CASE WHEN g <= 3000 THEN NULL WHEN g <= 3013 THEN now() - g * interval '1 second' ELSE now() + interval '1 hour' END,
             jsonb_build_object('input', jsonb_build_object('printer', 'p' || g % 10))
      FROM generate_series(1, 3015) AS g`.execute(database.db);
    plans = await beforeAndAfterAnalyze(database.db, 'jobs', () => explainPlan(database.db, dueJobsStatement('print').compile(database.db)));
  });
  afterAll(() => database.dispose());

  it('reads only its kind of scheduled jobs, in the order it takes them, with statistics or without', async () => {
    for (const planned of plans) {
      expect(planned).toMatch(/Limit[^\n]*\n\s*->\s+Index Scan using jobs_due on jobs[^\n]*\n\s*Index Cond: \(\(kind = 'print'::text\) AND \(run_at <= now\(\)\)\)/);
      expect(planned).not.toMatch(/Sort/);
    }
    // The longest due first.
    expect((await dueJobsStatement('print').execute(database.db)).rows.map((row) => row.id)).toEqual(['j3013', 'j3012', 'j3011']);
  });
});
