import { sql, type Migration } from 'kysely';

export const accountsMigrations: Record<string, Migration> = {
  '0300_accounts': {
    async up(db) {
      await sql`
        CREATE TABLE organizations (
          id text PRIMARY KEY,
          name text NOT NULL UNIQUE,
          created_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db);
      await sql`
        CREATE TABLE users (
          id text PRIMARY KEY,
          org_id text NOT NULL REFERENCES organizations (id),
          name text NOT NULL,
          role text NOT NULL CHECK (role IN ('member', 'curator', 'admin')),
          created_at timestamptz NOT NULL DEFAULT now(),
          UNIQUE (org_id, name),
          -- Target of api_keys' composite key: a key's organization is always its user's.
          UNIQUE (id, org_id)
        )`.execute(db);
      await sql`
        CREATE TABLE api_keys (
          id text PRIMARY KEY,
          org_id text NOT NULL,
          user_id text NOT NULL,
          secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
          label text,
          created_at timestamptz NOT NULL DEFAULT now(),
          last_used_at timestamptz,
          revoked_at timestamptz,
          FOREIGN KEY (user_id, org_id) REFERENCES users (id, org_id)
        )`.execute(db);
      await sql`CREATE INDEX api_keys_user ON api_keys (user_id)`.execute(db);
      // "Is there an admin yet?" at every embedded start.
      await sql`CREATE INDEX users_admins ON users (org_id) WHERE role = 'admin'`.execute(db);
    },
    async down(db) {
      await sql`DROP TABLE api_keys`.execute(db);
      await sql`DROP TABLE users`.execute(db);
      await sql`DROP TABLE organizations`.execute(db);
    },
  },
};
