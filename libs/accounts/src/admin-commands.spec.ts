import type { AccountsStore } from './accounts-store';
import { adminUsage, parseAdminCommand, runAdminCommand, type AdminCommand } from './admin-commands';

// Parsing needs no database: a store that fails if touched proves it.
const untouchable = new Proxy({}, { get: () => { throw new Error('the store was used'); } }) as AccountsStore;

describe('admin command line', () => {
  it('prints the usage for help, with exit code 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['org:create', '--help']]) {
      const result = await runAdminCommand(untouchable, argv);
      expect(result).toEqual({ exitCode: 0, output: adminUsage() });
    }
    expect(adminUsage()).toContain('key:create <org> <user> [label]');
  });

  it.each([
    ['no command', [], 'no command given'],
    ['an unknown command', ['org:delete', 'x'], 'unknown command "org:delete"'],
    ['too few arguments', ['user:create', 'acme', 'alice'], 'usage: admin user:create <org> <name> <role>'],
    ['too many arguments', ['orgs', 'extra'], 'usage: admin orgs'],
    ['an unknown option', ['orgs', '--json'], "Unknown option '--json'"],
  ])('answers %s with exit code 2 and the usage', async (_case, argv, message) => {
    const result = await runAdminCommand(untouchable, argv);
    expect(result.exitCode).toBe(2);
    expect(result.output).toContain(message);
    expect(result.output).toContain('usage: admin <command>');
  });

  it('accepts an optional argument and commands added beside its own', async () => {
    expect(parseAdminCommand(['key:create', 'acme', 'alice']).kind).toBe('run');
    expect(parseAdminCommand(['key:create', 'acme', 'alice', 'ci']).kind).toBe('run');
    const extra: Record<string, AdminCommand> = {
      'credits:grant': { args: '<org> <amount>', summary: 'grant credits', run: async ([org, amount]) => `granted ${amount} to ${org}` },
    };
    expect(await runAdminCommand(untouchable, ['credits:grant', 'acme', '10'], extra)).toEqual({ exitCode: 0, output: 'granted 10 to acme' });
  });
});
