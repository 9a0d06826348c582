import { accountsMigrations, AccountsStore, ACCOUNTS_ADMIN_COMMANDS, adminUsage, runAdminCommand } from '@switchyard/accounts';
import { PostgresEventStore } from '@switchyard/event-store';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '@switchyard/event-store/testing';
import { creditsAdminCommands } from './admin-commands';
import { creditsProjection } from './credits-projection';
import { CreditsLedger } from './ledger';
import { creditsMigrations } from './migrations';

describe.each(TEST_BACKENDS)('credits admin commands on %s', (backend) => {
  let database: TestDatabase;
  let accounts: AccountsStore;
  let ledger: CreditsLedger;
  let commands: ReturnType<typeof creditsAdminCommands>;
  const admin = (...argv: string[]) => runAdminCommand(accounts, argv, { ...ACCOUNTS_ADMIN_COMMANDS, ...commands });

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'credits_admin', { ...accountsMigrations, ...creditsMigrations });
    accounts = new AccountsStore(database.db as never);
    ledger = new CreditsLedger(new PostgresEventStore(database.db as never, { projections: [creditsProjection] }), database.db);
    commands = creditsAdminCommands(ledger);
  });
  afterAll(() => database.dispose());

  it('grants credits to an organization found by name', async () => {
    await admin('org:create', 'acme');
    const acme = await accounts.findOrganizationByName('acme');
    expect(await admin('credits:grant', 'acme', '100', 'welcome')).toEqual({
      exitCode: 0,
      output: `granted 100 credits to acme (${acme?.id}); balance 100`,
    });
    expect((await admin('credits:grant', 'acme', '5')).output).toMatch(/balance 105$/);
    expect(await ledger.ledger(acme?.id as string)).toEqual([
      { type: 'CreditsGranted', amount: 100, by: 'admin-cli', reason: 'welcome', at: expect.any(String), version: 1 },
      { type: 'CreditsGranted', amount: 5, by: 'admin-cli', at: expect.any(String), version: 2 },
    ]);
  });

  it.each([
    ['an unknown organization', ['nobody', '5'], 'no organization named "nobody"'],
    ['a zero amount', ['acme', '0'], 'amount must be a whole number'],
    ['a fractional amount', ['acme', '1.5'], 'amount must be a whole number'],
    ['an exponent', ['acme', '1e3'], 'amount must be a whole number'],
    ['too large an amount', ['acme', '1000000001'], 'amount must be a whole number'],
    ['too long a reason', ['acme', '5', 'x'.repeat(201)], 'reason at most 200 characters'],
  ])('refuses %s with exit code 1', async (_case, args, message) => {
    const result = await admin('credits:grant', ...args);
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain(message);
    expect((await ledger.balance((await accounts.findOrganizationByName('acme'))?.id as string)).balance).toBe(105);
  });

  it('answers a wrong number of arguments with exit code 2, and lists the command in the usage', async () => {
    expect((await admin('credits:grant', 'acme')).exitCode).toBe(2);
    expect((await admin('credits:grant', 'acme', '1', 'why', 'extra')).exitCode).toBe(2);
    expect(adminUsage({ ...ACCOUNTS_ADMIN_COMMANDS, ...commands })).toContain('credits:grant <org> <amount> [reason]');
  });
});
