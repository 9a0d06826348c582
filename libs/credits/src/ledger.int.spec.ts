import { sql } from 'kysely';
import { creditsStreamId, jobStreamId } from '@switchyard/contracts';
import { PostgresEventStore, type EventStoreSession } from '@switchyard/event-store';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '@switchyard/event-store/testing';
import { creditsProjection, rebuildCreditBalances } from './credits-projection';
import { CreditsLedger, retryOnVersionConflict } from './ledger';
import { creditsMigrations } from './migrations';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

describe.each(TEST_BACKENDS)('credits ledger on %s', (backend) => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let ledger: CreditsLedger;
  let tick = 0;
  const clock = () => new Date(T0 + ++tick * 1000);

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'credits_ledger', creditsMigrations);
    store = new PostgresEventStore(database.db as never, { projections: [creditsProjection] });
    ledger = new CreditsLedger(store, database.db, { now: clock });
  });
  afterAll(() => database.dispose());

  const streamVersion = async (streamId: string): Promise<number> => (await store.readStream(streamId)).currentVersion;
  const submitJob = (session: EventStoreSession, jobId: string) =>
    session.appendToStream(jobStreamId(jobId), [{ type: 'JobSubmitted', data: { jobId } }], { expectedVersion: 'no_stream' });
  const completeJob = (session: EventStoreSession, jobId: string) =>
    session.appendToStream(jobStreamId(jobId), [{ type: 'JobCompleted', data: { partial: true } }], { expectedVersion: 'exists' });
  const tableRows = async () => ({
    balances: (await sql<Record<string, unknown>>`SELECT * FROM credit_balances ORDER BY org_id`.execute(database.db)).rows,
    charges: (await sql<Record<string, unknown>>`SELECT * FROM credit_job_charges ORDER BY org_id, job_id`.execute(database.db)).rows,
  });

  it('grants, and the balance shows it at once', async () => {
    expect(await ledger.balance('org-g')).toEqual({ balance: 0, granted: 0, debited: 0, refunded: 0 });
    expect(await ledger.grant('org-g', 10, 'ops', 'welcome')).toEqual({ balance: 10, granted: 10, debited: 0, refunded: 0 });
    expect(await ledger.grant('org-g', 5, 'ops')).toEqual({ balance: 15, granted: 15, debited: 0, refunded: 0 });
    expect(await ledger.balance('org-g')).toEqual({ balance: 15, granted: 15, debited: 0, refunded: 0 });
    await expect(ledger.grant('org-g', 0, 'ops')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('debits in the job submission transaction: both commit', async () => {
    await ledger.grant('org-d', 10, 'ops');
    await store.transaction(async (session) => {
      await submitJob(session, 'd1');
      await ledger.debit(session, 'org-d', 'd1', 3);
    });
    expect(await streamVersion(jobStreamId('d1'))).toBe(1);
    expect(await ledger.balance('org-d')).toEqual({ balance: 7, granted: 10, debited: 3, refunded: 0 });
  });

  it('debits in the job submission transaction: neither commits when it fails after the debit', async () => {
    const before = await streamVersion(creditsStreamId('org-d'));
    await expect(
      store.transaction(async (session) => {
        await submitJob(session, 'd2');
        await ledger.debit(session, 'org-d', 'd2', 4);
        // The debit is visible inside the transaction, then the whole thing is rolled back.
        expect((await session.readStream(creditsStreamId('org-d'))).currentVersion).toBe(before + 1);
        throw new Error('crashed after the debit');
      }),
    ).rejects.toThrow('crashed after the debit');
    expect(await streamVersion(jobStreamId('d2'))).toBe(0);
    expect(await streamVersion(creditsStreamId('org-d'))).toBe(before);
    expect(await ledger.balance('org-d')).toEqual({ balance: 7, granted: 10, debited: 3, refunded: 0 });
    const { rows } = await sql`SELECT 1 FROM credit_job_charges WHERE job_id = 'd2'`.execute(database.db);
    expect(rows).toEqual([]);
  });

  it('refuses a debit beyond the balance, and the job is not submitted either', async () => {
    const refused = store.transaction(async (session) => {
      await submitJob(session, 'd3');
      await ledger.debit(session, 'org-d', 'd3', 8);
    });
    await expect(refused).rejects.toMatchObject({ code: 'INSUFFICIENT_CREDITS', details: { balance: 7, requested: 8 } });
    expect(await streamVersion(jobStreamId('d3'))).toBe(0);
    expect(await ledger.balance('org-d')).toMatchObject({ balance: 7 });
  });

  it('takes a repeated debit of a job as done, and refuses another amount', async () => {
    const before = await streamVersion(creditsStreamId('org-d'));
    await store.transaction((session) => ledger.debit(session, 'org-d', 'd1', 3));
    expect(await streamVersion(creditsStreamId('org-d'))).toBe(before);
    await expect(store.transaction((session) => ledger.debit(session, 'org-d', 'd1', 2))).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
  });

  it('refunds exactly once, with the completion that shows it', async () => {
    await ledger.grant('org-r', 10, 'ops');
    await store.transaction(async (session) => {
      await submitJob(session, 'r1');
      await ledger.debit(session, 'org-r', 'r1', 6);
    });
    const complete = () =>
      retryOnVersionConflict(() =>
        store.transaction(async (session) => {
          await completeJob(session, 'r1');
          await ledger.refund(session, 'org-r', 'r1', 6, 'nothing printed');
        }),
      );
    await complete();
    expect(await ledger.balance('org-r')).toEqual({ balance: 10, granted: 10, debited: 6, refunded: 6 });
    const version = await streamVersion(creditsStreamId('org-r'));
    // A redelivered completion refunds nothing more.
    await complete();
    expect(await streamVersion(creditsStreamId('org-r'))).toBe(version);
    expect(await ledger.balance('org-r')).toEqual({ balance: 10, granted: 10, debited: 6, refunded: 6 });
    await expect(store.transaction((session) => ledger.refund(session, 'org-r', 'r1', 1))).rejects.toMatchObject({
      code: 'REFUND_EXCEEDS_DEBIT',
    });
    await expect(store.transaction((session) => ledger.refund(session, 'org-r', 'never', 1))).rejects.toMatchObject({
      code: 'REFUND_EXCEEDS_DEBIT',
    });
    expect(await ledger.balance('org-r')).toEqual({ balance: 10, granted: 10, debited: 6, refunded: 6 });
  });

  it('lists the ledger entries in order, a page at a time', async () => {
    await ledger.grant('org-l', 20, 'ops', 'trial');
    await store.transaction((session) => ledger.debit(session, 'org-l', 'l1', 5));
    await store.transaction((session) => ledger.debit(session, 'org-l', 'l2', 4));
    await store.transaction((session) => ledger.refund(session, 'org-l', 'l1', 2, 'page 2 failed'));
    const entries = await ledger.ledger('org-l');
    expect(entries).toEqual([
      { type: 'CreditsGranted', amount: 20, by: 'ops', reason: 'trial', at: expect.any(String), version: 1 },
      { type: 'CreditsDebited', amount: 5, jobId: 'l1', at: expect.any(String), version: 2 },
      { type: 'CreditsDebited', amount: 4, jobId: 'l2', at: expect.any(String), version: 3 },
      { type: 'CreditsRefunded', amount: 2, jobId: 'l1', reason: 'page 2 failed', at: expect.any(String), version: 4 },
    ]);
    const ats = entries.map((entry) => Date.parse(entry.at));
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    expect((await ledger.ledger('org-l', { after: 1, limit: 2 })).map((entry) => entry.version)).toEqual([2, 3]);
    expect(await ledger.ledger('org-l', { after: 4 })).toEqual([]);
    expect(await ledger.ledger('org-nobody')).toEqual([]);
    await expect(ledger.ledger('org-l', { limit: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('refuses an append that would break the invariants, even one not decided by the ledger', async () => {
    const before = await streamVersion(creditsStreamId('org-l'));
    await expect(
      store.appendToStream(creditsStreamId('org-l'), [{ type: 'CreditsDebited', data: { jobId: 'l9', amount: 1_000, at: new Date(T0).toISOString() } }]),
    ).rejects.toThrow();
    await expect(store.appendToStream(creditsStreamId('org-l'), [{ type: 'CreditsGranted', data: { amount: 5 } }])).rejects.toThrow(/not a valid/);
    expect(await streamVersion(creditsStreamId('org-l'))).toBe(before);
  });

  it('rebuilt from the log, gives identical rows', async () => {
    const before = await tableRows();
    expect(before.balances.length).toBeGreaterThanOrEqual(4);
    expect(before.charges.length).toBeGreaterThanOrEqual(4);
    await sql`DELETE FROM credit_job_charges`.execute(database.db);
    await sql`DELETE FROM credit_balances`.execute(database.db);
    const replayed = await rebuildCreditBalances(database.db, 3);
    expect(replayed).toBe(11);
    expect(await tableRows()).toEqual(before);
  });

  it('decides from the stream itself when the read model is behind, and the next projected append catches it up', async () => {
    const bare = new PostgresEventStore(database.db as never);
    const unprojected = new CreditsLedger(bare, database.db, { now: clock });
    await ledger.grant('org-f', 5, 'ops');
    // Appends through a store without the projection: credit_balances stays at version 1.
    await bare.transaction((session) => unprojected.debit(session, 'org-f', 'f1', 4));
    await expect(bare.transaction((session) => unprojected.debit(session, 'org-f', 'f2', 2))).rejects.toMatchObject({
      code: 'INSUFFICIENT_CREDITS',
      details: { balance: 1, requested: 2 },
    });
    await bare.transaction((session) => unprojected.refund(session, 'org-f', 'f1', 4));
    await bare.transaction((session) => unprojected.refund(session, 'org-f', 'f1', 4));
    expect(await ledger.balance('org-f')).toMatchObject({ balance: 5, debited: 0 });
    // The projected ledger, finding the row behind the stream, folds the stream; its projection
    // catches the row up from the log before applying the new debit.
    await store.transaction((session) => ledger.debit(session, 'org-f', 'f3', 5));
    expect(await ledger.balance('org-f')).toEqual({ balance: 0, granted: 5, debited: 9, refunded: 4 });
    const caughtUp = await tableRows();
    await rebuildCreditBalances(database.db);
    expect(await tableRows()).toEqual(caughtUp);
    const { rows } = await sql<{ job_id: string; refunds: unknown }>`
      SELECT job_id, refunds FROM credit_job_charges WHERE org_id = 'org-f' ORDER BY job_id`.execute(database.db);
    expect(rows).toEqual([
      { job_id: 'f1', refunds: [4] },
      { job_id: 'f3', refunds: [] },
    ]);
  });
});
