// The operators' CLI for accounts: `npx tsx --tsconfig tools/tsconfig.json tools/admin/admin.ts <command>`.
// The commands live in @switchyard/accounts (runAdminCommand, tested there); this file only wires them.
import {
  ACCOUNTS_ADMIN_COMMANDS,
  AccountsStore,
  parseAdminCommand,
  type AdminCommand,
  type AdminCommandResult,
} from '@switchyard/accounts';
import { CreditsLedger, creditsAdminCommands, creditsProjection } from '@switchyard/credits';
import { migrateToLatest, openDatabase, parseDatabaseUrl, PostgresEventStore } from '@switchyard/event-store';
import { switchyardMigrations } from '@switchyard/platform';

const DEFAULT_DATABASE_URL = 'pglite://./data/switchyard';

// Commands are parsed before the database opens; the ledger they grant through is bound after.
let ledger: CreditsLedger | undefined;
const boundLedger: Pick<CreditsLedger, 'grant'> = {
  grant: (...args) => (ledger as CreditsLedger).grant(...args),
};

/** Every command of the CLI: the accounts' and the credits' (`credits:grant <org> <amount> [reason]`). */
const COMMANDS: Readonly<Record<string, AdminCommand>> = {
  ...ACCOUNTS_ADMIN_COMMANDS,
  ...creditsAdminCommands(boundLedger),
};

function report({ exitCode, output }: AdminCommandResult): void {
  if (output !== '') (exitCode === 0 ? process.stdout : process.stderr).write(`${output}\n`);
  process.exitCode = exitCode;
}

async function main(argv: readonly string[]): Promise<void> {
  const parsed = parseAdminCommand(argv, COMMANDS);
  if (parsed.kind === 'done') return report(parsed);
  const db = await openDatabase<unknown>(parseDatabaseUrl(process.env['DATABASE_URL'] ?? DEFAULT_DATABASE_URL, 2));
  try {
    // The platform's whole history, not only the accounts' migrations: kysely refuses to migrate a
    // database whose history holds migrations it is not given, which any database the apps ran on does.
    await migrateToLatest(db, switchyardMigrations());
    ledger = new CreditsLedger(new PostgresEventStore(db as never, { projections: [creditsProjection] }), db);
    report(await parsed.run(new AccountsStore(db as never)));
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`admin: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
