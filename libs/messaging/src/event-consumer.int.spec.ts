import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Event, RecordedEvent } from '@switchyard/contracts';
import { PostgresEventStore, type EventStoreDb } from '@switchyard/event-store';
import { createTestDatabase, eventually, type TestBackend, type TestDatabase } from '@switchyard/event-store/testing';
import {
  InProcessEventConsumers,
  JetStreamEventConsumers,
  durableConsumerName,
  type DeliveryOutcome,
  type EventConsumers,
  type EventConsumerSpec,
  type RunningConsumer,
} from './event-consumer';
import { messagingMigrations } from './inbox';
import { startRelay, type Relay } from './relay';
import {
  appliedCounts,
  appliedEventsMigrations,
  createTestEventsStream,
  recordApplied,
  spawnTsProcess,
  testNatsUrl,
  uniqueTestName,
  type TestEventsStream,
  type TsProcess,
} from './testing';
import type { ConsumerProcessMessage } from './testing/consumer-process';

type Mode = 'jetstream' | 'in-process';

/** A consumer whose batch writes and then fails; `handle` applies each event alone, after `onAlone`. */
const failingBatchSpec = (name: string, filter: string, onAlone: () => void = () => undefined): EventConsumerSpec => ({
  name,
  filterSubjects: [filter],
  async handle(recorded, tx) {
    onAlone();
    await recordApplied(tx, name, recorded);
  },
  async handleBatch(events, tx) {
    for (const recorded of events) await recordApplied(tx, name, recorded);
    throw new Error('the batch fails after its writes');
  },
});

interface Harness {
  readonly db: Kysely<unknown>;
  readonly store: PostgresEventStore;
  readonly root: string;
  readonly consumers: EventConsumers;
  readonly url: string | undefined;
  readonly stream: TestEventsStream | undefined;
  dispose(): Promise<void>;
}

async function createHarness(mode: Mode, backend: TestBackend): Promise<Harness> {
  const database: TestDatabase = await createTestDatabase(backend, `consumer_${mode}`, {
    ...messagingMigrations,
    ...appliedEventsMigrations,
  });
  const store = new PostgresEventStore(database.db as EventStoreDb);
  if (mode === 'in-process') {
    const root = uniqueTestName();
    return {
      db: database.db as Kysely<unknown>,
      store,
      root,
      url: database.url,
      stream: undefined,
      consumers: new InProcessEventConsumers({ store, subjectRoot: root, subscription: { idlePollMs: 10 } }),
      dispose: () => database.dispose(),
    };
  }
  const stream = await createTestEventsStream();
  const relay: Relay = startRelay({
    store,
    nc: stream.nc,
    streamName: stream.name,
    subjectRoot: stream.subjectRoot,
    subscription: { idlePollMs: 10 },
  });
  return {
    db: database.db as Kysely<unknown>,
    store,
    root: stream.subjectRoot,
    url: database.url,
    stream,
    consumers: new JetStreamEventConsumers({
      nc: stream.nc,
      db: database.db as EventStoreDb,
      streamName: stream.name,
      ackWaitMs: 1_000,
      retryDelayMs: () => 100,
    }),
    async dispose() {
      await relay.stop();
      await stream.dispose();
      await database.dispose();
    },
  };
}

const event = (type: string, n = 0): Event => ({ type, data: { n } });

/** Appends `types` to `job-<id>` with the job's kind; returns the recorded events. */
const appendJob = async (store: PostgresEventStore, kind: string, jobId: string, types: string[]): Promise<RecordedEvent[]> =>
  (await store.appendToStream(`job-${jobId}`, types.map((type, n) => event(type, n)), { metadata: { kind } })).events;

const inboxCount = async (db: Kysely<unknown>, consumer: string): Promise<number> => {
  const { rows } = await sql<{ count: number }>`
    SELECT count(*)::int AS count FROM consumer_inbox WHERE consumer = ${consumer}`.execute(db);
  return rows[0]?.count ?? 0;
};

