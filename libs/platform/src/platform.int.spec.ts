import { Writable } from 'node:stream';
import { sql } from 'kysely';
import pino from 'pino';
import { PostgresEventStore } from '@switchyard/event-store';
import { createPostgresTestDatabase, createTestDatabase, TEST_BACKENDS, type TestDatabase } from '@switchyard/event-store/testing';
import { z } from 'zod';
import { checkpointLag, configFrom, openPlatformStorage, platformConfigSchema, startHealthServer } from './platform';

describe('platform configuration', () => {
  it('runs the embedded mode with no environment at all', () => {
    expect(configFrom(platformConfigSchema, {})).toMatchObject({ DATABASE_URL: 'pglite://./data/switchyard', PORT: 8080 });
  });

  it('stops at start with a readable message for a bad value', () => {
    expect(() => configFrom(platformConfigSchema.extend({ N: z.coerce.number().int() }), { PORT: 'eighty', N: '1.5' })).toThrow(
      /invalid configuration: PORT: .*; N: /,
    );
  });
});

describe('the embedded job cache', () => {
  it('keeps jobs for status reads on PGlite, unless JOB_CACHE_MAX_BYTES is 0', async () => {
    const config = (env: Record<string, string>) => configFrom(platformConfigSchema, { DATABASE_URL: 'pglite://memory', ...env });
    const kept = await openPlatformStorage(config({}));
    const none = await openPlatformStorage(config({ JOB_CACHE_MAX_BYTES: '0' }));
    try {
      expect(kept.jobCache?.size).toEqual({ jobs: 0, bytes: 0 });
      expect(none.jobCache).toBeUndefined();
    } finally {
      await kept.close();
      await none.close();
    }
  });
});

describe('a PostgreSQL without autovacuum', () => {
  it("warns at start when the server's autovacuum is off, and only then", async () => {
    const database = await createPostgresTestDatabase('platform_autovacuum');
    const lines: { level: number; msg: string; autovacuum?: string }[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()));
          done();
        },
      }),
    );
    try {
      const { rows } = await sql<{ autovacuum: string }>`SELECT current_setting('autovacuum') AS autovacuum`.execute(database.db);
      const storage = await openPlatformStorage(configFrom(platformConfigSchema, { DATABASE_URL: database.url as string }), { logger });
      await storage.close();
      const warnings = lines.filter((line) => /^autovacuum is off on this PostgreSQL/.test(line.msg)).map(({ level, autovacuum }) => ({ level, autovacuum }));
      // CI's server runs with autovacuum = off; a developer's may not: either way the warning follows the setting.
      expect(warnings).toEqual(rows[0]?.autovacuum === 'off' ? [{ level: 40, autovacuum: 'off' }] : []);
    } finally {
      await database.dispose();
    }
  });
});

describe('health server', () => {
  it('is live always and ready only when every check passes', async () => {
    let databaseUp = true;
    const server = await startHealthServer(0, async () => ({ database: databaseUp, nats: true }));
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    databaseUp = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ database: false, nats: true });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    server.close();
  });
});

describe.each(TEST_BACKENDS)('checkpoint lag on %s', (backend) => {
  let database: TestDatabase;
  afterAll(() => database.dispose());

  it('counts the events a subscription has not yet passed', async () => {
    database = await createTestDatabase(backend, 'platform_lag');
    const store = new PostgresEventStore(database.db as never);
    await store.appendToStream('job-1', [{ type: 'A', data: {} }, { type: 'B', data: {} }]);
    const subscription = store.subscribe('lagging', async () => undefined);
    await subscription.caughtUp();
    await subscription.stop();
    expect(await checkpointLag(database.db, 'lagging')).toBe(0);
    await store.appendToStream('job-1', [{ type: 'C', data: {} }]);
    expect(await checkpointLag(database.db, 'lagging')).toBe(1);
  });
});
