import { sql, type Migration } from 'kysely';

export const jobsReadModelMigrations: Record<string, Migration> = {
  '0100_jobs_read_model': {
    async up(db) {
      await sql`
        CREATE TABLE jobs (
          id text PRIMARY KEY,
          kind text NOT NULL,
          org_id text NOT NULL,
          status text NOT NULL,
          progress real NOT NULL,
          attempts integer NOT NULL,
          priority integer NOT NULL,
          external_id text,
          version integer NOT NULL,
          created_at timestamptz NOT NULL,
          updated_at timestamptz NOT NULL,
          finished_at timestamptz,
          run_at timestamptz,
          state jsonb NOT NULL,
          kind_state jsonb NOT NULL DEFAULT '{}'
        )`.execute(db);
      // Listing is per organization, newest first, filtered by kind, status or external id.
      await sql`CREATE INDEX jobs_org_created ON jobs (org_id, created_at DESC, id DESC)`.execute(db);
      await sql`CREATE INDEX jobs_org_kind_status ON jobs (org_id, kind, status)`.execute(db);
      await sql`CREATE INDEX jobs_org_external ON jobs (org_id, external_id) WHERE external_id IS NOT NULL`.execute(db);
      // Timers find due scheduled jobs.
      await sql`CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'scheduled'`.execute(db);
    },
    async down(db) {
      await sql`DROP TABLE jobs`.execute(db);
    },
  },
  // As for the events' payload (0003 in the event store): the views are read by id or by expressions
  // on them, never compared whole, so ANALYZE need not sample them (240 ms a bench's 8,000 jobs, 50
  // ms without). An index on an expression over them keeps its own statistics.
  '0101_jobs_views_without_statistics': {
    async up(db) {
      await sql`ALTER TABLE jobs ALTER COLUMN state SET STATISTICS 0, ALTER COLUMN kind_state SET STATISTICS 0`.execute(db);
    },
    async down(db) {
      await sql`ALTER TABLE jobs ALTER COLUMN state SET STATISTICS -1, ALTER COLUMN kind_state SET STATISTICS -1`.execute(db);
    },
  },
  // A list by kind and status, newest first, found the rows by (org_id, kind, status) and then sorted
  // all of them for a page: 3.7 ms a call with 4,000 queued jobs, growing with them. In the list's
  // order, the index hands over the page and stops.
  '0102_jobs_listed_by_status_in_order': {
    async up(db) {
      await sql`DROP INDEX jobs_org_kind_status`.execute(db);
      await sql`CREATE INDEX jobs_org_kind_status_created ON jobs (org_id, kind, status, created_at DESC, id DESC)`.execute(db);
    },
    async down(db) {
      await sql`DROP INDEX jobs_org_kind_status_created`.execute(db);
      await sql`CREATE INDEX jobs_org_kind_status ON jobs (org_id, kind, status)`.execute(db);
    },
  },
  // A worker's look for its kind's due jobs read jobs_due (run_at) and filtered the kind, or, as the
  // planner often judged a young table, a kind's own index of unfinished jobs (print's, by printer):
  // 5.8 ms a look past 3,000 queued print jobs in the bench, every few seconds from each worker, for
  // no job. With the kind in the key, the look reads only its kind's scheduled jobs, already in order.
  '0103_jobs_due_by_kind': {
    async up(db) {
      await sql`DROP INDEX jobs_due`.execute(db);
      await sql`CREATE INDEX jobs_due ON jobs (kind, run_at) WHERE status = 'scheduled'`.execute(db);
    },
    async down(db) {
      await sql`DROP INDEX jobs_due`.execute(db);
      await sql`CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'scheduled'`.execute(db);
    },
  },
};
