import { sql } from 'kysely';
import { creditsStreamId, isDomainError, jobStreamId } from '@switchyard/contracts';
import { PostgresEventStore } from '@switchyard/event-store';
import { createPostgresTestDatabase, type TestDatabase } from '@switchyard/event-store/testing';
import { creditsProjection, toCreditEvent } from './credits-projection';
import { CreditsLedger, retryOnVersionConflict } from './ledger';
import { creditsMigrations } from './migrations';

// PostgreSQL only: PGlite has one connection, so its transactions never race.
describe('credits ledger under concurrent submissions, on postgres', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let ledger: CreditsLedger;

  beforeAll(async () => {
    database = await createPostgresTestDatabase('credits_concurrency', creditsMigrations, 24);
    store = new PostgresEventStore(database.db as never, { projections: [creditsProjection] });
    ledger = new CreditsLedger(store, database.db);
  });
  afterAll(() => database.dispose());

  it.each([1, 2, 3])('20 concurrent submissions against credits for 5 (round %i): exactly 5 are charged', async (round) => {
    const orgId = `org-race-${round}`;
    await ledger.grant(orgId, 5, 'ops');
    const jobIds = Array.from({ length: 20 }, (_, i) => `race-${round}-${i}`);
    let attempts = 0;

    // Watches the balance while the race runs: it must never be seen below zero.
    let racing = true;
    const seen: number[] = [];
    const watcher = (async () => {
      while (racing) seen.push((await ledger.balance(orgId)).balance);
    })();

    const outcomes = await Promise.allSettled(
      jobIds.map((jobId) =>
        retryOnVersionConflict(() => {
          attempts += 1;
          return store.transaction(async (session) => {
            await session.appendToStream(jobStreamId(jobId), [{ type: 'JobSubmitted', data: { jobId } }], { expectedVersion: 'no_stream' });
            await ledger.debit(session, orgId, jobId, 1);
          });
        }),
      ),
    );
    racing = false;
    await watcher;

    const accepted = jobIds.filter((_, i) => outcomes[i]?.status === 'fulfilled');
    const refused = outcomes.flatMap((outcome, i) => (outcome.status === 'rejected' ? [[jobIds[i] as string, outcome.reason] as const] : []));
    expect(accepted).toHaveLength(5);
    expect(refused).toHaveLength(15);
    for (const [, reason] of refused) expect(isDomainError(reason, 'INSUFFICIENT_CREDITS')).toBe(true);
    // Losers of a race re-ran their whole transaction: there were conflicts, and they were absorbed.
    expect(attempts).toBeGreaterThan(20);

    const totals = await ledger.balance(orgId);
    expect(totals).toEqual({ balance: 0, granted: 5, debited: 5, refunded: 0 });
    expect(totals.granted - totals.debited + totals.refunded).toBe(totals.balance);
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(0);

    // The stream itself: never below zero at any version, one debit per accepted job, none for the others.
    const { events } = await store.readStream(creditsStreamId(orgId));
    let running = 0;
    for (const event of events.map(toCreditEvent)) {
      running += event.type === 'CreditsDebited' ? -event.data.amount : event.data.amount;
      expect(running).toBeGreaterThanOrEqual(0);
    }
    expect(running).toBe(0);
    const debitedJobs = events.map(toCreditEvent).flatMap((event) => (event.type === 'CreditsDebited' ? [event.data.jobId] : []));
    expect(debitedJobs.sort()).toEqual([...accepted].sort());

    // A job stream exists exactly for the submissions that were charged.
    const { rows } = await sql<{ stream_id: string }>`
      SELECT stream_id FROM streams WHERE stream_id LIKE ${`job-race-${round}-%`} ORDER BY stream_id`.execute(database.db);
    expect(rows.map((row) => row.stream_id)).toEqual(accepted.map(jobStreamId).sort());
    for (const [jobId] of refused) expect((await store.readStream(jobStreamId(jobId))).exists).toBe(false);
  });
});
