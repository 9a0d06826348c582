import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { sql, type Kysely, type Migration, type QueryExecutorProvider } from 'kysely';
import type { RecordedEvent } from '@switchyard/contracts';
import { decodeRecordedEvent } from '../event-codec';
import { ensureEventsStream } from '../events-stream';

export const testNatsUrl = (): string => process.env['SWITCHYARD_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** `t_<hex>`: a stream name and subject root no other suite or run shares. */
export const uniqueTestName = (prefix = 't'): string => `${prefix}_${randomBytes(5).toString('hex')}`;

export interface TestEventsStream {
  nc: NatsConnection;
  jsm: JetStreamManager;
  name: string;
  subjectRoot: string;
  /** Deletes the stream and closes the connection. */
  dispose(): Promise<void>;
}

/** A connection and a fresh events stream of its own (`t_<hex>` name and subject root). */
export async function createTestEventsStream(dedupeWindowMs = 2 * 60 * 60 * 1000): Promise<TestEventsStream> {
  const nc = await connect({ servers: testNatsUrl(), name: 'messaging-test' });
  const jsm = await jetstreamManager(nc);
  const name = uniqueTestName();
  const subjectRoot = name;
  await ensureEventsStream(jsm, { name, subjectRoot, dedupeWindowMs });
  return {
    nc,
    jsm,
    name,
    subjectRoot,
    async dispose() {
      await jsm.streams.delete(name).catch(() => false);
      await nc.close();
    },
  };
}

export const streamMessageCount = async (jsm: JetStreamManager, stream: string): Promise<number> =>
  (await jsm.streams.info(stream)).state.messages;

export interface StoredEventMessage {
  seq: number;
  subject: string;
  msgId: string | undefined;
  headers: Record<string, string>;
  event: RecordedEvent;
}

/** Every message in the stream, in stream order, read by sequence (no consumer involved). */
export async function readStreamMessages(jsm: JetStreamManager, stream: string): Promise<StoredEventMessage[]> {
  const { state } = await jsm.streams.info(stream);
  const sequences = Array.from({ length: state.last_seq - state.first_seq + 1 }, (_, i) => state.first_seq + i);
  const messages: StoredEventMessage[] = [];
  for (let start = 0; start < sequences.length; start += 250) {
    const chunk = await Promise.all(sequences.slice(start, start + 250).map((seq) => jsm.streams.getMessage(stream, { seq })));
    for (const stored of chunk) {
      if (!stored) continue;
      const headers: Record<string, string> = {};
      for (const key of stored.header?.keys() ?? []) headers[key] = stored.header.get(key);
      messages.push({
        seq: stored.seq,
        subject: stored.subject,
        msgId: stored.header?.get('Nats-Msg-Id') || undefined,
        headers,
        event: decodeRecordedEvent(stored.data),
      });
    }
  }
  return messages;
}

const workspaceRoot = path.resolve(__dirname, '../../../..');

export interface TsProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far, for failure messages. */
  output(): string;
  /** Resolves with the first IPC message `accept` returns a value for; rejects on exit or deadline. */
  waitFor<T>(accept: (message: unknown) => T | undefined, timeoutMs?: number, what?: string): Promise<T>;
  /** Resolves when the process has exited (by itself or killed). */
  exited(): Promise<NodeJS.Signals | number | null>;
  kill(signal: NodeJS.Signals): Promise<NodeJS.Signals | number | null>;
}

/**
 * Runs a TypeScript entry file in its own node process (tsx, with the workspace's path aliases),
 * with an IPC channel, so a test can SIGKILL real code at a moment the process reports.
 */
export function spawnTsProcess(entry: string, env: Record<string, string>): TsProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: workspaceRoot,
    env: { ...process.env, ...env, TSX_TSCONFIG_PATH: path.join(workspaceRoot, 'libs/messaging/tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  return {
    child,
    output: () => output,
    exited: () => exit,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
    waitFor<T>(accept: (message: unknown) => T | undefined, timeoutMs = 15_000, what = 'a message'): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
        };
        const onMessage = (message: unknown): void => {
          const value = accept(message);
          if (value === undefined) return;
          done();
          resolve(value);
        };
        const onExit = (): void => {
          done();
          reject(new Error(`process exited while waiting for ${what}:\n${output}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${output}`));
        }, timeoutMs);
        child.on('message', onMessage);
        child.once('exit', onExit);
      });
    },
  };
}

/** A table test handlers write to: one row per application, so a doubled write shows as a duplicate. */
export const appliedEventsMigrations: Record<string, Migration> = {
  '0900_test_applied_events': {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE applied_events (
        id bigserial PRIMARY KEY, consumer text NOT NULL, event_id uuid NOT NULL, stream_id text NOT NULL,
        stream_version integer NOT NULL, type text NOT NULL, created_at timestamptz NOT NULL)`.execute(db);
    },
  },
};

/** The write a test handler makes inside its transaction. */
export async function recordApplied(db: QueryExecutorProvider, consumer: string, event: RecordedEvent): Promise<void> {
  if (!(event.createdAt instanceof Date)) throw new TypeError('createdAt must arrive as a Date');
  await sql`INSERT INTO applied_events (consumer, event_id, stream_id, stream_version, type, created_at)
    VALUES (${consumer}, ${event.eventId}::uuid, ${event.streamId}, ${event.streamVersion}, ${event.type}, ${event.createdAt})`.execute(db);
}

export interface AppliedCounts {
  rows: number;
  distinctEvents: number;
}

export async function appliedCounts(db: QueryExecutorProvider, consumer: string): Promise<AppliedCounts> {
  const { rows } = await sql<{ rows: number; distinct_events: number }>`
    SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS distinct_events
    FROM applied_events WHERE consumer = ${consumer}`.execute(db);
  const row = rows[0];
  return { rows: row?.rows ?? 0, distinctEvents: row?.distinct_events ?? 0 };
}
