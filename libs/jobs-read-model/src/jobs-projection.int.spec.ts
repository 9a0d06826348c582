import { sql } from 'kysely';
import { jobStreamId, type JobCommand, type JobEvent } from '@switchyard/contracts';
import { PostgresEventStore } from '@switchyard/event-store';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '@switchyard/event-store/testing';
import { handleCommand, jobDecider } from '@switchyard/jobs';
import { jobsReadModelMigrations } from './migrations';
import { createJobsProjection, rebuildJobsReadModel, type JobKindModel } from './jobs-projection';

// A kind's own model: counts the printer acceptances it saw and keeps the last printer job id; its
// rows go without the input's document.
const printModel: JobKindModel<{ accepted: number; printerJobId?: string }> = {
  kind: 'print',
  eventTypes: ['PrinterJobAccepted'],
  initialState: () => ({ accepted: 0 }),
  evolve: (state, event) => ({ accepted: state.accepted + 1, printerJobId: String(event.data['printerJobId']) }),
  rowInput: ({ document: _document, ...kept }) => kept,
};

const at = (second: number): string => new Date(Date.UTC(2026, 10, 23, 12, 0, second)).toISOString();

describe.each(TEST_BACKENDS)('jobs read model on %s', (backend) => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'jobs_read_model', jobsReadModelMigrations);
    store = new PostgresEventStore(database.db as never, { projections: [createJobsProjection([printModel])] });
  });
  afterAll(() => database.dispose());

  const run = (jobId: string, command: JobCommand) =>
    handleCommand(store, jobStreamId(jobId), command, jobDecider, { metadata: { orgId: 'org-1' } });
  const submit = (jobId: string, second: number, extra: Record<string, unknown> = {}) =>
    run(jobId, {
      type: 'SubmitJob',
      data: { jobId, kind: 'print', orgId: 'org-1', input: { title: jobId }, now: at(second), ...extra },
    });
  const rows = async () =>
    (await sql<Record<string, unknown>>`SELECT * FROM jobs ORDER BY id`.execute(database.db)).rows;

  it('shows a job in the same transaction that submitted it', async () => {
    await submit('visible', 0, { externalId: 'ext-1' });
    const [row] = (await sql<Record<string, unknown>>`SELECT * FROM jobs WHERE id = 'visible'`.execute(database.db)).rows;
    expect(row).toMatchObject({ id: 'visible', kind: 'print', org_id: 'org-1', status: 'queued', external_id: 'ext-1', version: 2 });
  });

  it('follows a job through its lifecycle', async () => {
    await submit('life', 1);
    await run('life', { type: 'StartJob', data: { now: at(2) } });
    await run('life', { type: 'ReportProgress', data: { progress: 40, now: at(3) } });
    let [row] = (await sql<Record<string, unknown>>`SELECT * FROM jobs WHERE id = 'life'`.execute(database.db)).rows;
    expect(row).toMatchObject({ status: 'running', progress: 40, attempts: 1, finished_at: null });
    await run('life', { type: 'CompleteJob', data: { now: at(4) } });
    [row] = (await sql<Record<string, unknown>>`SELECT * FROM jobs WHERE id = 'life'`.execute(database.db)).rows;
    expect(row).toMatchObject({ status: 'completed', progress: 100, version: 5 });
    expect(new Date(row?.['finished_at'] as string).toISOString()).toBe(at(4));
  });

  it("keeps of a job's input what its kind's model keeps, append after append; the log keeps all of it", async () => {
    await submit('inline', 45, { input: { title: 'inline', document: 'XlhBXlha' } });
    await run('inline', { type: 'StartJob', data: { now: at(46) } });
    // Another process's projection reads the row before it writes: it too keeps what the kind keeps.
    const other = new PostgresEventStore(database.db as never, { projections: [createJobsProjection([printModel])] });
    await handleCommand(other, jobStreamId('inline'), { type: 'ReportProgress', data: { progress: 50, now: at(47) } }, jobDecider);
    const [row] = (await sql<{ state: Record<string, unknown> }>`SELECT state FROM jobs WHERE id = 'inline'`.execute(database.db)).rows;
    expect(row?.state).toMatchObject({ status: 'running', progress: 50, input: { title: 'inline' } });
    expect(row?.state['input']).not.toHaveProperty('document');
    const { events } = await store.readStream(jobStreamId('inline'));
    expect(events[0]?.data['input']).toEqual({ title: 'inline', document: 'XlhBXlha' });
  });

  it('builds on what committed, not on a write that rolled back, when another process writes too', async () => {
    // Another process of the same install: its own store and projection, the same database.
    const other = new PostgresEventStore(database.db as never, { projections: [createJobsProjection([printModel])] });
    await submit('shared', 30);
    await run('shared', { type: 'StartJob', data: { now: at(31) } });
    // This process asks for cancellation at version 4, but its transaction rolls back ...
    const cancel: JobCommand = { type: 'RequestCancellation', data: { by: 'user-1', now: at(32) } };
    const rolledBack = store.transaction(async (session) => {
      await handleCommand(session, jobStreamId('shared'), cancel, jobDecider);
      throw new Error('rolled back');
    });
    await expect(rolledBack).rejects.toThrow('rolled back');
    // ... and the other process writes version 4; then this one writes version 5.
    await handleCommand(other, jobStreamId('shared'), { type: 'ReportProgress', data: { progress: 10, now: at(33) } }, jobDecider);
    await run('shared', { type: 'ReportProgress', data: { progress: 20, now: at(34) } });
    const [row] = (await sql<{ version: number; progress: number; state: { cancellation: { requested: boolean } } }>`
      SELECT version, progress, state FROM jobs WHERE id = 'shared'`.execute(database.db)).rows;
    expect(row).toMatchObject({ version: 5, progress: 20, state: { cancellation: { requested: false } } });
  });

  it('writes no row for an append that lost its version to another process', async () => {
    const other = new PostgresEventStore(database.db as never, { projections: [createJobsProjection([printModel])] });
    await submit('raced', 40);
    await run('raced', { type: 'StartJob', data: { now: at(41) } });
    const { events } = await store.readStream<JobEvent>(jobStreamId('raced'));
    const known = { state: events.reduce((state, event) => jobDecider.evolve(state, event), jobDecider.initialState()), version: 3 };
    await handleCommand(other, jobStreamId('raced'), { type: 'ReportProgress', data: { progress: 10, now: at(42) } }, jobDecider);
    // This process still believes the job is at version 3, as the row it last wrote says.
    const late = handleCommand(store, jobStreamId('raced'), { type: 'ReportProgress', data: { progress: 90, now: at(43) } }, jobDecider, {
      known,
      maxAttempts: 1,
    });
    await expect(late).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    const [row] = (await sql<{ version: number; progress: number }>`SELECT version, progress FROM jobs WHERE id = 'raced'`.execute(database.db)).rows;
    expect(row).toEqual({ version: 4, progress: 10 });
  });

  it("writes a group's rows with its appends, and neither writes nor remembers the one that lost its version", async () => {
    const other = new PostgresEventStore(database.db as never, { projections: [createJobsProjection([printModel])] });
    await submit('group-a', 50);
    await submit('group-b', 51);
    const startAt = async (jobId: string, second: number): Promise<JobEvent[]> => {
      const { events } = await store.readStream<JobEvent>(jobStreamId(jobId));
      const state = events.slice(0, 2).reduce((folded, event) => jobDecider.evolve(folded, event), jobDecider.initialState());
      return jobDecider.decide({ type: 'StartJob', data: { now: at(second) } }, state) as JobEvent[];
    };
    // Another process starts group-b first; this one still holds the row it wrote at version 2.
    const ours = await startAt('group-b', 53);
    await handleCommand(other, jobStreamId('group-b'), { type: 'StartJob', data: { now: at(52) } }, jobDecider);
    const results = await store.appendToStreams([
      { streamId: jobStreamId('group-a'), events: await startAt('group-a', 53), expectedVersion: 2 },
      { streamId: jobStreamId('group-b'), events: ours, expectedVersion: 2 },
    ]);
    expect(results.map((result) => ('code' in result ? result.code : result.nextExpectedVersion))).toEqual([3, 'VERSION_CONFLICT']);
    const groupRows = async () =>
      (await sql<{ id: string; version: number; status: string; progress: number; started: string }>`
        SELECT id, version, status, progress, state->>'startedAt' AS started FROM jobs WHERE id LIKE 'group-%' ORDER BY id`.execute(database.db)).rows;
    expect(await groupRows()).toEqual([
      { id: 'group-a', version: 3, status: 'running', progress: 0, started: at(53) },
      { id: 'group-b', version: 3, status: 'running', progress: 0, started: at(52) },
    ]);
    // Had this process kept its rejected row for version 3, this append would build on it.
    await run('group-b', { type: 'ReportProgress', data: { progress: 20, now: at(54) } });
    expect((await groupRows())[1]).toEqual({ id: 'group-b', version: 4, status: 'running', progress: 20, started: at(52) });
  });

  it('writes the rows of appends made at once, which the store commits in groups', async () => {
    const jobIds = ['burst-1', 'burst-2', 'burst-3', 'burst-4', 'burst-5', 'burst-6'];
    await Promise.all(jobIds.map((jobId, i) => submit(jobId, 21 + i)));
    await Promise.all(jobIds.map((jobId) => run(jobId, { type: 'StartJob', data: { now: at(28) } })));
    await Promise.all(jobIds.map((jobId, i) => run(jobId, { type: 'ReportProgress', data: { progress: 10 * (i + 1), now: at(29) } })));
    const burst = (await sql<{ id: string; version: number; status: string; progress: number; started: string }>`
      SELECT id, version, status, progress, state->>'startedAt' AS started FROM jobs WHERE id LIKE 'burst-%' ORDER BY id`.execute(database.db)).rows;
    expect(burst).toEqual(jobIds.map((id, i) => ({ id, version: 4, status: 'running', progress: 10 * (i + 1), started: at(28) })));
  });

  it('rebuilt from the log, gives identical rows', async () => {
    // A spread of lifecycles: retried, cancelled, scheduled, blocked, failed, partial.
    await submit('retried', 5, { retry: { maxAttempts: 2, initialBackoffMs: 1000 } });
    await run('retried', { type: 'StartJob', data: { now: at(6) } });
    await run('retried', { type: 'FailJob', data: { code: 'PRINTER_UNREACHABLE', message: 'no route', retryable: true, now: at(7) } });
    await submit('cancelled', 8);
    await run('cancelled', { type: 'RequestCancellation', data: { by: 'user-1', now: at(9) } });
    await submit('scheduled', 10, { runAt: at(59) });
    await submit('blocked', 11);
    await run('blocked', { type: 'StartJob', data: { now: at(12) } });
    await run('blocked', { type: 'BlockJob', data: { code: 'INSUFFICIENT_CREDITS', reason: 'no credits left', now: at(13) } });
    await submit('failed', 14);
    await run('failed', { type: 'StartJob', data: { now: at(15) } });
    await run('failed', { type: 'FailJob', data: { code: 'BAD_INPUT', message: 'not a PDF', now: at(16) } });
    await submit('partial', 17);
    await run('partial', { type: 'StartJob', data: { now: at(18) } });
    await run('partial', { type: 'FailItem', data: { item: 'page-2', code: 'RENDER_FAILED', message: 'broken', now: at(19) } });
    await run('partial', { type: 'CompleteJob', data: { now: at(20) } });
    // Events of other streams and of a kind's own types are not the jobs model's business.
    await store.appendToStream('credits-org-1', [{ type: 'CreditsGranted', data: { amount: 5 } }]);
    await store.appendToStream(jobStreamId('partial'), [{ type: 'PrinterJobAccepted', data: { printerJobId: '7' } }]);

    const before = await rows();
    expect(before.find((row) => row['id'] === 'partial')?.['kind_state']).toEqual({ accepted: 1, printerJobId: '7' });
    expect(before.length).toBeGreaterThanOrEqual(8);
    await sql`DELETE FROM jobs`.execute(database.db);
    expect(await rows()).toEqual([]);

    // Batches of one event split every job's first append (JobSubmitted, then JobQueued).
    for (const batchSize of [1, 7, 5_000]) {
      const replayed = await rebuildJobsReadModel(database.db, [printModel], batchSize);
      expect(replayed).toBeGreaterThan(20);
      expect(await rows()).toEqual(before);
    }
    expect(before.map((row) => [row['id'], row['status']])).toEqual(
      expect.arrayContaining([
        ['retried', 'scheduled'],
        ['cancelled', 'cancelled'],
        ['scheduled', 'scheduled'],
        ['blocked', 'blocked'],
        ['failed', 'failed'],
        ['partial', 'completed'],
      ]),
    );
  });
});
