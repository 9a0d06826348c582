import type { Kysely } from 'kysely';
import { DomainError, ROLES, type Principal, type Role } from '@switchyard/contracts';
import {
  generateApiKey,
  hashSecret,
  isAcceptableBootstrapKey,
  keyLookupOf,
  MAX_PRESENTED_KEY_LENGTH,
  MIN_BOOTSTRAP_KEY_LENGTH,
  randomAlphanumerics,
  secretMatches,
  verifySecret,
} from './api-key';
import type { AccountsTables } from './schema';

export interface Organization {
  id: string;
  name: string;
  createdAt: Date;
}

export interface User {
  id: string;
  orgId: string;
  name: string;
  role: Role;
  createdAt: Date;
}

export interface CreatedApiKey {
  id: string;
  /** The plaintext key: shown once, stored only as a hash. */
  key: string;
}

export interface BootstrapAdmin {
  orgId: string;
  userId: string;
  keyId: string;
  /** False when this key was already there (a restart with the same key). */
  keyAdded: boolean;
  /** An operator revoked this key earlier; it stays revoked and does not authenticate. */
  keyRevoked: boolean;
}

export interface AccountsStoreOptions {
  now?: () => Date;
  /** How a stored hash is compared with a presented secret; tests inject a spy to see every comparison. */
  secretMatches?: (hash: Uint8Array, secret: string) => boolean;
}

export const BOOTSTRAP_ORGANIZATION = 'default';
export const BOOTSTRAP_USER = 'admin';
const BOOTSTRAP_LABEL = 'bootstrap';
/** `last_used_at` is written at most this often per key, so authenticating stays one read. */
export const LAST_USED_RESOLUTION_MS = 60_000;
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MAX_LABEL_LENGTH = 200;

const isRole = (role: string): role is Role => (ROLES as readonly string[]).includes(role);

function validName(kind: 'organization' | 'user', name: string): string {
  if (!NAME.test(name)) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `${kind} name "${name.slice(0, 80)}" is not valid: 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit`,
      { field: 'name' },
    );
  }
  return name;
}

const newId = (prefix: 'org' | 'usr'): string => `${prefix}_${randomAlphanumerics(16)}`;

const toOrganization = (row: { id: string; name: string; created_at: Date }): Organization => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
});

const toUser = (row: { id: string; org_id: string; name: string; role: Role; created_at: Date }): User => ({
  id: row.id,
  orgId: row.org_id,
  name: row.name,
  role: row.role,
  createdAt: row.created_at,
});

/** Organizations, their users and the users' API keys; the one place a presented key is resolved. */
export class AccountsStore {
  private readonly now: () => Date;
  private readonly secretMatches: (hash: Uint8Array, secret: string) => boolean;

  constructor(
    private readonly db: Kysely<AccountsTables>,
    options: AccountsStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.secretMatches = options.secretMatches ?? secretMatches;
  }

