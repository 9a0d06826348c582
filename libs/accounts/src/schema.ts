import type { ColumnType } from 'kysely';
import type { Role } from '@switchyard/contracts';

export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface UsersTable {
  id: string;
  org_id: string;
  name: string;
  role: Role;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface ApiKeysTable {
  /** The public key id, the `<keyId>` of `sy_<keyId>_<secret>`. */
  id: string;
  org_id: string;
  user_id: string;
  /** SHA-256 of the secret; pg gives a Buffer, PGlite a Uint8Array. */
  secret_hash: ColumnType<Uint8Array, Uint8Array, never>;
  label: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  last_used_at: ColumnType<Date | null, never, Date>;
  revoked_at: ColumnType<Date | null, never, Date>;
}

export interface AccountsTables {
  organizations: OrganizationsTable;
  users: UsersTable;
  api_keys: ApiKeysTable;
}
