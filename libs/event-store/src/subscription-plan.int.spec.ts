import { sql, type Kysely } from 'kysely';
import { PREPARED } from './database';
import { lookStatement, pollStatement, subscriptionFilter } from './subscription';
import { beforeAndAfterAnalyze, createTestDatabase, explainPlan, TEST_BACKENDS, type TestDatabase } from './testing';

describe.each(TEST_BACKENDS)("a subscription's reads past its checkpoint, on a long log, on %s", (backend) => {
  let database: TestDatabase;
  let db: Kysely<unknown>;
  let end: string;
  /** A print worker's poll from the start of the log, planned for its parameters and for any. */
  const poll = () => pollStatement('worker:print', subscriptionFilter(['JobQueued'], ['print']), 16).compile(db);
  /** The poll's plans and the look's, without statistics and with. */
  let pollPlans: string[];
  let lookPlans: string[];

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'subscription_plans');
    db = database.db;
    // 60,000 print events in 60 transactions, a quarter of them JobQueued: an image worker's look
    // finds none of them, a print worker whose checkpoint is at the start has a backlog of 15,000.
    for (let batch = 0; batch < 60; batch++) {
      await sql`INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata)
        SELECT gen_random_uuid(), 'job-' || ${batch}::int || '-' || g, 1,
               (ARRAY['JobSubmitted', 'JobQueued', 'JobStarted', 'JobCompleted'])[1 + g % 4], '{}', '{"kind": "print"}'
        FROM generate_series(1, 1000) AS g`.execute(db);
    }
    await sql`INSERT INTO subscription_checkpoints (consumer) VALUES ('worker:print')`.execute(db);
    const { rows } = await sql<{ last: string }>`SELECT max(transaction_id)::text AS last FROM events`.execute(db);
    end = rows[0]?.last ?? '0';
    const planned = await beforeAndAfterAnalyze(db, 'events', async () => ({
      poll: [await explainPlan(db, poll()), await explainPlan(db, poll(), { generic: true })],
      look: await explainPlan(db, look()),
    }));
    pollPlans = planned.flatMap((plans) => plans.poll);
    lookPlans = planned.map((plans) => plans.look);
  });
  afterAll(() => database.dispose());

  // A consumer that keeps up has its checkpoint at the end of the log.
  const look = () => lookStatement({ transactionId: end, position: '0' }, subscriptionFilter(['JobQueued'], ['image'])).compile(db);

  it('is planned for its own checkpoint, and so reaches the few events past it by the index, with statistics or without', async () => {
    // Prepared, it would soon run on a plan made for any checkpoint: on this log, a scan of it all.
    expect(look().sql.startsWith(PREPARED)).toBe(false);
    for (const plan of lookPlans) {
      expect(plan).toMatch(/Index (Only )?Scan using events_transaction_order on events/);
      expect(plan).not.toMatch(/Seq Scan on events/);
    }
  });

  it("reads a worker's next jobs behind a backlog by walking the index, and stops at its limit, with statistics or without", async () => {
    // Prepared, the poll runs on the generic plan once PostgreSQL finds it no worse than its custom ones.
    for (const plan of pollPlans) {
      expect(plan).toMatch(/Limit[^\n]*\n\s*->\s+Index Scan using events_transaction_order on events/);
      expect(plan).not.toMatch(/Bitmap Heap Scan on events/);
    }
  });
});
