import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { openDatabase } from './database';

const run = promisify(execFile);
const workspaceRoot = join(__dirname, '..', '..', '..');

describe('the embedded database in its own thread', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-pglite-thread-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('carries bytes both ways and keeps what was written once closed and opened again', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const first = await openDatabase<unknown>({ driver: 'pglite', dataDir });
    await sql`CREATE TABLE blobs (id int PRIMARY KEY, bytes bytea NOT NULL)`.execute(first);
    await sql`INSERT INTO blobs (id, bytes) VALUES (1, ${bytes})`.execute(first);
    await first.destroy();

    const again = await openDatabase<unknown>({ driver: 'pglite', dataDir });
    try {
      const { rows } = await sql<{ bytes: Uint8Array }>`SELECT bytes FROM blobs WHERE id = 1`.execute(again);
      expect(Buffer.from(rows[0]?.bytes ?? []).equals(bytes)).toBe(true);
    } finally {
      await again.destroy();
    }
  });

  it('rejects a parameter that cannot cross to the thread, and goes on', async () => {
    const db = await openDatabase<unknown>({ driver: 'pglite' });
    try {
      await expect(sql`SELECT ${Symbol('not cloneable') as unknown as number} AS n`.execute(db)).rejects.toThrow(/could not be cloned/);
      expect((await sql<{ n: number }>`SELECT 2 AS n`.execute(db)).rows).toEqual([{ n: 2 }]);
    } finally {
      await db.destroy();
    }
  });

  // execFile's timeout kills a script that never ends, and the run rejects.
  const script = async (...args: string[]): Promise<unknown> => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(__dirname, 'testing', 'pglite-script.ts'), dataDir, ...args], {
      cwd: workspaceRoot,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(__dirname, '..', 'tsconfig.json') },
      timeout: 20_000,
    });
    return JSON.parse(stdout);
  };

  it('lets a process that opened the database and ran nothing end', async () => {
    await expect(script('open-only')).resolves.toEqual({ opened: true });
  });

  it('keeps a process alive while a statement runs, lets it end when idle, and what it wrote survives the unclean exit', async () => {
    await expect(script()).resolves.toEqual({ body: 'written before the exit' });

    const db = await openDatabase<unknown>({ driver: 'pglite', dataDir });
    try {
      const { rows } = await sql<{ body: Uint8Array }>`SELECT body FROM notes WHERE id = 1`.execute(db);
      expect(Buffer.from(rows[0]?.body ?? []).toString()).toBe('written before the exit');
    } finally {
      await db.destroy();
    }
  });
});
