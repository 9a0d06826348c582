import { sql, type Kysely } from 'kysely';
import { openDatabase, PREPARED } from './database';

describe('PGlite with statements marked PREPARED', () => {
  let db: Kysely<unknown>;

  beforeAll(async () => {
    db = await openDatabase<unknown>({ driver: 'pglite' });
    await sql`CREATE TABLE things (id text PRIMARY KEY, n int8 NOT NULL, doc jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())`.execute(db);
  });
  afterAll(() => db.destroy());

  const insert = (id: string, n: number, doc: unknown) =>
    sql`${sql.raw(PREPARED)} INSERT INTO things (id, n, doc) VALUES (${id}, ${n}, ${JSON.stringify(doc)}::jsonb)`.execute(db);
  const byIds = (ids: string[], prepared: boolean) =>
    sql<{ id: string; n: number; doc: unknown; at: Date }>`${sql.raw(prepared ? PREPARED : '')}
      SELECT id, n, doc, at FROM things WHERE id = ANY(${ids}::text[]) ORDER BY id`.execute(db);
  const preparedStatements = async () =>
    (await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(db)).rows.map((row) => row.statement);

  it('parses each marked text once, and answers exactly as an unmarked statement does', async () => {
    await insert('a', 1, { x: [1, 'two'] });
    await insert('b', 2, { y: null });
    const update = await sql`${sql.raw(PREPARED)} UPDATE things SET n = n + ${10} WHERE id = ANY(${['a', 'b']}::text[])`.execute(db);
    expect(update.numAffectedRows).toBe(2n);

    const prepared = await byIds(['a', 'b', 'c'], true);
    const again = await byIds(['b'], true);
    const plain = await byIds(['a', 'b', 'c'], false);
    expect(prepared.rows).toEqual(plain.rows);
    expect(prepared.rows.map(({ id, n, doc }) => [id, n, doc])).toEqual([
      ['a', 11, { x: [1, 'two'] }],
      ['b', 12, { y: null }],
    ]);
    // A Date, though not of jest's realm: rows cross from the database's thread by structured clone.
    expect(Object.prototype.toString.call(prepared.rows[0]?.at)).toBe('[object Date]');
    expect(again.rows.map((row) => row.id)).toEqual(['b']);
    // The insert, the update and the select: one named statement each, however often they ran.
    expect((await preparedStatements()).filter((statement) => statement.startsWith(PREPARED))).toHaveLength(3);
  });

  it('answers a failing marked statement with the database error and stays usable, in and out of a transaction', async () => {
    await insert('dup', 1, {});
    await expect(insert('dup', 2, {})).rejects.toMatchObject({ code: '23505' });
    await expect(
      db.transaction().execute(async (tx) => {
        await sql`${sql.raw(PREPARED)} INSERT INTO things (id, n, doc) VALUES (${'in-tx'}, ${1}, ${'{}'}::jsonb)`.execute(tx);
        await sql`${sql.raw(PREPARED)} INSERT INTO things (id, n, doc) VALUES (${'dup'}, ${1}, ${'{}'}::jsonb)`.execute(tx);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect((await byIds(['dup', 'in-tx'], true)).rows.map(({ id, n }) => [id, n])).toEqual([['dup', 1]]);
  });
});
