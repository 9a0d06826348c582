import { sql } from 'kysely';
import type { RecordedEvent } from '@switchyard/contracts';
import { PostgresEventStore } from './event-store';
import { isVersionConflict } from './errors';
import { createPostgresTestDatabase, eventually, type TestDatabase } from './testing';

const WRITERS = 8;
const APPENDS_PER_WRITER = 500;
const STREAMS = 50;

// The acceptance test of issue 3: concurrent writers on shared streams, a subscriber that must see
// every committed event exactly once, and a transaction that takes an early position but commits late.
describe('event store under concurrency on PostgreSQL', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createPostgresTestDatabase('concurrency', {}, WRITERS + 6);
    store = new PostgresEventStore(database.db as never);
  });
  afterAll(() => database.dispose());

  it(`${WRITERS} writers x ${APPENDS_PER_WRITER} appends over ${STREAMS} streams: no gaps, nothing skipped or repeated`, async () => {
    const delivered: RecordedEvent[] = [];
    const subscription = store.subscribe('acceptance', async (events) => void delivered.push(...events), {
      batchSize: 200,
    });
    await subscription.caughtUp();

    // Take a global position now and commit only after later positions have committed.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let heldPosition = 0;
    let heldAppended!: () => void;
    const heldIsAppended = new Promise<void>((resolve) => (heldAppended = resolve));
    const held = store.transaction(async (session) => {
      const result = await session.appendToStream('job-held', [{ type: 'Held', data: {} }], {
        expectedVersion: 'no_stream',
      });
      heldPosition = result.lastGlobalPosition;
      heldAppended();
      await released;
    });
    await heldIsAppended;

    let successes = 0;
    let conflicts = 0;
    let committedAfterHeldPosition = 0;
    const writer = async (writerId: number): Promise<void> => {
      const known = new Map<string, number>();
      for (let i = 0; i < APPENDS_PER_WRITER; i++) {
        const streamId = `job-shared-${(writerId * 7 + i * 13) % STREAMS}`;
        const twoEvents = i % 5 === 0;
        const events = Array.from({ length: twoEvents ? 2 : 1 }, (_, k) => ({
          type: 'Appended',
          data: { writerId, i, k },
        }));
        // Mostly exact versions from what this writer last saw (often stale: that is the point).
        const expectedVersion = i % 4 === 0 ? ('any' as const) : (known.get(streamId) ?? 0);
        try {
          const result = await store.appendToStream(streamId, events, { expectedVersion });
          known.set(streamId, result.nextExpectedVersion);
          successes += 1;
          if (result.lastGlobalPosition > heldPosition) committedAfterHeldPosition += 1;
        } catch (error) {
          if (!isVersionConflict(error)) throw error;
          conflicts += 1;
          known.set(streamId, error.actualVersion);
        }
        if (writerId === 0 && i === APPENDS_PER_WRITER / 2) release();
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    release();
    await held;
    await subscription.caughtUp();
    await subscription.stop();

    expect(successes + conflicts).toBe(WRITERS * APPENDS_PER_WRITER);
    expect(successes).toBeGreaterThan(0);
    expect(conflicts).toBeGreaterThan(0);
    // The held transaction really did commit after later positions had committed.
    expect(committedAfterHeldPosition).toBeGreaterThan(0);

    const { rows: gaps } = await sql<{ stream_id: string }>`
      SELECT stream_id FROM events GROUP BY stream_id
      HAVING count(*) <> max(stream_version) OR min(stream_version) <> 1`.execute(database.db);
    expect(gaps).toEqual([]);
    const { rows: versions } = await sql<{ stream_id: string; version: number; events: number }>`
      SELECT s.stream_id, s.version, count(e.*)::int AS events FROM streams s
      JOIN events e USING (stream_id) GROUP BY s.stream_id, s.version`.execute(database.db);
    for (const row of versions) expect(row.events).toBe(row.version);

    const { rows: logged } = await sql<{ event_id: string }>`SELECT event_id::text FROM events`.execute(database.db);
    const deliveredIds = delivered.map((e) => e.eventId);
    expect(new Set(deliveredIds).size).toBe(deliveredIds.length);
    expect(new Set(deliveredIds)).toEqual(new Set(logged.map((row) => row.event_id)));
    expect(delivered.some((e) => e.streamId === 'job-held')).toBe(true);

    const lastVersion = new Map<string, number>();
    for (const recorded of delivered) {
      expect(recorded.streamVersion).toBe((lastVersion.get(recorded.streamId) ?? 0) + 1);
      lastVersion.set(recorded.streamId, recorded.streamVersion);
    }
  }, 60_000);

  it('caughtUp waits out a transaction open from before the call, then has delivered what committed before it', async () => {
    const delivered: RecordedEvent[] = [];
    // A tiny lease: every poll renews it, so the checkpoint row's updated_at tells when a poll ran.
    const subscription = store.subscribe('horizon', async (events) => void delivered.push(...events), { leaseMs: 3, idlePollMs: 5 });
    await subscription.caughtUp();

    // A transaction with an id stays open: nothing committed after it is visible to any poll yet.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const blocker = database.db.transaction().execute(async (tx) => {
      await sql`SELECT pg_current_xact_id()`.execute(tx);
      opened();
      await released;
    });
    await isOpen;
    await store.appendToStream('job-behind-blocker', [{ type: 'Committed', data: {} }]);

    let deliveredWhenCaughtUp: RecordedEvent[] | undefined;
    const caughtUp = subscription.caughtUp().then(() => (deliveredWhenCaughtUp = [...delivered]));
    const pollStarted = async (): Promise<number> => {
      const { rows } = await sql<{ at: Date }>`
        SELECT updated_at AS at FROM subscription_checkpoints WHERE consumer = 'horizon'`.execute(database.db);
      return (rows[0] as { at: Date }).at.getTime();
    };
    try {
      const { rows } = await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(database.db);
      const called = (rows[0] as { now: Date }).now.getTime();
      // Two polls that began after the call drained without the event: neither may release the wait.
      const first = await eventually(async () => ((await pollStarted()) > called ? pollStarted() : undefined));
      await eventually(async () => (await pollStarted()) > first);
      expect(deliveredWhenCaughtUp?.length).toBeUndefined();
    } finally {
      release();
      await blocker;
    }
    await caughtUp;
    expect(deliveredWhenCaughtUp?.map((e) => e.streamId)).toContain('job-behind-blocker');
    await subscription.stop();
  });
});
