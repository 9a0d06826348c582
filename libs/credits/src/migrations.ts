import { sql, type Migration } from 'kysely';

export const creditsMigrations: Record<string, Migration> = {
  '0700_credits': {
    async up(db) {
      // The checks restate the decider's invariants: a projection that would break one fails the append.
      await sql`
        CREATE TABLE credit_balances (
          org_id text PRIMARY KEY,
          balance bigint NOT NULL CHECK (balance >= 0),
          granted bigint NOT NULL CHECK (granted >= 0),
          debited bigint NOT NULL CHECK (debited >= 0),
          refunded bigint NOT NULL CHECK (refunded >= 0),
          version integer NOT NULL,
          updated_at timestamptz NOT NULL,
          CHECK (balance = granted - debited + refunded)
        )`.execute(db);
      await sql`
        CREATE TABLE credit_job_charges (
          org_id text NOT NULL,
          job_id text NOT NULL,
          debited bigint NOT NULL CHECK (debited >= 0),
          refunded bigint NOT NULL CHECK (refunded >= 0 AND refunded <= debited),
          refunds jsonb NOT NULL DEFAULT '[]',
          version integer NOT NULL,
          updated_at timestamptz NOT NULL,
          PRIMARY KEY (org_id, job_id)
        )`.execute(db);
    },
    async down(db) {
      await sql`DROP TABLE credit_job_charges`.execute(db);
      await sql`DROP TABLE credit_balances`.execute(db);
    },
  },
};
