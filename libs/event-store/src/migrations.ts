import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';

/**
 * The event store's own tables. Other libs add theirs (read models, inboxes) as further named
 * migrations run by the same Migrator, so one database has one ordered migration history.
 */
export const eventStoreMigrations: Record<string, Migration> = {
  '0001_event_store': {
    async up(db) {
      await sql`CREATE SEQUENCE events_global_position_seq AS bigint`.execute(db);
      await sql`
        CREATE TABLE events (
          global_position bigint NOT NULL DEFAULT nextval('events_global_position_seq') PRIMARY KEY,
          transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
          event_id uuid NOT NULL UNIQUE,
          stream_id text NOT NULL,
          stream_version integer NOT NULL CHECK (stream_version > 0),
          type text NOT NULL,
          data jsonb NOT NULL,
          metadata jsonb NOT NULL DEFAULT '{}',
          created_at timestamptz NOT NULL DEFAULT now(),
          UNIQUE (stream_id, stream_version)
        )`.execute(db);
      await sql`ALTER SEQUENCE events_global_position_seq OWNED BY events.global_position`.execute(db);
      // Subscriptions read in (transaction_id, global_position) order.
      await sql`CREATE INDEX events_transaction_order ON events (transaction_id, global_position)`.execute(db);
      await sql`
        CREATE TABLE streams (
          stream_id text PRIMARY KEY,
          version integer NOT NULL,
          last_transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id()
        )`.execute(db);
      await sql`
        CREATE TABLE subscription_checkpoints (
          consumer text PRIMARY KEY,
          transaction_id xid8 NOT NULL DEFAULT '0',
          global_position bigint NOT NULL DEFAULT 0,
          owner text,
          lease_expires_at timestamptz,
          updated_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db);
    },
    async down(db) {
      await sql`DROP TABLE subscription_checkpoints`.execute(db);
      await sql`DROP TABLE streams`.execute(db);
      await sql`DROP TABLE events`.execute(db);
    },
  },
  // Nothing looks an event up by its id, and every id is a fresh randomUUID(): the unique index
  // only cost each append one more WAL record and a write to a random page of a random-keyed
  // B-tree (bench:event-store: appends/s beside pgbench 56 % to 59-64 % at 8 writers).
  '0002_events_without_event_id_index': {
    async up(db) {
      await sql`ALTER TABLE events DROP CONSTRAINT events_event_id_key`.execute(db);
    },
    async down(db) {
      await sql`ALTER TABLE events ADD CONSTRAINT events_event_id_key UNIQUE (event_id)`.execute(db);
    },
  },
  // No query compares these columns whole, and the planner has no use for their statistics: a test
  // on `metadata->>'kind'` is estimated without them. Sampling and sorting them was most of an
  // ANALYZE of the log (550 ms of 48,000 bench events, 200 ms without them), which holds PGlite's
  // one backend, and on a server takes a CPU from the statements beside it.
  '0003_events_payload_without_statistics': {
    async up(db) {
      await sql`ALTER TABLE events ALTER COLUMN data SET STATISTICS 0, ALTER COLUMN metadata SET STATISTICS 0,
                ALTER COLUMN event_id SET STATISTICS 0`.execute(db);
    },
    async down(db) {
      await sql`ALTER TABLE events ALTER COLUMN data SET STATISTICS -1, ALTER COLUMN metadata SET STATISTICS -1,
                ALTER COLUMN event_id SET STATISTICS -1`.execute(db);
    },
  },
};

class StaticMigrationProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}

/**
 * Brings the database to the latest schema: the event store's migrations plus `extra` ones from
 * other libs. Names sort into the order they run in; a name must never change once released.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  extra: Record<string, Migration> = {},
): Promise<void> {
  const migrations = { ...eventStoreMigrations, ...extra };
  const migrator = new Migrator({
    db,
    provider: new StaticMigrationProvider(migrations),
    // Libs add migrations independently; a later lib's migration may sort before one already run.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? '(unknown)'} failed: ${String(error)}`, { cause: error });
  }
}