const HARNESSES: Array<[string, Mode, TestBackend]> = [
  ['JetStream durable consumer (distributed)', 'jetstream', 'postgres'],
  ['in-process twin on PostgreSQL (embedded)', 'in-process', 'postgres'],
  ['in-process twin on PGlite (embedded)', 'in-process', 'pglite'],
];

// One contract, every implementation.
describe.each(HARNESSES)('event consumer contract: %s', (_label, mode, backend) => {
  let harness: Harness;
  const running: RunningConsumer[] = [];

  beforeAll(async () => {
    harness = await createHarness(mode, backend);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((consumer) => consumer.stop()));
  });
  afterAll(() => harness.dispose());

  const start = async (spec: EventConsumerSpec): Promise<RunningConsumer> => {
    const consumer = await harness.consumers.start(spec);
    running.push(consumer);
    return consumer;
  };
  const waitForApplied = (consumer: string, rows: number) =>
    eventually(async () => (await appliedCounts(harness.db, consumer)).rows >= rows, {
      timeoutMs: 10_000,
      message: `${rows} applied rows for ${consumer}`,
    });

  it('applies every matching event once, with its writes in the handler transaction', async () => {
    const name = uniqueTestName('c');
    const [print, scan] = [uniqueTestName('print'), uniqueTestName('scan')];
    const seen: RecordedEvent[] = [];
    await start({
      name,
      filterSubjects: [`${harness.root}.${print}.>`, `${harness.root}.${scan}.*.JobCancelled`],
      async handle(recorded, tx) {
        seen.push(recorded);
        await recordApplied(tx, name, recorded);
      },
    });

    const expected: RecordedEvent[] = [];
    for (let j = 0; j < 4; j += 1) {
      expected.push(...(await appendJob(harness.store, print, `${name}-p${j}`, ['JobSubmitted', 'JobStarted', 'JobSucceeded'])));
    }
    const [, cancelled] = await appendJob(harness.store, scan, `${name}-s0`, ['JobSubmitted', 'JobCancelled']);
    expected.push(cancelled as RecordedEvent);
    await harness.store.appendToStream(`credits-${name}`, [event('CreditsDebited')]);
    // Appended last, so once it is applied every earlier event has been delivered.
    expected.push(...(await appendJob(harness.store, print, `${name}-last`, ['Sentinel'])));

    await waitForApplied(name, expected.length);
    expect(await appliedCounts(harness.db, name)).toEqual({ rows: expected.length, distinctEvents: expected.length });
    expect(await inboxCount(harness.db, name)).toBe(expected.length);
    const byId = (events: RecordedEvent[]) => [...events].sort((a, b) => a.eventId.localeCompare(b.eventId));
    // The handler gets the RecordedEvent as stored, createdAt a Date, whichever way it travelled.
    expect(byId(seen)).toEqual(byId(expected));
    for (const recorded of seen) expect(recorded.createdAt).toBeInstanceOf(Date);
  });

  it('keeps no inbox rows for an idempotent consumer, one event at a time or in batches', async () => {
    const kind = uniqueTestName('k');
    const [single, batched] = [uniqueTestName('c'), uniqueTestName('c')];
    const filterSubjects = [`${harness.root}.${kind}.>`];
    await start({ name: single, filterSubjects, idempotent: true, handle: (recorded, tx) => recordApplied(tx, single, recorded) });
    await start({
      name: batched,
      filterSubjects,
      idempotent: true,
      handle: (recorded, tx) => recordApplied(tx, batched, recorded),
      async handleBatch(events, tx) {
        for (const recorded of events) await recordApplied(tx, batched, recorded);
      },
    });

    const appended: RecordedEvent[] = [];
    for (let j = 0; j < 3; j += 1) appended.push(...(await appendJob(harness.store, kind, `${single}-${j}`, ['JobSubmitted', 'JobQueued'])));

    for (const consumer of [single, batched]) {
      await waitForApplied(consumer, appended.length);
      expect(await appliedCounts(harness.db, consumer)).toEqual({ rows: appended.length, distinctEvents: appended.length });
      expect(await inboxCount(harness.db, consumer)).toBe(0);
    }
  });

  it('rolls back a failed handler with its writes and retries until the event applies, once', async () => {
    const name = uniqueTestName('c');
    const kind = uniqueTestName('k');
    const attempts = new Map<string, number>();
    let failing: string | undefined;
    await start({
      name,
      filterSubjects: [`${harness.root}.${kind}.>`],
      async handle(recorded, tx) {
        const attempt = (attempts.get(recorded.eventId) ?? 0) + 1;
        attempts.set(recorded.eventId, attempt);
        await recordApplied(tx, name, recorded);
        // Fails after writing, twice: those writes must not survive.
        if (recorded.eventId === failing && attempt <= 2) throw new Error('printer on fire');
      },
    });
    const events = await (async () => {
      const first = await appendJob(harness.store, kind, `${name}-a`, ['JobSubmitted']);
      failing = first[0]?.eventId;
      return [...first, ...(await appendJob(harness.store, kind, `${name}-b`, ['JobSubmitted', 'JobStarted']))];
    })();

    await waitForApplied(name, events.length);
    await eventually(() => (attempts.get(failing as string) ?? 0) >= 3, { message: 'the third attempt' });
    expect(await appliedCounts(harness.db, name)).toEqual({ rows: events.length, distinctEvents: events.length });
    expect(await inboxCount(harness.db, name)).toBe(events.length);
  });

  it('picks up after a restart where it stopped, applying nothing twice', async () => {
    const name = uniqueTestName('c');
    const kind = uniqueTestName('k');
    const handled: string[] = [];
    const spec: EventConsumerSpec = {
      name,
      filterSubjects: [`${harness.root}.${kind}.>`],
      async handle(recorded, tx) {
        handled.push(recorded.eventId);
        await recordApplied(tx, name, recorded);
      },
    };
    const first = await start(spec);
    const before = await appendJob(harness.store, kind, `${name}-a`, ['A', 'B', 'C', 'D', 'E']);
    await waitForApplied(name, 5);
    await first.stop();

    const after = await appendJob(harness.store, kind, `${name}-a`, ['F', 'G', 'H', 'I', 'J']);
    handled.length = 0;
    await start(spec);
    await waitForApplied(name, 10);
    expect(await appliedCounts(harness.db, name)).toEqual({ rows: 10, distinctEvents: 10 });
    expect(handled.sort()).toEqual(after.map((e) => e.eventId).sort());
    expect(before.some((e) => handled.includes(e.eventId))).toBe(false);
  });
});

