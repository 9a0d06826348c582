import { sql, type Migration } from 'kysely';

export const jobRuntimeMigrations: Record<string, Migration> = {
  '0400_job_runtime': {
    async up(db) {
      // A retried submission with the same key finds the job it created; the hash tells a reuse
      // of the key for a different request apart from a retry.
      await sql`
        CREATE TABLE idempotency_keys (
          org_id text NOT NULL,
          key text NOT NULL,
          job_id text NOT NULL,
          request_hash text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (org_id, key)
        )`.execute(db);
      // A running job belongs to the worker holding its lease; an expired lease means that worker
      // died, and another takes the job over.
      await sql`
        CREATE TABLE job_leases (
          job_id text PRIMARY KEY,
          kind text NOT NULL,
          worker_id text NOT NULL,
          expires_at timestamptz NOT NULL
        )`.execute(db);
      await sql`CREATE INDEX job_leases_expiry ON job_leases (kind, expires_at)`.execute(db);
    },
  },
};