  async createOrganization(name: string): Promise<Organization> {
    const row = await this.db
      .insertInto('organizations')
      .values({ id: newId('org'), name: validName('organization', name), created_at: this.now() })
      .onConflict((conflict) => conflict.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new DomainError('VALIDATION_FAILED', `organization "${name}" already exists`, { field: 'name' });
    return toOrganization(row);
  }

  async findOrganizationByName(name: string): Promise<Organization | null> {
    const row = await this.db.selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toOrganization(row) : null;
  }

  async listOrganizations(): Promise<Organization[]> {
    const rows = await this.db.selectFrom('organizations').selectAll().orderBy('name').execute();
    return rows.map(toOrganization);
  }

  async createUser(orgId: string, name: string, role: string): Promise<User> {
    if (!isRole(role)) {
      throw new DomainError('VALIDATION_FAILED', `role "${role.slice(0, 80)}" is not one of ${ROLES.join(', ')}`, { field: 'role' });
    }
    validName('user', name);
    const organization = await this.db.selectFrom('organizations').select('id').where('id', '=', orgId).executeTakeFirst();
    if (!organization) throw new DomainError('NOT_FOUND', `no organization with id "${orgId}"`);
    const row = await this.db
      .insertInto('users')
      .values({ id: newId('usr'), org_id: orgId, name, role, created_at: this.now() })
      .onConflict((conflict) => conflict.columns(['org_id', 'name']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new DomainError('VALIDATION_FAILED', `user "${name}" already exists in this organization`, { field: 'name' });
    return toUser(row);
  }

  async findUserByName(orgId: string, name: string): Promise<User | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async listUsers(orgId: string): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().where('org_id', '=', orgId).orderBy('name').execute();
    return rows.map(toUser);
  }

  async hasAdmin(): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('id').where('role', '=', 'admin').limit(1).executeTakeFirst();
    return row !== undefined;
  }

  async createApiKey(userId: string, label?: string): Promise<CreatedApiKey> {
    if (label !== undefined && (label.trim() === '' || label.length > MAX_LABEL_LENGTH)) {
      throw new DomainError('VALIDATION_FAILED', `a key label has 1 to ${MAX_LABEL_LENGTH} characters`, { field: 'label' });
    }
    const user = await this.db.selectFrom('users').select(['id', 'org_id']).where('id', '=', userId).executeTakeFirst();
    if (!user) throw new DomainError('NOT_FOUND', `no user with id "${userId}"`);
    const { keyId, secret, key } = generateApiKey();
    await this.db
      .insertInto('api_keys')
      .values({
        id: keyId,
        org_id: user.org_id,
        user_id: user.id,
        secret_hash: hashSecret(secret),
        label: label ?? null,
        created_at: this.now(),
      })
      .execute();
    return { id: keyId, key };
  }

  /** Idempotent: revoking a revoked key keeps its first revocation time. */
  async revokeApiKey(id: string): Promise<void> {
    const { numUpdatedRows } = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: this.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (numUpdatedRows > 0n) return;
    const existing = await this.db.selectFrom('api_keys').select('id').where('id', '=', id).executeTakeFirst();
    if (!existing) throw new DomainError('NOT_FOUND', `no API key with id "${id}"`);
  }

  /** The principal a presented key stands for; null for a malformed, unknown, wrong or revoked key. */
  async authenticate(presentedKey: string): Promise<Principal | null> {
    // A malformed key is refused before any lookup: the time taken reveals its format, never which ids exist.
    const lookup = keyLookupOf(presentedKey);
    if (!lookup) return null;
    const row = await this.db
      .selectFrom('api_keys')
      .innerJoin('users', 'users.id', 'api_keys.user_id')
      .select([
        'api_keys.id as key_id',
        'api_keys.secret_hash',
        'api_keys.revoked_at',
        'api_keys.last_used_at',
        'users.id as user_id',
        'users.org_id',
        'users.role',
      ])
      .where('api_keys.id', '=', lookup.keyId)
      .executeTakeFirst();
    // Compared even when the key is unknown or revoked, so every looked-up key costs the same.
    const secretValid = verifySecret(row?.secret_hash, lookup.secret, this.secretMatches);
    if (!row || !secretValid || row.revoked_at !== null) return null;
    await this.recordUse(row.key_id, row.last_used_at);
    return { orgId: row.org_id, userId: row.user_id, role: row.role, keyId: row.key_id };
  }

  private async recordUse(keyId: string, lastUsedAt: Date | null): Promise<void> {
    const now = this.now();
    const staleBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
    if (lastUsedAt !== null && lastUsedAt > staleBefore) return;
    // Conditional, so concurrent requests on one key write it once.
    await this.db
      .updateTable('api_keys')
      .set({ last_used_at: now })
      .where('id', '=', keyId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', staleBefore)]))
      .execute();
  }

  /** A fresh key in the issued format, for the embedded mode's first start. */
  generateBootstrapKey(): string {
    return generateApiKey().key;
  }

  /**
   * Makes `key` an API key of user `admin` (role admin) of organization `default`, creating both if
   * absent. Idempotent; a different key on a later start is added beside the earlier ones. A key in
   * the issued format is stored as issued keys are; any other string of 24 to 256 printable
   * characters under an id derived from it (see `keyLookupOf`), so `authenticate` finds either.
   */
  async ensureBootstrapAdmin(key: string): Promise<BootstrapAdmin> {
    const lookup = isAcceptableBootstrapKey(key) ? keyLookupOf(key) : null;
    if (!lookup) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `the bootstrap key must be ${MIN_BOOTSTRAP_KEY_LENGTH} to ${MAX_PRESENTED_KEY_LENGTH} printable ASCII characters without spaces`,
        { field: 'SWITCHYARD_BOOTSTRAP_KEY' },
      );
    }
    return this.db.transaction().execute(async (trx) => {
      // ON CONFLICT DO NOTHING and a re-read: replicas starting together create each row once.
      await trx
        .insertInto('organizations')
        .values({ id: newId('org'), name: BOOTSTRAP_ORGANIZATION, created_at: this.now() })
        .onConflict((conflict) => conflict.column('name').doNothing())
        .execute();
      const organization = await trx
        .selectFrom('organizations')
        .select('id')
        .where('name', '=', BOOTSTRAP_ORGANIZATION)
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('users')
        .values({ id: newId('usr'), org_id: organization.id, name: BOOTSTRAP_USER, role: 'admin', created_at: this.now() })
        .onConflict((conflict) => conflict.columns(['org_id', 'name']).doNothing())
        .execute();
      const user = await trx
        .selectFrom('users')
        .select(['id', 'role'])
        .where('org_id', '=', organization.id)
        .where('name', '=', BOOTSTRAP_USER)
        .executeTakeFirstOrThrow();
      if (user.role !== 'admin') {
        throw new DomainError(
          'VALIDATION_FAILED',
          `user "${BOOTSTRAP_USER}" of organization "${BOOTSTRAP_ORGANIZATION}" exists with role ${user.role}; the bootstrap key must belong to an admin`,
        );
      }
      const added = await trx
        .insertInto('api_keys')
        .values({
          id: lookup.keyId,
          org_id: organization.id,
          user_id: user.id,
          secret_hash: hashSecret(lookup.secret),
          label: BOOTSTRAP_LABEL,
          created_at: this.now(),
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      let keyRevoked = false;
      if (!added) {
        const existing = await trx
          .selectFrom('api_keys')
          .select(['user_id', 'secret_hash', 'revoked_at'])
          .where('id', '=', lookup.keyId)
          .executeTakeFirstOrThrow();
        if (existing.user_id !== user.id || !secretMatches(existing.secret_hash, lookup.secret)) {
          throw new DomainError('VALIDATION_FAILED', 'the bootstrap key collides with another key id; choose another key');
        }
        keyRevoked = existing.revoked_at !== null;
      }
      return { orgId: organization.id, userId: user.id, keyId: lookup.keyId, keyAdded: added !== undefined, keyRevoked };
    });
  }
}
