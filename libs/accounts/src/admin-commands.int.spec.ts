import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '@switchyard/event-store/testing';
import { AccountsStore } from './accounts-store';
import { runAdminCommand } from './admin-commands';
import { accountsMigrations } from './migrations';
import type { AccountsTables } from './schema';

describe.each(TEST_BACKENDS)('admin commands on %s', (backend) => {
  let database: TestDatabase<AccountsTables>;
  let store: AccountsStore;
  const admin = (...argv: string[]) => runAdminCommand(store, argv);

  beforeAll(async () => {
    database = await createTestDatabase<AccountsTables>(backend, 'accounts_admin', accountsMigrations);
    store = new AccountsStore(database.db);
  });
  afterAll(() => database.dispose());

  it('creates an organization, a user and a key that authenticates, then revokes it', async () => {
    expect(await admin('org:create', 'acme')).toEqual({ exitCode: 0, output: expect.stringMatching(/^created organization acme \(org_\w+\)$/) });
    expect((await admin('user:create', 'acme', 'carol', 'curator')).output).toMatch(/^created user carol \(usr_\w+\) of acme as curator$/);
    const created = await admin('key:create', 'acme', 'carol', 'ci runner');
    expect(created.exitCode).toBe(0);
    const [notice, key = ''] = created.output.split('\n');
    expect(notice).toMatch(/shown only now/);
    const principal = await store.authenticate(key);
    expect(principal).toMatchObject({ role: 'curator', orgId: (await store.findOrganizationByName('acme'))?.id });
    expect(await admin('key:revoke', principal?.keyId ?? '')).toEqual({ exitCode: 0, output: `revoked API key ${principal?.keyId}` });
    expect(await store.authenticate(key)).toBeNull();
  });

  it('lists organizations and the users of one', async () => {
    await admin('org:create', 'zeta');
    await admin('user:create', 'zeta', 'zed', 'member');
    await admin('user:create', 'zeta', 'amy', 'admin');
    const orgs = (await admin('orgs')).output.split('\n');
    expect(orgs[0]).toMatch(/^ID\s+NAME\s+CREATED$/);
    expect(orgs.slice(1).map((line) => line.split(/\s+/)[1])).toEqual(['acme', 'zeta']);
    const users = (await admin('users', 'zeta')).output.split('\n');
    expect(users.slice(1).map((line) => line.split(/\s+/).slice(1, 3))).toEqual([['amy', 'admin'], ['zed', 'member']]);
  });

  it.each([
    [['org:create', 'acme'], 'organization "acme" already exists'],
    [['org:create', 'Not Valid'], 'is not valid'],
    [['user:create', 'acme', 'dave', 'owner'], 'role "owner" is not one of member, curator, admin'],
    [['user:create', 'nowhere', 'dave', 'member'], 'no organization named "nowhere"'],
    [['key:create', 'acme', 'nobody'], 'no user named "nobody" in organization "acme"'],
    [['key:revoke', 'nosuchkey000'], 'no API key with id "nosuchkey000"'],
    [['users', 'nowhere'], 'no organization named "nowhere"'],
  ])('refuses %j with exit code 1', async (argv, message) => {
    const result = await admin(...argv);
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/^error: /);
    expect(result.output).toContain(message);
  });
});