describe('JetStream consumer with parallel deliveries and a ready gate', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness('jetstream', 'postgres');
  });
  afterAll(() => harness.dispose());

  it('handles up to `parallel` events at once, and none while ready() holds', async () => {
    const name = uniqueTestName('c');
    const kind = uniqueTestName('k');
    let open = false;
    let waiting = 0;
    let gate: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (gate = resolve));
    let inHandler = 0;
    let mostAtOnce = 0;
    let release: () => void = () => undefined;
    const fourIn = new Promise<void>((resolve) => (release = resolve));
    const consumer = await harness.consumers.start({
      name,
      filterSubjects: [`${harness.root}.${kind}.>`],
      parallel: 4,
      ready: () => {
        if (open) return Promise.resolve();
        waiting += 1;
        return opened;
      },
      async handle(recorded, tx) {
        inHandler += 1;
        mostAtOnce = Math.max(mostAtOnce, inHandler);
        if (inHandler === 4) release();
        // Each waits until four are in at once: only parallel delivery gets past this.
        await fourIn;
        await recordApplied(tx, name, recorded);
        inHandler -= 1;
      },
    });
    try {
      for (let j = 0; j < 8; j += 1) await appendJob(harness.store, kind, `${name}-${j}`, ['JobQueued']);
      // Held at the gate: messages arrived and wait there, none handled.
      await eventually(() => waiting === 4, { message: 'four deliveries at the gate' });
      expect((await appliedCounts(harness.db, name)).rows).toBe(0);
      expect(inHandler).toBe(0);
      open = true;
      gate();
      await eventually(async () => (await appliedCounts(harness.db, name)).rows === 8, { timeoutMs: 10_000, message: 'all 8 applied' });
      expect(mostAtOnce).toBe(4);
      expect(await appliedCounts(harness.db, name)).toEqual({ rows: 8, distinctEvents: 8 });
    } finally {
      await consumer.stop();
    }
  });
});

