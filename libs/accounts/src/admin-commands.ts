import { parseArgs } from 'node:util';
import { DomainError, isDomainError, ROLES } from '@switchyard/contracts';
import type { AccountsStore, Organization, User } from './accounts-store';

/** 0 done, 1 refused by the domain (not found, not valid), 2 not understood (usage). */
export type AdminExitCode = 0 | 1 | 2;

export interface AdminCommandResult {
  exitCode: AdminExitCode;
  /** For stdout when the exit code is 0, for stderr otherwise. */
  output: string;
}

export interface AdminCommand {
  /** Its arguments as the usage text shows them: `<required>` and `[optional]`, e.g. `<org> <user> [label]`. */
  args: string;
  summary: string;
  run(args: readonly string[], store: AccountsStore): Promise<string>;
}

async function organizationNamed(store: AccountsStore, name: string): Promise<Organization> {
  const organization = await store.findOrganizationByName(name);
  if (!organization) throw new DomainError('NOT_FOUND', `no organization named "${name}"`);
  return organization;
}

async function userNamed(store: AccountsStore, organization: Organization, name: string): Promise<User> {
  const user = await store.findUserByName(organization.id, name);
  if (!user) throw new DomainError('NOT_FOUND', `no user named "${name}" in organization "${organization.name}"`);
  return user;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** What operators run against the accounts; the admin CLI (tools/admin) may add its own beside these. */
export const ACCOUNTS_ADMIN_COMMANDS: Readonly<Record<string, AdminCommand>> = {
  'org:create': {
    args: '<name>',
    summary: 'create an organization',
    async run([name = ''], store) {
      const organization = await store.createOrganization(name);
      return `created organization ${organization.name} (${organization.id})`;
    },
  },
  'user:create': {
    args: '<org> <name> <role>',
    summary: `create a user of an organization; role: ${ROLES.join(' | ')}`,
    async run([orgName = '', name = '', role = ''], store) {
      const organization = await organizationNamed(store, orgName);
      const user = await store.createUser(organization.id, name, role);
      return `created user ${user.name} (${user.id}) of ${organization.name} as ${user.role}`;
    },
  },
  'key:create': {
    args: '<org> <user> [label]',
    summary: 'create an API key for a user and print it once',
    async run([orgName = '', userName = '', label], store) {
      const organization = await organizationNamed(store, orgName);
      const user = await userNamed(store, organization, userName);
      const { id, key } = await store.createApiKey(user.id, label);
      return [
        `created API key ${id} for ${user.name} of ${organization.name}; it is shown only now (only its hash is kept):`,
        key,
      ].join('\n');
    },
  },
  'key:revoke': {
    args: '<keyId>',
    summary: 'revoke an API key (the id is the part between "sy_" and the next "_")',
    async run([keyId = ''], store) {
      await store.revokeApiKey(keyId);
      return `revoked API key ${keyId}`;
    },
  },
  orgs: {
    args: '',
    summary: 'list the organizations',
    async run(_args, store) {
      const organizations = await store.listOrganizations();
      return table(['ID', 'NAME', 'CREATED'], organizations.map((o) => [o.id, o.name, o.createdAt.toISOString()]));
    },
  },
  users: {
    args: '<org>',
    summary: 'list the users of an organization',
    async run([orgName = ''], store) {
      const organization = await organizationNamed(store, orgName);
      const users = await store.listUsers(organization.id);
      return table(['ID', 'NAME', 'ROLE', 'CREATED'], users.map((u) => [u.id, u.name, u.role, u.createdAt.toISOString()]));
    },
  },
};

export function adminUsage(commands: Readonly<Record<string, AdminCommand>> = ACCOUNTS_ADMIN_COMMANDS): string {
  const synopses = Object.entries(commands).map(([name, command]) => [`${name} ${command.args}`.trimEnd(), command.summary]);
  const width = Math.max(...synopses.map(([synopsis]) => (synopsis ?? '').length));
  return [
    'usage: admin <command> [arguments]',
    '',
    'commands:',
    ...synopses.map(([synopsis = '', summary = '']) => `  ${synopsis.padEnd(width)}  ${summary}`),
    '',
    'The database is DATABASE_URL (postgres://... or pglite://<folder>; default pglite://./data/switchyard).',
    'Exit codes: 0 done, 1 refused (not found, not valid), 2 usage.',
  ].join('\n');
}

const arity = (args: string): { min: number; max: number } => {
  const required = args.match(/<[^>]+>/g)?.length ?? 0;
  return { min: required, max: required + (args.match(/\[[^\]]+\]/g)?.length ?? 0) };
};

/** A command line understood and ready to run, or the answer already (help, usage error). */
export type ParsedAdminCommand =
  | { kind: 'run'; name: string; run(store: AccountsStore): Promise<AdminCommandResult> }
  | ({ kind: 'done' } & AdminCommandResult);

const usageError = (message: string, usage: string): ParsedAdminCommand => ({
  kind: 'done',
  exitCode: 2,
  output: `${message}\n\n${usage}`,
});

/** Parses without a database, so help and usage errors need none. */
export function parseAdminCommand(
  argv: readonly string[],
  commands: Readonly<Record<string, AdminCommand>> = ACCOUNTS_ADMIN_COMMANDS,
): ParsedAdminCommand {
  const usage = adminUsage(commands);
  let parsed: { values: { help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error), usage);
  }
  const [name, ...args] = parsed.positionals;
  if (parsed.values.help || name === 'help') return { kind: 'done', exitCode: 0, output: usage };
  if (name === undefined) return usageError('no command given', usage);
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) return usageError(`unknown command "${name}"`, usage);
  const { min, max } = arity(command.args);
  if (args.length < min || args.length > max) return usageError(`usage: admin ${name} ${command.args}`.trimEnd(), usage);
  return {
    kind: 'run',
    name,
    async run(store) {
      try {
        return { exitCode: 0, output: await command.run(args, store) };
      } catch (error) {
        if (isDomainError(error)) return { exitCode: 1, output: `error: ${error.message}` };
        throw error;
      }
    },
  };
}

/** Runs one admin command line against the store; domain refusals become exit code 1, anything else throws. */
export async function runAdminCommand(
  store: AccountsStore,
  argv: readonly string[],
  commands: Readonly<Record<string, AdminCommand>> = ACCOUNTS_ADMIN_COMMANDS,
): Promise<AdminCommandResult> {
  const parsed = parseAdminCommand(argv, commands);
  if (parsed.kind === 'done') return { exitCode: parsed.exitCode, output: parsed.output };
  return parsed.run(store);
}
