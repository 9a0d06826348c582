import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql, type CompiledQuery, type Migration, type Transaction } from 'kysely';
import { Pool } from 'pg';
import { openDatabase } from '../database';
import { migrateToLatest } from '../migrations';

/** The PostgreSQL server tests use; each suite makes its own database on it. */
export const testPostgresAdminUrl = (): string =>
  process.env['SWITCHYARD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A parameter written into SQL text, for EXECUTE, which takes no parameters of its own. */
const literal = (value: unknown): string => {
  if (value === null || value === undefined) return 'NULL';
  const quoted = (text: string): string => `'${text.replace(/'/g, "''")}'`;
  if (Array.isArray(value)) return quoted(`{${value.map((item) => `"${String(item).replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
  return quoted(String(value));
};

/**
 * The plan PostgreSQL makes for `query` with its parameters, as EXPLAIN prints it; `generic`: the
 * plan for any parameters, which a prepared statement may keep after its first five runs.
 */
export async function explainPlan(db: Kysely<unknown>, query: CompiledQuery, { generic = false } = {}): Promise<string> {
  const explain = (executor: Kysely<unknown>, sqlText: string, parameters: readonly unknown[]) =>
    executor.executeQuery<{ 'QUERY PLAN': string }>({ ...query, sql: sqlText, parameters }).then(({ rows }) => rows.map((row) => row['QUERY PLAN']).join('\n'));
  if (!generic) return explain(db, `EXPLAIN ${query.sql}`, query.parameters);
  // One session: the statement, prepared, planned for no parameters in particular.
  return db.connection().execute(async (session) => {
    await sql.raw(`PREPARE explained AS ${query.sql}`).execute(session);
    try {
      await sql`SET plan_cache_mode = force_generic_plan`.execute(session);
      return await explain(session, `EXPLAIN EXECUTE explained(${query.parameters.map(literal).join(', ')})`, []);
    } finally {
      await sql`RESET plan_cache_mode`.execute(session);
      await sql`DEALLOCATE explained`.execute(session);
    }
  });
}

/**
 * What `planned` gives on `table` as loaded, before the planner has statistics on it (a young
 * database, or one whose autovacuum is off), then again after ANALYZE: a plan test holds for both.
 */
export async function beforeAndAfterAnalyze<T>(db: Kysely<unknown>, table: string, planned: () => Promise<T>): Promise<[T, T]> {
  const before = await planned();
  await sql`ANALYZE ${sql.table(table)}`.execute(db);
  return [before, await planned()];
}

/** A promise and the function that resolves it. */
const gate = (): { opened: Promise<void>; open: () => void } => {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

/**
 * A transaction on `db` that has run `inside` and then holds its connection (on the embedded
 * database, its one session) until `release` is called; `done` settles when it has committed, or
 * rolled back with `rollsBack`.
 */
export async function holdTransaction<DB>(
  db: Kysely<DB>,
  { inside, rollsBack = false }: { inside?: (tx: Transaction<DB>) => Promise<unknown>; rollsBack?: boolean } = {},
): Promise<{ release: () => void; done: Promise<void> }> {
  const released = gate();
  const begun = gate();
  const done = db.transaction().execute(async (tx) => {
    await inside?.(tx);
    begun.open();
    await released.opened;
    if (rollsBack) throw new Error('changed its mind');
  });
  await begun.opened;
  return { release: released.open, done };
}

export interface TestDatabase<DB = unknown> {
  readonly backend: 'postgres' | 'pglite';
  readonly db: Kysely<DB>;
  /** A URL another process can open (postgres only). */
  readonly url: string | undefined;
  dispose(): Promise<void>;
}

const withDatabaseName = (url: string, name: string): string => {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
};

/** A fresh PostgreSQL database, migrated, dropped on dispose: suites never share tables. */
export async function createPostgresTestDatabase<DB = unknown>(
  label: string,
  migrations: Record<string, Migration> = {},
  poolSize = 20,
): Promise<TestDatabase<DB>> {
  const name = `sy_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const adminUrl = testPostgresAdminUrl();
  const admin = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: adminUrl, max: 1 }) }) });
  await sql`CREATE DATABASE ${sql.id(name)}`.execute(admin);
  const url = withDatabaseName(adminUrl, name);
  const db = await openDatabase<DB>({ driver: 'postgres', url, poolSize });
  await migrateToLatest(db as Kysely<unknown>, migrations);
  return {
    backend: 'postgres',
    db,
    url,
    async dispose() {
      await db.destroy();
      await sql`DROP DATABASE IF EXISTS ${sql.id(name)} WITH (FORCE)`.execute(admin);
      await admin.destroy();
    },
  };
}

/** A fresh in-memory PGlite database, migrated. */
export async function createPgliteTestDatabase<DB = unknown>(
  migrations: Record<string, Migration> = {},
): Promise<TestDatabase<DB>> {
  const db = await openDatabase<DB>({ driver: 'pglite' });
  await migrateToLatest(db as Kysely<unknown>, migrations);
  return { backend: 'pglite', db, url: undefined, dispose: () => db.destroy() };
}

export type TestBackend = 'postgres' | 'pglite';
export const TEST_BACKENDS: readonly TestBackend[] = ['postgres', 'pglite'];

export const createTestDatabase = <DB = unknown>(
  backend: TestBackend,
  label: string,
  migrations: Record<string, Migration> = {},
): Promise<TestDatabase<DB>> =>
  backend === 'postgres' ? createPostgresTestDatabase<DB>(label, migrations) : createPgliteTestDatabase<DB>(migrations);

/** Resolves when `check` holds, polling; fails with `message` after `timeoutMs`. For tests. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 10, message = 'condition' }: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves once the event loop's current turn has ended, and with it what atTurnEnd scheduled in it. For tests. */
export const turnEnded = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
