import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { PGliteThread } from './pglite-thread';

/** A statement to send, waiting its turn; `opens`: the connection whose transaction it begins. */
interface Waiting {
  send(): void;
  opens?: ThreadConnection;
}

/**
 * The one session of the embedded database, shared by every Kysely connection. The thread runs
 * statements in the order they were sent, so a statement outside a transaction goes out at once,
 * behind those already sent, rather than waiting until their answers are back: the thread runs
 * them back to back. A transaction holds the session from its BEGIN to its COMMIT or ROLLBACK;
 * what other connections send meanwhile waits, in the order sent, and goes out when it ends. What a
 * connection sets for the session (SET, PREPARE) holds for all of them, as it always did here.
 */
class PGliteThreadDriver implements Driver {
  /** The connection whose transaction holds the session. */
  private holder: ThreadConnection | undefined;
  private readonly waiting: Waiting[] = [];

  constructor(private readonly thread: PGliteThread) {}

  /** The thread is started before the dialect is made: nothing to do. */
  init(): Promise<void> {
    return Promise.resolve();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new ThreadConnection(this);
  }

  /** A connection holds nothing of its own: the session is given up by COMMIT or ROLLBACK. */
  releaseConnection(): Promise<void> {
    return Promise.resolve();
  }

  /** Runs `query` for `connection`: at once inside its own transaction, else in its turn. */
  run(connection: ThreadConnection, query: CompiledQuery): Promise<QueryResult<unknown>> {
    return this.holder === connection ? this.send(query) : this.sendInTurn(query);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const opens = connection as ThreadConnection;
    // Kysely rolls back only a transaction that began: one that did not must not keep the session.
    await this.sendInTurn(CompiledQuery.raw(beginStatement(settings)), opens).catch((error: unknown) => {
      this.end(opens);
      throw error;
    });
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.finish(connection as ThreadConnection, CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await this.finish(connection as ThreadConnection, CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    await this.thread.close();
  }

  /** Sends the transaction's last statement; what waited goes out right behind it. */
  private finish(connection: ThreadConnection, query: CompiledQuery): Promise<QueryResult<unknown>> {
    const sent = this.send(query);
    this.end(connection);
    return sent;
  }

  /**
   * Sends `query` now when no transaction holds the session, else once the transactions ahead of it
   * have ended; `opens`: it begins that connection's transaction, which then holds the session.
   */
  private sendInTurn(query: CompiledQuery, opens?: ThreadConnection): Promise<QueryResult<unknown>> {
    return new Promise((resolve, reject) => {
      const send = (): void => void this.send(query).then(resolve, reject);
      // Nothing waits while no transaction holds the session: end() sends it all, up to the next.
      if (this.holder !== undefined) {
        this.waiting.push(opens ? { send, opens } : { send });
        return;
      }
      this.holder = opens;
      send();
    });
  }

  /** The session is free of `connection`'s transaction: send what waited, up to the next transaction. */
  private end(connection: ThreadConnection): void {
    if (this.holder !== connection) return;
    this.holder = undefined;
    while (this.holder === undefined) {
      const next = this.waiting.shift();
      if (!next) return;
      if (next.opens) this.holder = next.opens;
      next.send();
    }
  }

  private async send(query: CompiledQuery): Promise<QueryResult<unknown>> {
    const result = await this.thread.query(query.sql, [...query.parameters]);
    return result.affectedRows ? { rows: result.rows, numAffectedRows: BigInt(result.affectedRows) } : { rows: result.rows };
  }
}

const beginStatement = ({ isolationLevel, accessMode }: TransactionSettings): string => {
  if (!isolationLevel && !accessMode) return 'begin';
  return ['start transaction', isolationLevel && `isolation level ${isolationLevel}`, accessMode].filter(Boolean).join(' ');
};

class ThreadConnection implements DatabaseConnection {
  constructor(private readonly driver: PGliteThreadDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.run(this, query) as Promise<QueryResult<R>>;
  }

  /** The rows come back whole from the thread; they are handed out `chunkSize` at a time. */
  async *streamQuery<R>(query: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunkSize must be a whole number above 0, got ${chunkSize}`);
    const { rows } = await this.executeQuery<R>(query);
    for (let i = 0; i < rows.length; i += chunkSize) yield { rows: rows.slice(i, i + chunkSize) };
  }
}

/** Kysely's PostgreSQL dialect over the embedded database's thread (see PGliteThreadDriver). */
export class PGliteThreadDialect implements Dialect {
  constructor(private readonly thread: PGliteThread) {}

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PGliteThreadDriver(this.thread);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
