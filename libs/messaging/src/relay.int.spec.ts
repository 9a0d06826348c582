import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { sql } from 'kysely';
import { eventSubject, type Event, type RecordedEvent } from '@switchyard/contracts';
import { PostgresEventStore, type EventStoreDb } from '@switchyard/event-store';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '@switchyard/event-store/testing';
import { encodeRecordedEvent, EventHeaders } from './event-codec';
import { ensureEventsStream } from './events-stream';
import { messagingMigrations } from './inbox';
import { RELAY_CONSUMER, startRelay, type Relay, type RelayOptions } from './relay';
import {
  createTestEventsStream,
  readStreamMessages,
  spawnTsProcess,
  streamMessageCount,
  testNatsUrl,
  type StoredEventMessage,
  type TestEventsStream,
  type TsProcess,
} from './testing';
import type { RelayProcessMessage } from './testing/relay-process';

const event = (type: string, n: number, kind?: string): Event => ({
  type,
  data: { n },
  ...(kind ? { metadata: { kind, correlationId: `corr-${n}` } } : {}),
});

/** Each stream's versions in the order JetStream holds them must be 1..n. */
const expectPerStreamOrder = (messages: readonly StoredEventMessage[]): void => {
  const versions = new Map<string, number[]>();
  for (const { event: e } of messages) versions.set(e.streamId, [...(versions.get(e.streamId) ?? []), e.streamVersion]);
  for (const [, seen] of versions) expect(seen).toEqual(seen.map((_, i) => i + 1));
};

