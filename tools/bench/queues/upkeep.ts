import { sql, type Kysely } from 'kysely';
import { Autovacuum, readAutovacuumSettings } from '@switchyard/event-store';

export interface UpkeepReport {
  /** autovacuum_naptime: how often the tables were looked at. */
  naptimeSeconds: number;
  /** VACUUMs and ANALYZEs run on the system's tables while it ran. */
  vacuums: number;
  analyzes: number;
}

export interface Upkeep {
  /** Waits for the statement running now, then says what was done. */
  stop(): Promise<UpkeepReport>;
}

/** The manual VACUUMs and ANALYZEs counted on the database's tables so far. */
async function counts(db: Kysely<unknown>): Promise<{ vacuums: number; analyzes: number }> {
  const { rows } = await sql<{ vacuums: number; analyzes: number }>`
    SELECT coalesce(sum(vacuum_count), 0)::int AS vacuums, coalesce(sum(analyze_count), 0)::int AS analyzes
    FROM pg_stat_user_tables`.execute(db);
  return rows[0] ?? { vacuums: 0, analyzes: 0 };
}

/**
 * Autovacuum's work on a system's database, done by the bench while the server's own daemon is off.
 *
 * The PostgreSQL on the machines these figures come from runs with `autovacuum = off` (set by the
 * machine's conf.d/90-ci.conf). A queue on such a server never has its dead rows
 * vacuumed nor its tables analyzed, and slows down as it fills. pg-boss's fetch walks a partial
 * index that keeps an entry for every job ever created until a vacuum: after 60,000 jobs it took
 * 42 ms a call (pg_stat_statements: 4,056 calls, 170 s of execution in a 143 s run), and its
 * polling alone held status reads to 1,600/s. Nobody runs a queue that way, so while a
 * PostgreSQL-backed system runs, the bench does what the daemon would on its database: PostgreSQL's
 * own thresholds and naptime, through the event store's Autovacuum (which does the same for PGlite
 * in Switchyard's embedded mode).
 */
export async function startUpkeep(db: Kysely<unknown>, onError: (error: unknown) => void): Promise<Upkeep> {
  const { naptimeMs } = await readAutovacuumSettings(db);
  const before = await counts(db);
  const autovacuum = new Autovacuum(db, { onError });
  autovacuum.start();
  return {
    async stop() {
      await autovacuum.stop();
      const after = await counts(db);
      return { naptimeSeconds: naptimeMs / 1000, vacuums: after.vacuums - before.vacuums, analyzes: after.analyzes - before.analyzes };
    },
  };
}