describe('JetStream consumer applying what arrived together as one batch', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness('jetstream', 'postgres');
  });
  afterAll(() => harness.dispose());

  const ackPending = async (name: string): Promise<number> =>
    (await (harness.stream as TestEventsStream).jsm.consumers.info((harness.stream as TestEventsStream).name, durableConsumerName(name)))
      .num_ack_pending;

  it('applies the gathered events in batches of at most room(), one transaction each, each event once', async () => {
    const name = uniqueTestName('c');
    const kind = uniqueTestName('k');
    let gate: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (gate = resolve));
    const batches: { size: number; transaction: string }[] = [];
    const backlogs: (boolean | undefined)[] = [];
    let alone = 0;
    const consumer = await harness.consumers.start({
      name,
      filterSubjects: [`${harness.root}.${kind}.>`],
      ready: (backlog) => {
        backlogs.push(backlog);
        return opened;
      },
      room: () => 3,
      async handle() {
        alone += 1;
      },
      async handleBatch(events, tx) {
        const { rows } = await sql<{ id: string }>`SELECT pg_current_xact_id()::text AS id`.execute(tx);
        batches.push({ size: events.length, transaction: (rows[0] as { id: string }).id });
        for (const recorded of events) await recordApplied(tx, name, recorded);
      },
    });
    try {
      for (let j = 0; j < 8; j += 1) await appendJob(harness.store, kind, `${name}-${j}`, ['JobQueued']);
      // Every message delivered and waiting at the gate, none applied yet.
      await eventually(async () => (await ackPending(name)) === 8, { message: 'eight deliveries waiting' });
      expect(batches).toEqual([]);
      gate();
      await eventually(async () => (await appliedCounts(harness.db, name)).rows === 8, { timeoutMs: 10_000, message: 'all 8 applied' });
      expect(batches.map((batch) => batch.size)).toEqual([3, 3, 2]);
      // Before the second batch, 5 waited for room for 3: a backlog; before the third, 2 did not.
      expect(backlogs.slice(1)).toEqual([true, false]);
      expect(new Set(batches.map((batch) => batch.transaction)).size).toBe(3);
      expect(alone).toBe(0);
      expect(await appliedCounts(harness.db, name)).toEqual({ rows: 8, distinctEvents: 8 });
      expect(await inboxCount(harness.db, name)).toBe(8);
      await eventually(async () => (await ackPending(name)) === 0, { message: 'all acknowledged' });
    } finally {
      await consumer.stop();
    }
  });

  it('gives an idempotent consumer its batches through handleBatchDirect, and each event alone when one fails', async () => {
    const name = uniqueTestName('c');
    const kind = uniqueTestName('k');
    const direct: number[] = [];
    let alone = 0;
    let failNext = false;
    const consumer = await harness.consumers.start({
      name,
      filterSubjects: [`${harness.root}.${kind}.>`],
      idempotent: true,
      async handle(recorded, tx) {
        alone += 1;
        await recordApplied(tx, name, recorded);
      },
      handleBatch: () => Promise.reject(new Error('handleBatchDirect is the one for JetStream')),
      async handleBatchDirect(events) {
        if (failNext) throw new Error('this batch fails');
        direct.push(events.length);
        for (const recorded of events) await recordApplied(harness.db, name, recorded);
      },
    });
    try {
      for (let j = 0; j < 4; j += 1) await appendJob(harness.store, kind, `${name}-${j}`, ['JobQueued']);
      await eventually(async () => (await appliedCounts(harness.db, name)).rows === 4, { timeoutMs: 10_000, message: 'all 4 applied' });
      failNext = true;
      await appendJob(harness.store, kind, `${name}-failing`, ['JobQueued']);
      await eventually(async () => (await appliedCounts(harness.db, name)).rows === 5, { timeoutMs: 10_000, message: 'the fifth applied alone' });
      await eventually(async () => (await ackPending(name)) === 0, { message: 'all acknowledged' });
      expect(direct.reduce((sum, size) => sum + size, 0)).toBe(4);
      expect(alone).toBe(1);
      expect(await appliedCounts(harness.db, name)).toEqual({ rows: 5, distinctEvents: 5 });
      expect(await inboxCount(harness.db, name)).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it('handles each event alone when its batch fails, and applies each once', async () => {
    const name = uniqueTestName('c');
    const kind = uniqueTestName('k');
    const consumer = await harness.consumers.start(failingBatchSpec(name, `${harness.root}.${kind}.>`));
    try {
      for (let j = 0; j < 5; j += 1) await appendJob(harness.store, kind, `${name}-${j}`, ['JobQueued']);
      await eventually(async () => (await appliedCounts(harness.db, name)).rows === 5, { timeoutMs: 10_000, message: 'all 5 applied' });
      await eventually(async () => (await ackPending(name)) === 0, { message: 'all acknowledged' });
      expect(await appliedCounts(harness.db, name)).toEqual({ rows: 5, distinctEvents: 5 });
      expect(await inboxCount(harness.db, name)).toBe(5);
    } finally {
      await consumer.stop();
    }
  });
});

describe.each<TestBackend>(['postgres', 'pglite'])('in-process consumer on %s, with room and batches', (backend) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness('in-process', backend);
  });
  afterAll(() => harness.dispose());

  it('reads once ready(), at most room() events a batch, only its own, each applied once', async () => {
    const name = uniqueTestName('c');
    const kind = uniqueTestName('k');
    let gate: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (gate = resolve));
    let asked = 0;
    const batches: string[][] = [];
    let alone = 0;
    for (let j = 0; j < 8; j += 1) {
      await appendJob(harness.store, kind, `${name}-${j}`, ['JobSubmitted', 'JobQueued']);
      // Another kind's JobQueued between them: the database leaves it unread (jobKinds).
      await appendJob(harness.store, `${kind}x`, `${name}-other-${j}`, ['JobQueued']);
    }
    const consumer = await harness.consumers.start({
      name,
      filterSubjects: [`${harness.root}.${kind}.*.JobQueued`],
      ready: () => {
        asked += 1;
        return opened;
      },
      room: () => 6,
      async handle() {
        alone += 1;
      },
      async handleBatch(events, tx) {
        batches.push(events.map((recorded) => recorded.type));
        for (const recorded of events) await recordApplied(tx, name, recorded);
      },
    });
    try {
      await eventually(() => asked > 0, { message: 'the consumer to ask for room' });
      expect(batches).toEqual([]);
      gate();
      await eventually(async () => (await appliedCounts(harness.db, name)).rows === 8, { timeoutMs: 10_000, message: 'all 8 applied' });
      // Six of its own JobQueued events a read, however many of the other kind's lie between.
      expect(batches.map((batch) => batch.length)).toEqual([6, 2]);
      expect(batches.flat().every((type) => type === 'JobQueued')).toBe(true);
      expect(alone).toBe(0);
      expect(await appliedCounts(harness.db, name)).toEqual({ rows: 8, distinctEvents: 8 });
      expect(await inboxCount(harness.db, name)).toBe(8);
    } finally {
      await consumer.stop();
    }
  });

  it('handles each event alone when its batch fails, keeping none of the batch writes, and applies each once', async () => {
    const name = uniqueTestName('c');
    const kind = uniqueTestName('k');
    let alone = 0;
    const consumer = await harness.consumers.start(failingBatchSpec(name, `${harness.root}.${kind}.>`, () => (alone += 1)));
    try {
      for (let j = 0; j < 5; j += 1) await appendJob(harness.store, kind, `${name}-${j}`, ['JobQueued']);
      await eventually(async () => (await appliedCounts(harness.db, name)).rows === 5, { timeoutMs: 10_000, message: 'all 5 applied' });
      expect(await appliedCounts(harness.db, name)).toEqual({ rows: 5, distinctEvents: 5 });
      expect(alone).toBe(5);
      expect(await inboxCount(harness.db, name)).toBe(5);
    } finally {
      await consumer.stop();
    }
  });
});

