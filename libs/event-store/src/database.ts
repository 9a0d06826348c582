import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect } from 'kysely';
import { parse, PGlite, protocol, type Results } from '@electric-sql/pglite';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { Pool, types, type PoolClient } from 'pg';

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

/**
 * Statements that start with this comment run as named prepared statements on PostgreSQL: parsed
 * and planned once per connection. For the store's hot statements, whose planning costs as much
 * as their execution (the append CTE runs about twice as fast prepared, measured with pgbench).
 */
export const PREPARED = '/* prepared */';

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
  const pglite = config.dataDir === undefined ? new PGlite() : new PGlite(config.dataDir);
  await pglite.waitReady;
  return new Kysely<DB>({ dialect: new PGliteDialect(new PreparingPGlite(pglite) as unknown as PGlite) });
}

type BackendMessage = Awaited<ReturnType<PGlite['execProtocolStream']>>[number];

interface PreparedStatement {
  name: string;
  parameterTypes: number[];
  /** The statement's RowDescription, which Execute does not send again; none for a statement without rows. */
  rowDescription: BackendMessage | undefined;
}

const { serialize } = protocol;

const joined = (...messages: Uint8Array[]): Uint8Array => {
  const whole = new Uint8Array(messages.reduce((size, message) => size + message.length, 0));
  let at = 0;
  for (const message of messages) {
    whole.set(message, at);
    at += message.length;
  }
  return whole;
};

/**
 * The PGlite client Kysely is given. PGlite's query() parses, describes and plans each statement
 * anew, in five calls into the database; the store's hot statements (marked PREPARED) are as
 * complex to plan as to run. Here a PREPARED statement becomes a named statement, parsed and
 * described once per text, as pg does on PostgreSQL. Each call is then one message of Bind,
 * Execute and Sync. Anything else goes to query() as before.
 */
export class PreparingPGlite {
  private readonly statements = new Map<string, PreparedStatement>();

  constructor(private readonly pglite: PGlite) {}

  query<T>(text: string, params: unknown[] = []): Promise<Results<T>> {
    if (!text.startsWith(PREPARED)) return this.pglite.query<T>(text, params);
    return this.pglite.runExclusive(() => this.execute<T>(text, params));
  }

  close(): Promise<void> {
    return this.pglite.close();
  }

  private async execute<T>(text: string, params: unknown[]): Promise<Results<T>> {
    const statement = this.statements.get(text) ?? (await this.prepare(text));
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = this.pglite.serializers[statement.parameterTypes[i] ?? 0];
      return serializer ? serializer(value) : String(value);
    });
    const results = await this.pglite.execProtocolStream(
      joined(serialize.bind({ statement: statement.name, values: values as string[] }), serialize.execute({}), serialize.sync()),
      { syncToFs: false },
    );
    await this.pglite.syncToFs();
    const messages = statement.rowDescription ? [statement.rowDescription, ...results] : results;
    return parse.parseResults(messages, this.pglite.parsers)[0] as Results<T>;
  }

  private async prepare(text: string): Promise<PreparedStatement> {
    const name = `sy_prepared_${this.statements.size + 1}`;
    const described = await this.pglite.execProtocolStream(
      joined(serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()),
      { syncToFs: false },
    );
    const statement = {
      name,
      parameterTypes: parse.parseDescribeStatementResults(described),
      rowDescription: described.find((message) => message.name === 'rowDescription'),
    };
    this.statements.set(text, statement);
    return statement;
  }
}
