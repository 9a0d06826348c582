import { sql, type Migration } from 'kysely';

export const printMigrations: Record<string, Migration> = {
  '0600_printers': {
    async up(db) {
      await sql`
        CREATE TABLE printers (
          org_id text NOT NULL,
          name text NOT NULL,
          path text NOT NULL,
          uri text NOT NULL,
          tags jsonb NOT NULL DEFAULT '[]',
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (org_id, name),
          UNIQUE (org_id, path)
        )`.execute(db);
      // The least busy printer of a tag is found by counting its unfinished jobs.
      await sql`CREATE INDEX jobs_print_unfinished ON jobs ((state->'input'->>'printer'))
        WHERE kind = 'print' AND status IN ('queued', 'running', 'scheduled')`.execute(db);
    },
  },
};
