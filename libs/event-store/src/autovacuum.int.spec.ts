import { sql, type Kysely } from 'kysely';
import { Autovacuum, readTableActivity } from './autovacuum';
import { openDatabase } from './database';
import { eventStoreMigrations, migrateToLatest } from './migrations';
import { eventually } from './testing';

/** Appends `count` events in one statement, as a burst of jobs would. */
const appendEvents = (db: Kysely<unknown>, count: number, from: number): Promise<unknown> =>
  sql`INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata)
      SELECT gen_random_uuid(), 'job-' || g, 1, 'JobCompleted', '{}', '{"kind":"print"}'
      FROM generate_series(${from}::int, ${from + count - 1}::int) AS g`.execute(db);

/** The columns of `table` the planner has statistics for: none until it is analyzed. */
const plannerStatistics = async (db: Kysely<unknown>, table: string): Promise<string[]> =>
  (await sql<{ attname: string }>`SELECT attname FROM pg_stats WHERE schemaname = 'public' AND tablename = ${table}`.execute(db)).rows.map(
    (row) => row.attname,
  );

/** Resolves once the statistics counters show the rows written so far (PostgreSQL flushes them within a second). */
const countersShow = (db: Kysely<unknown>, table: string, inserted: number): Promise<unknown> =>
  eventually(async () => (await readTableActivity(db)).find((activity) => activity.schema === 'public' && activity.table === table && activity.insertedSinceVacuum >= inserted), {
    message: `the counters of ${table} to show ${inserted} inserts`,
  });

describe('autovacuum on the embedded database, which has no daemon for it', () => {
  let db: Kysely<unknown>;

  beforeEach(async () => {
    db = await openDatabase<unknown>({ driver: 'pglite' });
    await migrateToLatest(db, eventStoreMigrations);
  });
  afterEach(() => db.destroy());

  it('vacuums and analyzes the tables that passed its thresholds, after which the planner has their statistics', async () => {
    await appendEvents(db, 20_000, 1);
    await countersShow(db, 'events', 20_000);
    expect(await plannerStatistics(db, 'events')).toEqual([]);

    const autovacuum = new Autovacuum(db);
    const first = await autovacuum.runOnce();
    expect(first).toContain('VACUUM (ANALYZE) public.events');
    expect(first).not.toContain('VACUUM (ANALYZE) public.subscription_checkpoints');
    const analyzed = await plannerStatistics(db, 'events');
    expect(analyzed).toEqual(expect.arrayContaining(['stream_id', 'type', 'transaction_id']));
    // Never compared whole, so never sampled (migration 0003).
    expect(analyzed.filter((column) => ['data', 'metadata', 'event_id'].includes(column))).toEqual([]);

    // Nothing changed since: once its counters show the round, the next one leaves the table alone.
    await eventually(
      async () =>
        (await readTableActivity(db)).find(
          ({ schema, table, insertedSinceVacuum, modifiedSinceAnalyze }) =>
            schema === 'public' && table === 'events' && insertedSinceVacuum === 0 && modifiedSinceAnalyze === 0,
        ),
      { message: "the round in the events table's counters" },
    );
    expect((await autovacuum.runOnce()).filter((done) => done.endsWith(' public.events'))).toEqual([]);
  });

  it('runs a round every naptime once started, until stopped', async () => {
    const errors: unknown[] = [];
    const autovacuum = new Autovacuum(db, { naptimeMs: 20, onError: (error) => errors.push(error) });
    autovacuum.start();
    await appendEvents(db, 2_000, 1);
    const analyzed = async (): Promise<boolean> =>
      (await sql<{ analyzed: boolean }>`SELECT last_analyze IS NOT NULL AS analyzed FROM pg_stat_all_tables WHERE relname = 'events'`.execute(db)).rows[0]
        ?.analyzed === true;
    await eventually(analyzed, { message: 'the events table analyzed by a round' });
    await autovacuum.stop();
    expect(errors).toEqual([]);
  });
});
