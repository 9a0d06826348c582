import { sql, type Kysely } from 'kysely';
import { openDatabase, PREPARED } from './database';
import { eventStoreMigrations, migrateToLatest } from './migrations';
import { lookStatement, subscriptionFilter } from './subscription';
import { explainPlan } from './testing';

describe("a subscription's look past its checkpoint, on a long log", () => {
  let db: Kysely<unknown>;
  let end: string;

  beforeAll(async () => {
    db = await openDatabase<unknown>({ driver: 'pglite' });
    await migrateToLatest(db, eventStoreMigrations);
    // 60,000 print events in 60 transactions: an image worker's look finds none of them.
    for (let batch = 0; batch < 60; batch++) {
      await sql`INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata)
        SELECT gen_random_uuid(), 'job:' || ${batch}::int || '-' || g, 1,
               (ARRAY['JobSubmitted', 'JobQueued', 'JobStarted', 'JobCompleted'])[1 + g % 4], '{}', '{"kind": "print"}'
        FROM generate_series(1, 1000) AS g`.execute(db);
    }
    await sql`ANALYZE events`.execute(db);
    const { rows } = await sql<{ last: string }>`SELECT max(transaction_id)::text AS last FROM events`.execute(db);
    end = rows[0]?.last ?? '0';
  });
  afterAll(() => db.destroy());

  // A consumer that keeps up has its checkpoint at the end of the log.
  const look = () => lookStatement({ transactionId: end, position: '0' }, subscriptionFilter(['JobQueued'], ['image'])).compile(db);

  it('is planned for its own checkpoint, and so reaches the few events past it by the index', async () => {
    // Prepared, it would soon run on a plan made for any checkpoint: on this log, a scan of it all.
    expect(look().sql.startsWith(PREPARED)).toBe(false);
    expect(await explainPlan(db, look())).toMatch(/Index (Only )?Scan using events_transaction_order on events/);
  });
});
