/**
 * Event-store throughput on the local PostgreSQL, beside pgbench's rate for a one-row INSERT at the
 * same client counts (the physical limit of this server), and a subscriber's delivery rate.
 *
 *   npm run bench:event-store            (10 s per point)
 *   npm run bench:event-store -- --quick (3 s per point)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { PostgresEventStore } from '@switchyard/event-store';
import { createPostgresTestDatabase } from '@switchyard/event-store/testing';

const quick = process.argv.includes('--quick');
const seconds = quick ? 3 : 10;
const clientCounts = [1, 8, 32];

interface Point {
  writers: number;
  appendsPerSecond: number;
  pgbenchInsertsPerSecond: number;
  ratio: number;
}

async function appendRate(store: PostgresEventStore, writers: number, label: string): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let appended = 0;
  const writer = async (w: number): Promise<void> => {
    let version = 0;
    const streamId = `job-bench-${label}-${w}`;
    while (Date.now() < deadline) {
      await store.appendToStream(streamId, [{ type: 'JobProgressed', data: { progress: version % 100, at: new Date().toISOString() } }], {
        expectedVersion: version,
      });
      version += 1;
      appended += 1;
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  return appended / (Number(process.hrtime.bigint() - started) / 1e9);
}

function pgbenchRate(url: string, clients: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'sy-pgbench-'));
  const script = join(dir, 'insert.sql');
  writeFileSync(script, `INSERT INTO bench_insert (stream_id, data) VALUES ('s' || :client_id, '{"progress": 1}');\n`);
  const { hostname, port, username, pathname } = new URL(url);
  const output = execFileSync(
    'pgbench',
    ['-n', '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(seconds), '-f', script,
      '-h', hostname, '-p', port || '5432', '-U', username || 'postgres', pathname.slice(1)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
  if (!match?.[1]) throw new Error(`could not read pgbench output:\n${output}`);
  return Number(match[1]);
}

async function main(): Promise<void> {
  const database = await createPostgresTestDatabase('bench', {}, Math.max(...clientCounts) + 4);
  const url = database.url as string;
  const store = new PostgresEventStore(database.db as never);
  await sql`CREATE TABLE bench_insert (id bigserial PRIMARY KEY, stream_id text NOT NULL, data jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`.execute(database.db);
  const points: Point[] = [];
  try {
    // A live subscriber during the runs: it must keep up with the writers.
    let live = 0;
    const liveSubscription = store.subscribe('bench-live', async (events) => void (live += events.length));
    for (const writers of clientCounts) {
      const appendsPerSecond = await appendRate(store, writers, String(writers));
      const pgbenchInsertsPerSecond = pgbenchRate(url, writers);
      points.push({ writers, appendsPerSecond, pgbenchInsertsPerSecond, ratio: appendsPerSecond / pgbenchInsertsPerSecond });
    }
    const lagStarted = Date.now();
    await liveSubscription.caughtUp();
    const liveLagMs = Date.now() - lagStarted;
    await liveSubscription.stop();

    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(database.db);
    const total = rows[0]?.n ?? 0;
    const started = Date.now();
    let replayed = 0;
    const replay = store.subscribe('bench-replay', async (events) => void (replayed += events.length), { batchSize: 1000 });
    await replay.caughtUp();
    const replaySeconds = (Date.now() - started) / 1000;
    await replay.stop();

    const pad = (value: string, width: number): string => value.padStart(width);
    console.log(`\nevent store on PostgreSQL (${seconds} s per point, node ${process.version})`);
    console.log(`${pad('writers', 8)} ${pad('appends/s', 11)} ${pad('pgbench INSERT/s', 17)} ${pad('ratio', 7)}`);
    for (const p of points) {
      console.log(
        `${pad(String(p.writers), 8)} ${pad(p.appendsPerSecond.toFixed(0), 11)} ${pad(p.pgbenchInsertsPerSecond.toFixed(0), 17)} ${pad(`${(p.ratio * 100).toFixed(0)} %`, 7)}`,
      );
    }
    console.log(`live subscriber: delivered ${live} events during the runs, caught up ${liveLagMs} ms after the last append`);
    console.log(`replay subscriber: ${replayed} of ${total} events in ${replaySeconds.toFixed(2)} s = ${(replayed / replaySeconds).toFixed(0)} events/s`);

    mkdirSync('bench-results', { recursive: true });
    const file = join('bench-results', `event-store-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      JSON.stringify({ seconds, node: process.version, points, live: { delivered: live, lagMs: liveLagMs }, replay: { events: replayed, seconds: replaySeconds } }, null, 2),
    );
    console.log(`written to ${file}`);
  } finally {
    await store.close().catch(() => undefined);
    await database.dispose().catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