describe('relay to JetStream', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let stream: TestEventsStream;
  const relays: Relay[] = [];
  const children: TsProcess[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase('relay', messagingMigrations);
    store = new PostgresEventStore(database.db as EventStoreDb);
  });
  beforeEach(async () => {
    // Each test owns its stream, subject root and (through a fresh log position) its events.
    await sql`TRUNCATE events, streams, subscription_checkpoints`.execute(database.db);
    stream = await createTestEventsStream();
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
    await Promise.all(children.splice(0).map((child) => child.kill('SIGKILL')));
    await stream.dispose();
  });
  afterAll(() => database.dispose());

  /** A relay from the test's log to its stream, stopped after the test; `options` adds to or replaces the defaults. */
  const relayToStream = (options: Partial<RelayOptions> = {}): Relay => {
    const relay = startRelay({ store, nc: stream.nc, streamName: stream.name, subjectRoot: stream.subjectRoot, ...options });
    relays.push(relay);
    return relay;
  };

  const allEvents = async (): Promise<RecordedEvent[]> => {
    const { rows } = await sql<{ event_id: string; stream_id: string }>`
      SELECT event_id::text, stream_id FROM events ORDER BY global_position`.execute(database.db);
    const events: RecordedEvent[] = [];
    for (const streamId of new Set(rows.map((row) => row.stream_id))) events.push(...(await store.readStream(streamId)).events);
    return events;
  };

  it('publishes every event once, on its subject, in per-stream order, with msgID = event id', async () => {
    await store.appendToStream('job-a', [event('JobSubmitted', 1), event('JobStarted', 2)], { metadata: { kind: 'print' } });
    await store.appendToStream('job-b', [event('JobSubmitted', 3)], { metadata: { kind: 'scan' } });
    await store.transaction(async (session) => {
      await session.appendToStream('job-a', [event('JobSucceeded', 4)], { metadata: { kind: 'print' } });
      await session.appendToStream('credits-org1', [event('CreditsDebited', 5)]);
    });
    await store.appendToStream('job-c', [event('JobSubmitted', 6, 'ocr'), event('JobCancelled', 7, 'ocr')]);

    const relay = relayToStream();
    await relay.caughtUp();

    const expected = await allEvents();
    const messages = await readStreamMessages(stream.jsm, stream.name);
    expect(messages).toHaveLength(7);
    expect(messages.map((m) => m.msgId).sort()).toEqual(expected.map((e) => e.eventId).sort());
    const root = stream.subjectRoot;
    const byId = new Map(messages.map((m) => [m.msgId, m]));
    for (const recorded of expected) {
      const message = byId.get(recorded.eventId) as StoredEventMessage;
      expect(message.subject).toBe(eventSubject(recorded.streamId, recorded.type, recorded.metadata.kind, root));
      // The payload is the RecordedEvent itself, createdAt revived as a Date.
      expect(message.event).toEqual(recorded);
      expect(message.headers[EventHeaders.StreamVersion]).toBe(String(recorded.streamVersion));
    }
    expect(messages.map((m) => m.subject)).toEqual(
      expect.arrayContaining([
        `${root}.print.a.JobSubmitted`,
        `${root}.print.a.JobSucceeded`,
        `${root}.scan.b.JobSubmitted`,
        `${root}.credits.org1.CreditsDebited`,
        `${root}.ocr.c.JobCancelled`,
      ]),
    );
    expectPerStreamOrder(messages);
    // Log order is stream order too: the relay publishes batches in (transaction_id, position) order.
    expect(messages.map((m) => m.event.globalPosition)).toEqual(expected.map((e) => e.globalPosition).sort((x, y) => x - y));
  });

  it('a relay replaying the whole log from scratch stores nothing twice (msgID dedupe)', async () => {
    for (let i = 0; i < 10; i += 1) await store.appendToStream(`job-r${i % 3}`, [event('Ticked', i, 'print')]);
    const first = relayToStream();
    await first.caughtUp();
    await first.stop();
    expect(await streamMessageCount(stream.jsm, stream.name)).toBe(10);

    // A new checkpoint name starts from the beginning of the log: every publish is a replay.
    let duplicates = 0;
    const replay = relayToStream({
      consumerName: `${RELAY_CONSUMER}:replay`,
      onBatchPublished: (report) => void (duplicates += report.duplicates),
    });
    await replay.caughtUp();
    expect(duplicates).toBe(10);
    expect(await streamMessageCount(stream.jsm, stream.name)).toBe(10);
  });

  it('keeps its checkpoint while JetStream refuses, and publishes the batch once it accepts', async () => {
    await stream.jsm.streams.delete(stream.name);
    for (let i = 0; i < 5; i += 1) await store.appendToStream(`job-f${i}`, [event('JobSubmitted', i, 'print')]);
    const failures: unknown[] = [];
    const relay = relayToStream({
      publishTimeoutMs: 1_000,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (fields) => failures.push(fields) },
    });
    await eventually(() => failures.length > 0, { message: 'a failed publish' });
    const { rows } = await sql<{ global_position: string }>`
      SELECT global_position::text FROM subscription_checkpoints WHERE consumer = ${RELAY_CONSUMER}`.execute(database.db);
    expect(rows[0]?.global_position ?? '0').toBe('0');

    await ensureEventsStream(stream.jsm, { name: stream.name, subjectRoot: stream.subjectRoot, dedupeWindowMs: 60_000 });
    await relay.caughtUp();
    const messages = await readStreamMessages(stream.jsm, stream.name);
    expect(messages.map((m) => m.msgId).sort()).toEqual((await allEvents()).map((e) => e.eventId).sort());
  });

  /** The stream's connection, counting the requests sent on it (a JetStream publish that wants its PubAck is one). */
  const countingRequests = (): { nc: NatsConnection; count: number } => {
    const counter = { nc: stream.nc, count: 0 };
    counter.nc = new Proxy(stream.nc, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        if (property !== 'request') return value.bind(target);
        return (...args: unknown[]) => {
          counter.count += 1;
          return value.apply(target, args);
        };
      },
    });
    return counter;
  };

  it('confirms a batch that follows its last stored event with one PubAck, in log order', async () => {
    const requests = countingRequests();
    const batches: number[] = [];
    const relay = relayToStream({
      nc: requests.nc,
      onBatchPublished: ({ events }) => void batches.push(events.length),
    });
    await store.appendToStream('job-p0', [event('JobSubmitted', 0, 'print')]);
    await relay.caughtUp();
    requests.count = 0;
    batches.length = 0;

    await store.appendToStream('job-p1', Array.from({ length: 10 }, (_, i) => event('Progressed', i)), { metadata: { kind: 'print' } });
    await relay.caughtUp();

    expect(batches).toEqual([10]);
    expect(requests.count).toBe(1);
    const messages = await readStreamMessages(stream.jsm, stream.name);
    const logOrder = (await allEvents()).sort((x, y) => x.globalPosition - y.globalPosition);
    expect(messages.map((m) => m.msgId)).toEqual(logOrder.map((e) => e.eventId));
  });

  it('publishes a batch one PubAck at a time when the stream gained a message since its last batch', async () => {
    const requests = countingRequests();
    const relay = relayToStream({ nc: requests.nc });
    await store.appendToStream('job-q0', [event('JobSubmitted', 0, 'print')]);
    await relay.caughtUp();
    // Someone else's message, not in the log: the next batch's first event no longer follows the stream's last message.
    const stranger: RecordedEvent = {
      type: 'Noted',
      data: {},
      metadata: { kind: 'print' },
      eventId: randomUUID(),
      streamId: 'job-stranger',
      streamVersion: 1,
      globalPosition: 1_000_000,
      transactionId: '1',
      createdAt: new Date(),
    };
    await jetstream(stream.nc).publish(eventSubject(stranger.streamId, stranger.type, 'print', stream.subjectRoot), encodeRecordedEvent(stranger));
    requests.count = 0;

    await store.appendToStream('job-q1', Array.from({ length: 5 }, (_, i) => event('Progressed', i)), { metadata: { kind: 'print' } });
    await relay.caughtUp();

    // The chain's PubAck refused it, then one per event.
    expect(requests.count).toBe(1 + 5);
    const messages = await readStreamMessages(stream.jsm, stream.name);
    expect(messages.map((m) => m.event.streamId)).toEqual(['job-q0', 'job-stranger', ...Array<string>(5).fill('job-q1')]);
    expect(messages.filter((m) => m.event.streamId === 'job-q1').map((m) => m.event.streamVersion)).toEqual([1, 2, 3, 4, 5]);
  });

  it('survives kill -9 between publish and checkpoint: every event stored exactly once', async () => {
    const STREAMS = 50;
    const ROUNDS = 20;
    const PER_APPEND = 2;
    const TOTAL = STREAMS * ROUNDS * PER_APPEND;
    const entry = path.join(__dirname, 'testing/relay-process.ts');
    const env = {
      DATABASE_URL: database.url as string,
      NATS_URL: testNatsUrl(),
      NATS_EVENTS_STREAM: stream.name,
      NATS_SUBJECT_ROOT: stream.subjectRoot,
      RELAY_BATCH_SIZE: '100',
      RELAY_LEASE_MS: '1000',
    };

    // The log keeps growing while the relay runs and dies.
    const appending = (async () => {
      for (let round = 0; round < ROUNDS; round += 1) {
        await Promise.all(
          Array.from({ length: STREAMS }, (_, s) =>
            store.appendToStream(
              `job-k${s}`,
              Array.from({ length: PER_APPEND }, (_, i) => event('Progressed', round * PER_APPEND + i)),
              { metadata: { kind: s % 2 ? 'print' : 'scan' } },
            ),
          ),
        );
      }
    })();

    const doomed = spawnTsProcess(entry, { ...env, RELAY_HOLD_CHECKPOINT_MS: '200' });
    children.push(doomed);
    // Its third batch is acked by JetStream and its checkpoint not yet committed: kill it there.
    let batches = 0;
    await doomed.waitFor((m) => ((m as RelayProcessMessage).type === 'published' && ++batches === 3 ? true : undefined), 20_000, 'three published batches');
    await doomed.kill('SIGKILL');

    const storedAtKill = await streamMessageCount(stream.jsm, stream.name);
    const checkpointed = await checkpointedEventCount();
    expect(storedAtKill).toBeGreaterThan(0);
    expect(storedAtKill).toBeLessThan(TOTAL);
    // The crash landed between publish and checkpoint: JetStream holds events the log says are unsent.
    expect(storedAtKill).toBeGreaterThan(checkpointed);

    const successor = spawnTsProcess(entry, env);
    children.push(successor);
    let duplicates = 0;
    successor.child.on('message', (m: RelayProcessMessage) => {
      if (m.type === 'published') duplicates += m.duplicates;
    });
    await appending;
    await eventually(async () => (await streamMessageCount(stream.jsm, stream.name)) >= TOTAL, {
      timeoutMs: 15_000,
      message: `${TOTAL} messages in the stream`,
    });
    successor.child.send({ type: 'caughtUp?' });
    await successor.waitFor((m) => ((m as RelayProcessMessage).type === 'caughtUp' ? true : undefined), 10_000, 'caught up');

    expect(await streamMessageCount(stream.jsm, stream.name)).toBe(TOTAL);
    // The successor replayed exactly the batch the dead relay had published but not checkpointed.
    expect(duplicates).toBe(storedAtKill - checkpointed);
    const messages = await readStreamMessages(stream.jsm, stream.name);
    const { rows } = await sql<{ event_id: string }>`SELECT event_id::text FROM events`.execute(database.db);
    expect(rows).toHaveLength(TOTAL);
    expect(new Set(messages.map((m) => m.msgId))).toEqual(new Set(rows.map((r) => r.event_id)));
    expect(new Set(messages.map((m) => m.event.eventId)).size).toBe(TOTAL);
    expectPerStreamOrder(messages);
    expect(await successor.kill('SIGTERM')).toBe(0);
  }, 30_000);

  /** How many events lie at or before the relay's committed checkpoint. */
  async function checkpointedEventCount(): Promise<number> {
    const { rows } = await sql<{ count: number }>`
      SELECT count(*)::int AS count FROM events e, subscription_checkpoints c
      WHERE c.consumer = ${RELAY_CONSUMER}
        AND (e.transaction_id, e.global_position) <= (c.transaction_id, c.global_position)`.execute(database.db);
    return rows[0]?.count ?? 0;
  }
});
