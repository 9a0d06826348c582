import { sql } from 'kysely';
import type { Event, RecordedEvent } from '@switchyard/contracts';
import { PostgresEventStore } from './event-store';
import { isVersionConflict, VersionConflictError } from './errors';
import type { InlineProjection } from './types';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from './testing';

const event = (type: string, n = 0): Event => ({ type, data: { n } });

const counterMigrations = {
  '0900_test_counters': {
    async up(db: import('kysely').Kysely<unknown>) {
      await sql`CREATE TABLE counters (stream_id text PRIMARY KEY, count integer NOT NULL)`.execute(db);
    },
  },
};

const counterProjection: InlineProjection = {
  name: 'counters',
  canHandle: ['Counted'],
  async handle(events, tx) {
    for (const recorded of events) {
      await sql`INSERT INTO counters VALUES (${recorded.streamId}, 1)
        ON CONFLICT (stream_id) DO UPDATE SET count = counters.count + 1`.execute(tx);
    }
  },
};

describe.each(TEST_BACKENDS)('event store on %s', (backend) => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'event_store', counterMigrations);
    store = new PostgresEventStore(database.db as never, { projections: [counterProjection] });
  });
  afterAll(() => database.dispose());

  const counter = async (streamId: string): Promise<number | undefined> => {
    const { rows } = await sql<{ count: number }>`SELECT count FROM counters WHERE stream_id = ${streamId}`.execute(
      database.db,
    );
    return rows[0]?.count;
  };

  it('appends and reads a stream back in version order with positions and metadata', async () => {
    const result = await store.appendToStream('job-a1', [event('A', 1), event('B', 2)], {
      expectedVersion: 'no_stream',
      metadata: { orgId: 'org1', kind: 'print' },
    });
    expect(result.nextExpectedVersion).toBe(2);

    const read = await store.readStream('job-a1');
    expect(read.exists).toBe(true);
    expect(read.currentVersion).toBe(2);
    expect(read.events.map((e) => [e.type, e.streamVersion, e.data])).toEqual([
      ['A', 1, { n: 1 }],
      ['B', 2, { n: 2 }],
    ]);
    const [first, second] = read.events as [RecordedEvent, RecordedEvent];
    expect(second.globalPosition).toBeGreaterThan(first.globalPosition);
    expect(first.transactionId).toBe(second.transactionId);
    expect(first.metadata).toEqual({ orgId: 'org1', kind: 'print' });
    expect(first.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.createdAt).toBeInstanceOf(Date);
    expect(result.events.map((e) => e.eventId)).toEqual(read.events.map((e) => e.eventId));
  });

  it('reads a version range, and an unknown stream as empty', async () => {
    await store.appendToStream('job-range', [event('A'), event('B'), event('C'), event('D')]);
    const middle = await store.readStream('job-range', { from: 2, to: 3 });
    expect(middle.events.map((e) => e.streamVersion)).toEqual([2, 3]);
    expect(middle.currentVersion).toBe(4);
    expect(await store.readStream('job-none')).toEqual({ events: [], currentVersion: 0, exists: false });
  });

  it('honours every expected-version form', async () => {
    await expect(store.appendToStream('s-exists', [event('A')], { expectedVersion: 'exists' })).rejects.toThrow(
      VersionConflictError,
    );
    await store.appendToStream('s-exists', [event('A')], { expectedVersion: 'no_stream' });
    await expect(store.appendToStream('s-exists', [event('A')], { expectedVersion: 'no_stream' })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
      actualVersion: 1,
    });
    await expect(store.appendToStream('s-exists', [event('B')], { expectedVersion: 'exists' })).resolves.toMatchObject({
      nextExpectedVersion: 2,
    });
    await expect(store.appendToStream('s-exists', [event('C')], { expectedVersion: 1 })).rejects.toMatchObject({
      expectedVersion: 1,
      actualVersion: 2,
    });
    await expect(store.appendToStream('s-exists', [event('C')], { expectedVersion: 2 })).resolves.toMatchObject({
      nextExpectedVersion: 3,
    });
    await expect(store.appendToStream('s-exists', [event('D')], { expectedVersion: 'any' })).resolves.toMatchObject({
      nextExpectedVersion: 4,
    });
    await expect(store.appendToStream('s-any-new', [event('D')], { expectedVersion: 'any' })).resolves.toMatchObject({
      nextExpectedVersion: 1,
    });
    await expect(store.appendToStream('s-zero', [event('D')], { expectedVersion: 0 })).resolves.toMatchObject({
      nextExpectedVersion: 1,
    });
    await expect(store.appendToStream('s-zero', [event('D')], { expectedVersion: -1 })).rejects.toThrow(RangeError);
    expect((await store.readStream('s-exists')).events.map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
  });

  it('appends to several streams in one transaction, all or nothing', async () => {
    await store.transaction(async (session) => {
      await session.appendToStream('job-t1', [event('Counted')], { expectedVersion: 'no_stream' });
      await session.appendToStream('credits-t1', [event('Debited')], { expectedVersion: 'no_stream' });
    });
    expect((await store.readStream('job-t1')).currentVersion).toBe(1);
    expect((await store.readStream('credits-t1')).currentVersion).toBe(1);

    const attempt = store.transaction(async (session) => {
      await session.appendToStream('job-t2', [event('Counted')], { expectedVersion: 'no_stream' });
      await session.appendToStream('credits-t1', [event('Debited')], { expectedVersion: 'no_stream' });
    });
    await expect(attempt).rejects.toBeInstanceOf(VersionConflictError);
    expect((await store.readStream('job-t2')).exists).toBe(false);
    expect(await counter('job-t2')).toBeUndefined();
  });

  it('runs inline projections inside the append transaction', async () => {
    await store.appendToStream('job-p1', [event('Counted'), event('Other'), event('Counted')]);
    expect(await counter('job-p1')).toBe(2);
    await expect(
      store.transaction(async (session) => {
        await session.appendToStream('job-p1', [event('Counted')], { expectedVersion: 3 });
        throw new Error('handler failed after the append');
      }),
    ).rejects.toThrow('handler failed');
    expect(await counter('job-p1')).toBe(2);
    expect((await store.readStream('job-p1')).currentVersion).toBe(3);
  });

  it('lets a caller write its own rows in the same transaction as the events', async () => {
    await store.transaction(async (session) => {
      await session.appendToStream('job-own', [event('A')]);
      await sql`INSERT INTO counters VALUES ('own-row', 7)`.execute(session.tx);
    });
    expect(await counter('own-row')).toBe(7);
  });

  it('returns the current version and appends nothing for an empty append', async () => {
    await store.appendToStream('job-empty', [event('A')]);
    await expect(store.appendToStream('job-empty', [], { expectedVersion: 1 })).resolves.toMatchObject({
      nextExpectedVersion: 1,
      events: [],
    });
  });

  it('lets exactly one of two racing writers with the same expected version win', async () => {
    await store.appendToStream('job-race', [event('A')]);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => store.appendToStream('job-race', [event('B', i)], { expectedVersion: 1 })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(5);
    for (const failure of rejected) expect(isVersionConflict(failure.reason)).toBe(true);
    expect((await store.readStream('job-race')).currentVersion).toBe(2);
  });

  it('keeps data of any JSON shape intact, including quotes, unicode and nesting', async () => {
    const data = { text: `a "quoted" 'string' \\ with ☃ and \n newline`, nested: { list: [1, null, true, { x: 'y' }] } };
    await store.appendToStream('job-json', [{ type: 'Shaped', data }]);
    expect((await store.readStream('job-json')).events[0]?.data).toEqual(data);
  });

  describe('group commit', () => {
    const failingProjection: InlineProjection = {
      name: 'refuses-poison',
      canHandle: ['Poison', 'Counted'],
      async handle(events) {
        if (events.some((recorded) => recorded.type === 'Poison')) throw new Error('poison refused');
      },
    };
    // One lane: the appends made in one turn of the event loop go as one group.
    const grouped = (): PostgresEventStore =>
      new PostgresEventStore(database.db as never, {
        projections: [counterProjection, failingProjection],
        groupCommit: { maxInFlight: 1, maxGroup: 64 },
      });

    it('commits appends made together in one transaction, each with its own versions and projection', async () => {
      const groupStore = grouped();
      await groupStore.appendToStream('gc-old', [event('Counted')], { expectedVersion: 'no_stream' });
      const results = await Promise.all([
        groupStore.appendToStream('gc-first', [event('Counted', 1)], { expectedVersion: 'no_stream' }),
        groupStore.appendToStream('gc-a', [event('Counted', 2), event('Counted', 3)], { expectedVersion: 'no_stream' }),
        groupStore.appendToStream('gc-b', [event('Counted', 4)], { expectedVersion: 0 }),
        groupStore.appendToStream('gc-old', [event('Counted', 5)], { expectedVersion: 1 }),
      ]);
      // Made in one turn, they go as one group, though the lane was free when the first was made.
      const transactions = new Set(results.flatMap((result) => result.events.map((recorded) => recorded.transactionId)));
      expect(transactions.size).toBe(1);
      expect(results.map((result) => result.nextExpectedVersion)).toEqual([1, 2, 1, 2]);
      expect((await groupStore.readStream('gc-a')).events.map((recorded) => [recorded.streamVersion, recorded.data['n']])).toEqual([
        [1, 2],
        [2, 3],
      ]);
      // Positions follow each stream's versions and the order the appends were made.
      const positions = results.flatMap((result) => result.events.map((recorded) => recorded.globalPosition));
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
      expect([await counter('gc-a'), await counter('gc-b'), await counter('gc-old')]).toEqual([2, 1, 2]);
    });

    it('refuses only the append whose stream is not at its expected version', async () => {
      const groupStore = grouped();
      await groupStore.appendToStream('gc-taken', [event('Counted')]);
      const [, stale, fresh] = await Promise.allSettled([
        groupStore.appendToStream('gc-lead', [event('Counted')], { expectedVersion: 'no_stream' }),
        groupStore.appendToStream('gc-taken', [event('Counted')], { expectedVersion: 'no_stream' }),
        groupStore.appendToStream('gc-fresh', [event('Counted')], { expectedVersion: 'no_stream' }),
      ]);
      expect(stale.status === 'rejected' && stale.reason).toBeInstanceOf(VersionConflictError);
      expect(stale.status === 'rejected' && (stale.reason as VersionConflictError).actualVersion).toBe(1);
      expect(fresh.status).toBe('fulfilled');
      expect((await groupStore.readStream('gc-taken')).currentVersion).toBe(1);
      expect(await counter('gc-taken')).toBe(1);
    });

    it("fails only the append whose projection throws; the rest of its group commits", async () => {
      const groupStore = grouped();
      const [, poisoned, healthy] = await Promise.allSettled([
        groupStore.appendToStream('gc-lead2', [event('Counted')], { expectedVersion: 'no_stream' }),
        groupStore.appendToStream('gc-poison', [event('Poison')], { expectedVersion: 'no_stream' }),
        groupStore.appendToStream('gc-healthy', [event('Counted')], { expectedVersion: 'no_stream' }),
      ]);
      expect(poisoned.status === 'rejected' && (poisoned.reason as Error).message).toBe('poison refused');
      expect(healthy.status).toBe('fulfilled');
      expect((await groupStore.readStream('gc-poison')).exists).toBe(false);
      expect((await groupStore.readStream('gc-healthy')).currentVersion).toBe(1);
      expect(await counter('gc-healthy')).toBe(1);
    });

    it('reads several streams in one query and appends to several in one statement, refusing only the stale one', async () => {
      await store.appendToStream('multi-a', [event('A', 1)]);
      await store.appendToStream('multi-b', [event('A', 2), event('B', 3)]);
      const read = await store.readStreams(['multi-b', 'multi-a', 'multi-none']);
      expect(
        ['multi-a', 'multi-b', 'multi-none'].map((id) => {
          const stream = read.get(id);
          return [stream?.currentVersion, stream?.exists, stream?.events.map((recorded) => recorded.data['n'])];
        }),
      ).toEqual([
        [1, true, [1]],
        [2, true, [2, 3]],
        [0, false, []],
      ]);
      const results = await store.transaction((session) =>
        session.appendToStreams([
          { streamId: 'multi-a', events: [event('Counted', 4)], expectedVersion: 1 },
          { streamId: 'multi-b', events: [event('Counted', 5)], expectedVersion: 1 },
          { streamId: 'multi-none', events: [event('Counted', 6)], expectedVersion: 'no_stream', metadata: { actor: 'tester' } },
        ]),
      );
      expect(results[0]).toMatchObject({ nextExpectedVersion: 2 });
      expect(results[1]).toBeInstanceOf(VersionConflictError);
      expect((results[1] as VersionConflictError).actualVersion).toBe(2);
      expect(results[2]).toMatchObject({ nextExpectedVersion: 1, events: [{ metadata: { actor: 'tester' } }] });
      expect([await counter('multi-a'), await counter('multi-b'), await counter('multi-none')]).toEqual([1, undefined, 1]);
    });

    it('appends to a single stream through appendToStreams with its projection, answering a stale version', async () => {
      await store.appendToStream('job-single', [event('Counted', 1)]);
      const [stale] = await store.transaction((session) =>
        session.appendToStreams([{ streamId: 'job-single', events: [event('Counted', 2)], expectedVersion: 0 }]),
      );
      expect(stale).toBeInstanceOf(VersionConflictError);
      expect((stale as VersionConflictError).actualVersion).toBe(1);
      const [fresh] = await store.transaction((session) =>
        session.appendToStreams([{ streamId: 'job-single', events: [event('Counted', 3)], expectedVersion: 1, metadata: { actor: 'tester' } }]),
      );
      expect(fresh).toMatchObject({ nextExpectedVersion: 2, events: [{ data: { n: 3 }, metadata: { actor: 'tester' } }] });
      expect(await counter('job-single')).toBe(2);
    });

    it("writes the caller's alsoWrite with the append, for the streams whose append took", async () => {
      await store.appendToStream('also-a', [event('A', 1)]);
      await store.appendToStream('also-b', [event('A', 1), event('A', 2)]);
      // `claim` holds each stream whose append took, at its new version.
      const alsoWrite = sql`INSERT INTO counters (stream_id, count) SELECT 'also:' || claim.stream_id, claim.version FROM claim`;
      const also = async (): Promise<[string, number][]> => {
        const { rows } = await sql<{ stream_id: string; count: number }>`
          SELECT stream_id, count FROM counters WHERE stream_id LIKE 'also:%' ORDER BY stream_id`.execute(database.db);
        return rows.map((row) => [row.stream_id, row.count]);
      };

      const group = await store.transaction((session) =>
        session.appendToStreams(
          [
            { streamId: 'also-a', events: [event('A', 2)], expectedVersion: 1 },
            { streamId: 'also-b', events: [event('A', 3)], expectedVersion: 1 },
            { streamId: 'also-c', events: [event('A', 1), event('A', 2)], expectedVersion: 'no_stream' },
          ],
          { alsoWrite },
        ),
      );
      expect(group[1]).toBeInstanceOf(VersionConflictError);
      expect(await also()).toEqual([
        ['also:also-a', 2],
        ['also:also-c', 2],
      ]);

      // One stream, through its own statement; and with the transaction, the write rolls back.
      await store.transaction((session) => session.appendToStreams([{ streamId: 'also-b', events: [event('A', 3)], expectedVersion: 2 }], { alsoWrite }));
      // The store's own appendToStreams, outside any caller's transaction, writes it too.
      const [stale, taken] = await store.appendToStreams(
        [
          { streamId: 'also-a', events: [event('A', 3)], expectedVersion: 1 },
          { streamId: 'also-e', events: [event('A', 1)], expectedVersion: 'no_stream' },
        ],
        { alsoWrite },
      );
      expect(stale).toBeInstanceOf(VersionConflictError);
      expect(taken).toMatchObject({ nextExpectedVersion: 1 });
      await expect(
        store.transaction(async (session) => {
          await session.appendToStreams([{ streamId: 'also-d', events: [event('A', 1)], expectedVersion: 'no_stream' }], { alsoWrite });
          throw new Error('the caller gives up');
        }),
      ).rejects.toThrow('the caller gives up');
      expect(await also()).toEqual([
        ['also:also-a', 2],
        ['also:also-b', 3],
        ['also:also-c', 2],
        ['also:also-e', 1],
      ]);
    });

    it('reads several streams by the stream index, before the log has any statistics', async () => {
      // 400 streams of 5 events in a log nobody has analyzed: a plain join planned without
      // statistics hashes a scan of the whole events table for every multi-stream read.
      const many = Array.from({ length: 400 }, (_, i) => ({
        streamId: `scan-${i}`,
        events: [1, 2, 3, 4, 5].map((n) => event('A', n)),
        expectedVersion: 'no_stream' as const,
      }));
      await store.transaction((session) => session.appendToStreams(many));
      const scans = await store.transaction(async (session) => {
        // This backend's scan count of events not yet flushed to the shared statistics: a delta.
        const seqScans = async (): Promise<number> => {
          const { rows } = await sql<{ seq_scan: string }>`
            SELECT seq_scan::text FROM pg_stat_xact_user_tables WHERE relname = 'events'`.execute(session.tx);
          return Number(rows[0]?.seq_scan);
        };
        const before = await seqScans();
        const read = await session.readStreams(['scan-7', 'scan-300', 'scan-42']);
        expect([...read.values()].map((stream) => stream.events.map((recorded) => recorded.data['n']))).toEqual([
          [1, 2, 3, 4, 5],
          [1, 2, 3, 4, 5],
          [1, 2, 3, 4, 5],
        ]);
        return (await seqScans()) - before;
      });
      expect(scans).toBe(0);
    });

    it("keeps a stream's appends made together in the order they were made", async () => {
      const groupStore = grouped();
      const results = await Promise.all([
        groupStore.appendToStream('gc-seq', [event('Counted', 1)], { expectedVersion: 'no_stream' }),
        groupStore.appendToStream('gc-seq', [event('Counted', 2)], { expectedVersion: 1 }),
        groupStore.appendToStream('gc-seq', [event('Counted', 3)], { expectedVersion: 2 }),
      ]);
      expect(results.map((result) => result.nextExpectedVersion)).toEqual([1, 2, 3]);
      expect((await groupStore.readStream('gc-seq')).events.map((recorded) => recorded.data['n'])).toEqual([1, 2, 3]);
    });
  });
});