describe('JetStream consumer killed after its commit, before its ack', () => {
  let harness: Harness;
  let child: TsProcess | undefined;
  let consumer: RunningConsumer | undefined;

  beforeAll(async () => {
    harness = await createHarness('jetstream', 'postgres');
  });
  afterAll(async () => {
    await consumer?.stop();
    await child?.kill('SIGKILL');
    await harness.dispose();
  });

  it('gets the message again and skips it through the inbox: no write doubled', async () => {
    const stream = harness.stream as TestEventsStream;
    const name = uniqueTestName('c');
    const kind = uniqueTestName('k');
    const filters = [`${harness.root}.${kind}.>`];
    const events: RecordedEvent[] = [];
    for (let j = 0; j < 10; j += 1) events.push(...(await appendJob(harness.store, kind, `${name}-${j}`, ['JobSubmitted', 'JobStarted'])));

    child = spawnTsProcess(path.join(__dirname, 'testing/consumer-process.ts'), {
      DATABASE_URL: harness.url as string,
      NATS_URL: testNatsUrl(),
      NATS_EVENTS_STREAM: stream.name,
      NATS_SUBJECT_ROOT: stream.subjectRoot,
      CONSUMER_NAME: name,
      CONSUMER_FILTERS: filters.join(','),
      CONSUMER_ACK_WAIT_MS: '1000',
      CONSUMER_HANG_AT: '5',
    });
    const hung = await child.waitFor(
      (m) => ((m as ConsumerProcessMessage).type === 'committedNotAcked' ? (m as ConsumerProcessMessage & { eventId: string; handledBefore: string[] }) : undefined),
      20_000,
      'a committed, unacknowledged event',
    );
    // Its writes are committed and its inbox row too; the message itself is still unacknowledged.
    expect(await appliedCounts(harness.db, name)).toEqual({ rows: 5, distinctEvents: 5 });
    const info = await stream.jsm.consumers.info(stream.name, name);
    expect(info.num_ack_pending).toBeGreaterThan(0);
    expect(await child.kill('SIGKILL')).toBe('SIGKILL');

    const outcomes = new Map<string, DeliveryOutcome[]>();
    const handled: string[] = [];
    const successor = new JetStreamEventConsumers({
      nc: stream.nc,
      db: harness.db as EventStoreDb,
      streamName: stream.name,
      ackWaitMs: 1_000,
      hooks: { beforeAck: (e, outcome) => void outcomes.set(e.eventId, [...(outcomes.get(e.eventId) ?? []), outcome]) },
    });
    consumer = await successor.start({
      name,
      filterSubjects: filters,
      async handle(recorded, tx) {
        handled.push(recorded.eventId);
        await recordApplied(tx, name, recorded);
      },
    });

    // Redelivered after its ack wait, the event met its inbox row and was only acknowledged.
    await eventually(() => outcomes.get(hung.eventId)?.includes('duplicate'), { message: 'the redelivery of the hung event' });
    await eventually(async () => (await appliedCounts(harness.db, name)).rows >= events.length, { message: 'every event applied' });
    await eventually(async () => (await stream.jsm.consumers.info(stream.name, name)).num_ack_pending === 0, {
      message: 'nothing pending',
    });
    expect(await appliedCounts(harness.db, name)).toEqual({ rows: events.length, distinctEvents: events.length });
    expect(await inboxCount(harness.db, name)).toBe(events.length);
    expect(handled).not.toContain(hung.eventId);
    for (const eventId of hung.handledBefore) expect(handled).not.toContain(eventId);
    expect(handled).toHaveLength(events.length - 5);
  });
});
