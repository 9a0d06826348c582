import { sql } from 'kysely';
import { openDatabase } from '../database';

// For pglite-thread.int.spec.ts: a script that opens an embedded database in the folder given as its
// argument, writes to it, prints what it read back, and ends without closing the database. With
// `open-only` after the folder, it opens the database and does nothing more.
async function main(): Promise<void> {
  const db = await openDatabase<unknown>({ driver: 'pglite', dataDir: process.argv[2] });
  if (process.argv[3] === 'open-only') return void process.stdout.write(JSON.stringify({ opened: true }));
  await sql`CREATE TABLE IF NOT EXISTS notes (id int PRIMARY KEY, body bytea NOT NULL)`.execute(db);
  await sql`INSERT INTO notes (id, body) VALUES (1, ${Buffer.from('written before the exit')})`.execute(db);
  // Nothing else keeps this process alive while the statement is in the database's thread.
  const { rows } = await sql<{ body: Uint8Array }>`SELECT body FROM notes WHERE id = 1`.execute(db);
  process.stdout.write(JSON.stringify({ body: Buffer.from(rows[0]?.body ?? []).toString() }));
}

void main();
