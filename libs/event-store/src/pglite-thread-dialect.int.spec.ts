import { sql, type Kysely } from 'kysely';
import { openDatabase, PREPARED } from './database';
import { holdTransaction } from './testing';

describe('the embedded database shared by every Kysely connection', () => {
  let db: Kysely<unknown>;

  beforeAll(async () => {
    db = await openDatabase<unknown>({ driver: 'pglite' });
    await sql`CREATE TABLE log (seq serial PRIMARY KEY, label text NOT NULL)`.execute(db);
  });
  beforeEach(() => sql`TRUNCATE log`.execute(db));
  afterAll(() => db.destroy());

  const labels = async (): Promise<string[]> => (await sql<{ label: string }>`SELECT label FROM log ORDER BY seq`.execute(db)).rows.map((row) => row.label);
  const insert = (label: string, prepared = false) =>
    (prepared ? sql`${sql.raw(PREPARED)} INSERT INTO log (label) VALUES (${label})` : sql`INSERT INTO log (label) VALUES (${label})`).execute(db);

  it('runs statements sent together in the order they were sent, prepared or not', async () => {
    // Sent without waiting for one another, behind a slow one: each arrives at the thread before the
    // one ahead has run.
    const sent = Array.from({ length: 40 }, (_, i) => `s${i}`);
    await Promise.all([sql`SELECT pg_sleep(0.05)`.execute(db), ...sent.map((label, i) => insert(label, i % 2 === 1))]);
    expect(await labels()).toEqual(sent);
  });

  /** A transaction that has written `label` and holds the session until released; then it commits, or rolls back. */
  const holdWriting = (label: string, { rollsBack = false } = {}) =>
    holdTransaction(db, { inside: (tx) => sql`INSERT INTO log (label) VALUES (${label})`.execute(tx), rollsBack });

  it('keeps what other connections send out of an open transaction, which may still roll back', async () => {
    const transaction = await holdWriting('rolled back', { rollsBack: true });
    // Sent while the transaction holds the session: inside it, both would be undone with it.
    const outside = Promise.all([insert('outside'), insert('outside, prepared', true)]);
    transaction.release();
    await expect(transaction.done).rejects.toThrow('changed its mind');
    await outside;
    expect(await labels()).toEqual(['outside', 'outside, prepared']);
  });

  it('sends what waited behind a transaction in the order it came, the next transaction included', async () => {
    const first = await holdWriting('first transaction');
    const waiting = [
      insert('sent during the first'),
      db.transaction().execute(async (tx) => {
        await sql`INSERT INTO log (label) VALUES ('second transaction')`.execute(tx);
        await sql`INSERT INTO log (label) VALUES ('second transaction, again')`.execute(tx);
      }),
      insert('sent after the second began'),
    ];
    first.release();
    await Promise.all([first.done, ...waiting]);
    expect(await labels()).toEqual([
      'first transaction',
      'sent during the first',
      'second transaction',
      'second transaction, again',
      'sent after the second began',
    ]);
  });

  it('frees the session when a transaction fails, for what comes next', async () => {
    await expect(
      db.transaction().execute(async (tx) => {
        await sql`INSERT INTO log (label) VALUES ('undone')`.execute(tx);
        await sql`SELECT no_such_column FROM log`.execute(tx);
      }),
    ).rejects.toThrow(/no_such_column/);
    await insert('after');
    expect(await labels()).toEqual(['after']);
  });

  it('streams a result in chunks, and refuses a chunk of no rows', async () => {
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((label) => insert(label)));
    const log = (db as Kysely<{ log: { seq: number; label: string } }>).selectFrom('log').select('label').orderBy('seq');
    const streamed: string[] = [];
    for await (const row of log.stream(2)) streamed.push(row.label);
    expect(streamed).toEqual(['a', 'b', 'c', 'd', 'e']);
    await expect(log.stream(0).next()).rejects.toThrow(RangeError);
  });
});
