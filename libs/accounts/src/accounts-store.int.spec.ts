import { sql, type Kysely } from 'kysely';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '@switchyard/event-store/testing';
import { AccountsStore, LAST_USED_RESOLUTION_MS } from './accounts-store';
import { DUMMY_SECRET_HASH, derivedKeyId, generateApiKey, hashSecret, parseApiKey, secretMatches } from './api-key';
import { accountsMigrations } from './migrations';
import type { AccountsTables } from './schema';

const rowsOf = async (db: Kysely<AccountsTables>, table: keyof AccountsTables): Promise<number> =>
  // count(*) is a string from pg and a number from PGlite.
  Number((await db.selectFrom(table).select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

const counts = async (db: Kysely<AccountsTables>) => ({
  organizations: await rowsOf(db, 'organizations'),
  users: await rowsOf(db, 'users'),
  keys: await rowsOf(db, 'api_keys'),
});

describe.each(TEST_BACKENDS)('accounts store on %s', (backend) => {
  let database: TestDatabase<AccountsTables>;
  let store: AccountsStore;

  beforeAll(async () => {
    database = await createTestDatabase<AccountsTables>(backend, 'accounts', accountsMigrations);
    store = new AccountsStore(database.db);
  });
  afterAll(() => database.dispose());

  const userWithKey = async (orgName: string, role: 'member' | 'curator' | 'admin' = 'member') => {
    const organization = await store.createOrganization(orgName);
    const user = await store.createUser(organization.id, 'alice', role);
    const created = await store.createApiKey(user.id, 'laptop');
    return { organization, user, ...created };
  };

  it('authenticates a key it issued, as its user in its organization', async () => {
    const { organization, user, id, key } = await userWithKey('round-trip', 'curator');
    expect(organization.id).toMatch(/^org_[A-Za-z0-9]{16}$/);
    expect(user.id).toMatch(/^usr_[A-Za-z0-9]{16}$/);
    expect(parseApiKey(key)?.keyId).toBe(id);
    expect(await store.authenticate(key)).toEqual({ orgId: organization.id, userId: user.id, role: 'curator', keyId: id });
    const stored = await database.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(Buffer.from(stored.secret_hash).equals(hashSecret(parseApiKey(key)?.secret ?? ''))).toBe(true);
    expect(stored.label).toBe('laptop');
  });

  it('refuses a wrong secret, an unknown id, a revoked key and malformed keys', async () => {
    const { id, key } = await userWithKey('refusals');
    const other = generateApiKey();
    expect(await store.authenticate(`sy_${id}_${other.secret}`)).toBeNull();
    expect(await store.authenticate(other.key)).toBeNull();
    for (const malformed of ['', `sy_${id}_${'a'.repeat(10_240)}`, 'x'.repeat(10_240), `sk_${key.slice(3)}`, key.slice(0, -1), ` ${key}`]) {
      expect(await store.authenticate(malformed)).toBeNull();
    }
    expect(await store.authenticate(key)).not.toBeNull();
    await store.revokeApiKey(id);
    expect(await store.authenticate(key)).toBeNull();
    const revokedAt = (await database.db.selectFrom('api_keys').select('revoked_at').where('id', '=', id).executeTakeFirstOrThrow()).revoked_at;
    await store.revokeApiKey(id);
    expect((await database.db.selectFrom('api_keys').select('revoked_at').where('id', '=', id).executeTakeFirstOrThrow()).revoked_at).toEqual(revokedAt);
    await expect(store.revokeApiKey('nosuchkey000')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('compares a secret for unknown and revoked keys too, against the dummy hash when there is no key', async () => {
    const { id, key } = await userWithKey('constant-time');
    const compared: Uint8Array[] = [];
    const spied = new AccountsStore(database.db, {
      secretMatches: (hash, secret) => {
        compared.push(hash);
        return secretMatches(hash, secret);
      },
    });
    expect(await spied.authenticate(generateApiKey().key)).toBeNull();
    expect(await spied.authenticate('an-unknown-bootstrap-style-key-0123')).toBeNull();
    expect(compared).toEqual([DUMMY_SECRET_HASH, DUMMY_SECRET_HASH]);
    await store.revokeApiKey(id);
    expect(await spied.authenticate(key)).toBeNull();
    expect(compared).toHaveLength(3);
    expect(Buffer.from(compared[2] ?? []).equals(DUMMY_SECRET_HASH)).toBe(false);
    // A malformed key is refused before any lookup or compare.
    expect(await spied.authenticate('sy_short')).toBeNull();
    expect(compared).toHaveLength(3);
  });

  it('checks roles, names and references', async () => {
    const organization = await store.createOrganization('checks');
    await expect(store.createUser(organization.id, 'bob', 'owner')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(store.createUser(organization.id, 'Bob Smith', 'member')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(store.createUser('org_missing', 'bob', 'member')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.createOrganization('checks')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(store.createOrganization('')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(store.createOrganization('x'.repeat(65))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const bob = await store.createUser(organization.id, 'bob', 'member');
    await expect(store.createUser(organization.id, 'bob', 'curator')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(store.createApiKey('usr_missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.createApiKey(bob.id, '')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // The table refuses an unknown role even from SQL that bypasses the store.
    await expect(
      sql`INSERT INTO users (id, org_id, name, role) VALUES ('usr_raw', ${organization.id}, 'raw', 'owner')`.execute(database.db),
    ).rejects.toThrow(/check/i);
    expect(await store.findOrganizationByName('checks')).toEqual(organization);
    expect(await store.findOrganizationByName('nope')).toBeNull();
    expect(await store.findUserByName(organization.id, 'bob')).toEqual(bob);
  });

  it('keeps the users and keys of two organizations apart', async () => {
    const first = await userWithKey('apart-one');
    const second = await userWithKey('apart-two');
    expect(first.user.id).not.toBe(second.user.id);
    expect((await store.listUsers(first.organization.id)).map((u) => u.id)).toEqual([first.user.id]);
    expect((await store.listUsers(second.organization.id)).map((u) => u.id)).toEqual([second.user.id]);
    expect((await store.authenticate(first.key))?.orgId).toBe(first.organization.id);
    expect((await store.authenticate(second.key))?.orgId).toBe(second.organization.id);
    expect(await store.findUserByName(first.organization.id, 'alice')).toEqual(first.user);
    const names = (await store.listOrganizations()).map((o) => o.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['apart-one', 'apart-two']));
    // A key's organization is its user's, whatever SQL writes.
    await expect(
      database.db
        .insertInto('api_keys')
        .values({ id: 'crossedorg00', org_id: second.organization.id, user_id: first.user.id, secret_hash: hashSecret('x') })
        .execute(),
    ).rejects.toThrow(/foreign key/i);
  });

  it('writes last_used_at at most once a minute', async () => {
    let now = new Date('2026-01-01T12:00:00Z');
    const clocked = new AccountsStore(database.db, { now: () => now });
    const { id, key } = await userWithKey('last-used');
    const lastUsed = async () =>
      (await database.db.selectFrom('api_keys').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow()).last_used_at;
    expect(await lastUsed()).toBeNull();
    await clocked.authenticate(key);
    expect(await lastUsed()).toEqual(new Date('2026-01-01T12:00:00Z'));
    now = new Date(now.getTime() + LAST_USED_RESOLUTION_MS - 1_000);
    await clocked.authenticate(key);
    expect(await lastUsed()).toEqual(new Date('2026-01-01T12:00:00Z'));
    now = new Date(now.getTime() + 1_000);
    await clocked.authenticate(key);
    expect(await lastUsed()).toEqual(now);
  });
});

describe.each(TEST_BACKENDS)('bootstrap admin on %s', (backend) => {
  let database: TestDatabase<AccountsTables>;
  let store: AccountsStore;

  beforeAll(async () => {
    database = await createTestDatabase<AccountsTables>(backend, 'accounts_bootstrap', accountsMigrations);
    store = new AccountsStore(database.db);
  });
  afterAll(() => database.dispose());

  it('creates organization default and its admin once, and adds a later key beside the first', async () => {
    expect(await store.hasAdmin()).toBe(false);
    const firstKey = store.generateBootstrapKey();
    const first = await store.ensureBootstrapAdmin(firstKey);
    expect(first).toMatchObject({ keyAdded: true, keyRevoked: false, keyId: parseApiKey(firstKey)?.keyId });
    expect(await store.hasAdmin()).toBe(true);
    expect(await store.authenticate(firstKey)).toEqual({ orgId: first.orgId, userId: first.userId, role: 'admin', keyId: first.keyId });
    expect((await store.findOrganizationByName('default'))?.id).toBe(first.orgId);
    expect((await store.listUsers(first.orgId)).map((u) => [u.name, u.role])).toEqual([['admin', 'admin']]);

    const before = await counts(database.db);
    expect(await store.ensureBootstrapAdmin(firstKey)).toEqual({ ...first, keyAdded: false });
    expect(await counts(database.db)).toEqual(before);

    // An operator-chosen key, not in the issued format (like the one the e2e suites set).
    const secondKey = `sy_e2eadmin01_${'Q'.repeat(32)}`;
    const second = await store.ensureBootstrapAdmin(secondKey);
    expect(second).toMatchObject({ orgId: first.orgId, userId: first.userId, keyId: derivedKeyId(secondKey), keyAdded: true });
    expect(await counts(database.db)).toEqual({ ...before, keys: before.keys + 1 });
    expect((await store.authenticate(secondKey))?.keyId).toBe(second.keyId);
    expect((await store.authenticate(firstKey))?.keyId).toBe(first.keyId);
    expect(await store.authenticate(`${secondKey}x`)).toBeNull();
  });

  it('keeps a revoked bootstrap key revoked on the next start', async () => {
    const key = 'another-operator-chosen-key-for-this-test';
    const { keyId } = await store.ensureBootstrapAdmin(key);
    await store.revokeApiKey(keyId);
    expect(await store.ensureBootstrapAdmin(key)).toMatchObject({ keyAdded: false, keyRevoked: true });
    expect(await store.authenticate(key)).toBeNull();
  });

  it('creates each row once when processes bootstrap at the same time', async () => {
    const fresh = await createTestDatabase<AccountsTables>(backend, 'accounts_bootstrap_race', accountsMigrations);
    try {
      const replicas = [new AccountsStore(fresh.db), new AccountsStore(fresh.db), new AccountsStore(fresh.db)];
      const key = 'the-same-key-on-every-replica-0123456789';
      const results = await Promise.all(replicas.map((replica) => replica.ensureBootstrapAdmin(key)));
      expect(results.filter((result) => result.keyAdded)).toHaveLength(1);
      expect(new Set(results.map((result) => result.userId)).size).toBe(1);
      expect(await counts(fresh.db)).toEqual({ organizations: 1, users: 1, keys: 1 });
    } finally {
      await fresh.dispose();
    }
  });

  it('refuses a bootstrap key that is too short or not printable', async () => {
    for (const key of ['short', 'x'.repeat(23), `${'x'.repeat(20)} ${'x'.repeat(20)}`, 'x'.repeat(257)]) {
      await expect(store.ensureBootstrapAdmin(key)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});
