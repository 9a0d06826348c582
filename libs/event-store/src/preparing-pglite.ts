import { parse, type PGlite, protocol, type Results } from '@electric-sql/pglite';
import { PREPARED } from './prepared';

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
