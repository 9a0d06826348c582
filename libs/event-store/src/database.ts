import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect } from 'kysely';
import { Pool, types, type PoolClient } from 'pg';
import { PGliteThread } from './pglite-thread';
import { PGliteThreadDialect } from './pglite-thread-dialect';
import { PREPARED } from './prepared';

// int8 columns (positions) arrive as strings from pg; we convert where we read them.
types.setTypeParser(types.builtins.INT8, (value: string) => value);

export type DatabaseConfig =
  | { driver: 'postgres'; url: string; poolSize?: number }
  /** `dataDir` undefined keeps the database in memory (tests). */
  | { driver: 'pglite'; dataDir?: string };

/**
 * `postgres://...` selects PostgreSQL through `pg`; `pglite://<folder>` or `pglite://memory` the
 * embedded PGlite. The same migrations and SQL run on both.
 */
export const parseDatabaseUrl = (url: string, poolSize?: number): DatabaseConfig => {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return poolSize === undefined ? { driver: 'postgres', url } : { driver: 'postgres', url, poolSize };
  }
  if (url.startsWith('pglite://')) {
    const location = url.slice('pglite://'.length);
    return location === '' || location === 'memory' ? { driver: 'pglite' } : { driver: 'pglite', dataDir: location };
  }
  throw new Error(`DATABASE_URL must start with postgres://, postgresql:// or pglite://, got "${url}"`);
};

export { PREPARED } from './prepared';

const preparing = Symbol('preparing');

/** Statement names by text: hashing the text on every call cost 0.7 % of a busy service's CPU. */
const statementNames = new Map<string, string>();
const STATEMENT_NAMES_KEPT = 1_000;

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `sy_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (statementNames.size >= STATEMENT_NAMES_KEPT) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

function prepareMarkedStatements(client: PoolClient & { [preparing]?: true }): void {
  if (client[preparing]) return;
  client[preparing] = true;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (text: unknown, ...rest: unknown[]) => {
    if (typeof text === 'string' && text.startsWith(PREPARED) && Array.isArray(rest[0])) {
      return query({ name: statementName(text), text, values: rest[0] }, ...rest.slice(1));
    }
    return query(text, ...rest);
  };
}

export async function openDatabase<DB>(config: DatabaseConfig): Promise<Kysely<DB>> {
  if (config.driver === 'postgres') {
    const pool = new Pool({ connectionString: config.url, max: config.poolSize ?? 10 });
    // An idle client dropped by the server (restart, failover) is discarded by the pool and replaced
    // on next use; without a listener that error would crash the process.
    pool.on('error', () => undefined);
    pool.on('connect', prepareMarkedStatements);
    return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  }
  if (config.dataDir !== undefined) mkdirSync(config.dataDir, { recursive: true });
  const thread = await PGliteThread.start(config.dataDir);
  return new Kysely<DB>({ dialect: new PGliteThreadDialect(thread) });
}
