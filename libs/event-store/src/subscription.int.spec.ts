import { sql, ValueNode, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import type { Event, RecordedEvent } from '@switchyard/contracts';
import { openDatabase } from './database';
import { PostgresEventStore } from './event-store';
import type { Subscription, SubscriptionOptions } from './types';
import { createTestDatabase, eventually, holdTransaction, TEST_BACKENDS, type TestDatabase } from './testing';

const event = (type: string, n = 0): Event => ({ type, data: { n } });

const effectsMigrations = {
  '0900_test_effects': {
    async up(db: import('kysely').Kysely<unknown>) {
      await sql`CREATE TABLE effects (event_id uuid PRIMARY KEY, consumer text NOT NULL)`.execute(db);
    },
  },
};

/** Counts a subscription's polls (which read its checkpoint and the events past it) and its looks (a yes or no). */
class PollCounter implements KyselyPlugin {
  polls = 0;
  looks = 0;
  /** The transaction id each look started after. */
  readonly lookedFrom: bigint[] = [];
  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    const text = node.kind === 'RawNode' ? node.sqlFragments.join('?') : '';
    if (text.includes('WITH checkpoint AS')) this.polls += 1;
    if (text.includes('AS readable')) {
      this.looks += 1;
      const [from] = node.kind === 'RawNode' ? node.parameters : [];
      if (from && ValueNode.is(from)) this.lookedFrom.push(BigInt(from.value as string));
    }
    return node;
  }
  transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(result);
  }
}

describe.each(TEST_BACKENDS)('subscriptions on %s', (backend) => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  const running: Subscription[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'subscriptions', effectsMigrations);
    store = new PostgresEventStore(database.db as never);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((subscription) => subscription.stop()));
  });
  afterAll(() => database.dispose());

  const follow = (consumer: string, seen: RecordedEvent[], options = {}): Subscription => {
    const subscription = store.subscribe(consumer, async (events) => void seen.push(...events), options);
    running.push(subscription);
    return subscription;
  };

  /**
   * A subscription through another process's store, as it were: appends through `store` do not
   * wake it. Its polls and looks are counted; what it delivers is collected in `seen`.
   */
  const watch = (consumer: string, options: SubscriptionOptions) => {
    const counter = new PollCounter();
    const watching = new PostgresEventStore(database.db.withPlugin(counter) as never);
    const seen: RecordedEvent[] = [];
    const subscription = watching.subscribe(consumer, async (events) => void seen.push(...events), options);
    running.push(subscription);
    return { counter, watching, seen, subscription };
  };

  const effects = async (consumer: string): Promise<number> => {
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM effects WHERE consumer = ${consumer}`.execute(
      database.db,
    );
    return rows[0]?.n ?? 0;
  };

  it('delivers events committed before and after it started, in order, once each', async () => {
    await store.appendToStream('job-s1', [event('A', 1), event('B', 2)]);
    const seen: RecordedEvent[] = [];
    const subscription = follow('delivers', seen);
    await store.appendToStream('job-s2', [event('C', 3)]);
    await store.appendToStream('job-s1', [event('D', 4)]);
    await subscription.caughtUp();

    const mine = seen.filter((e) => e.streamId === 'job-s1' || e.streamId === 'job-s2');
    expect(mine.map((e) => e.data['n'])).toEqual([1, 2, 3, 4]);
    expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length);
  });

  it('only looks while idle, and polls when another process appended or when its lease is due', async () => {
    const { counter, watching, seen } = watch('looks', { idlePollMs: 5, leaseMs: 60_000 });
    await eventually(() => counter.looks >= 10, { message: 'idle looks' });
    // The first poll took the lease; since then it has only looked.
    expect(counter.polls).toBe(1);

    await store.appendToStream('job-looked', [event('A', 1)]);
    await eventually(() => seen.some((e) => e.streamId === 'job-looked'), { message: 'the other process\'s event' });
    expect(counter.polls).toBe(2);

    const renewing = watching.subscribe('looks-renewing', async () => undefined, { idlePollMs: 5, leaseMs: 90 });
    running.push(renewing);
    // A lease of 90 ms is renewed every 30 ms or so, by a poll: looks alone never renew it.
    const pollsBefore = counter.polls;
    await eventually(() => counter.polls >= pollsBefore + 4, { message: 'lease renewals' });
  });

  it('starts each look where the last one found nothing, and still finds what commits below that', async () => {
    const { counter, seen } = watch('looks-onward', { eventTypes: ['Wanted'], idlePollMs: 5, leaseMs: 60_000 });
    await eventually(() => counter.looks >= 2, { message: 'idle looks' });
    const started = counter.lookedFrom.at(-1) as bigint;
    // Events it does not want: looks move on past them, while the checkpoint stays.
    for (let n = 0; n < 3; n++) await store.appendToStream(`job-unwanted-${n}`, [event('Unwanted', n)]);
    await eventually(() => (counter.lookedFrom.at(-1) as bigint) > started, { message: 'a look starting past the last' });
    expect(counter.polls).toBe(1);

    // On PostgreSQL, a transaction stays open across more looks: none may start past it.
    if (backend === 'postgres') {
      let commitLate: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (commitLate = resolve));
      const late = database.db.transaction().execute(async (tx) => {
        await store.session(tx as never).appendToStream('job-late-wanted', [event('Wanted', 1)]);
        await gate;
      });
      try {
        for (let n = 3; n < 6; n++) await store.appendToStream(`job-unwanted-${n}`, [event('Unwanted', n)]);
        const looks = counter.looks;
        await eventually(() => counter.looks >= looks + 3, { message: 'looks while a transaction is open' });
      } finally {
        commitLate();
        await late;
      }
      // Found by a look, not by the lease's renewal poll, 20 s away.
      await eventually(() => seen.some((e) => e.streamId === 'job-late-wanted'), { message: 'the late event' });
    }
    await store.appendToStream('job-wanted', [event('Wanted', 2)]);
    await eventually(() => seen.some((e) => e.streamId === 'job-wanted'), { message: 'the wanted event' });
    expect(seen.map((e) => e.streamId)).toEqual(backend === 'postgres' ? ['job-late-wanted', 'job-wanted'] : ['job-wanted']);
  });

  it('resumes from its checkpoint after a restart', async () => {
    await store.appendToStream('job-r1', [event('A', 1)]);
    const first: RecordedEvent[] = [];
    const before = follow('resumes', first);
    await before.caughtUp();
    await before.stop();

    await store.appendToStream('job-r1', [event('B', 2)]);
    const second: RecordedEvent[] = [];
    await follow('resumes', second).caughtUp();

    expect(first.some((e) => e.streamId === 'job-r1' && e.data['n'] === 1)).toBe(true);
    expect(second.filter((e) => e.streamId === 'job-r1').map((e) => e.data['n'])).toEqual([2]);
    const everything = [...first, ...second].map((e) => e.eventId);
    expect(new Set(everything).size).toBe(everything.length);
  });

  it('commits the checkpoint with the handler writes, so a failed batch is retried whole and applied once', async () => {
    await store.appendToStream('job-f1', [event('A'), event('B'), event('C')]);
    let calls = 0;
    const errors: unknown[] = [];
    const subscription = store.subscribe(
      'fails-once',
      async (events, tx) => {
        calls += 1;
        for (const recorded of events) {
          await sql`INSERT INTO effects VALUES (${recorded.eventId}::uuid, 'fails-once')`.execute(tx);
        }
        if (calls === 1) throw new Error('crash after writing');
      },
      { onError: (error) => errors.push(error) },
    );
    running.push(subscription);
    await subscription.caughtUp();

    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(database.db);
    expect(await effects('fails-once')).toBe(rows[0]?.n);
    expect(errors).toHaveLength(1);
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it('calls what a handler returns only after its batch committed', async () => {
    await store.appendToStream('job-ac1', [event('A', 1)]);
    const seenAfterCommit: number[] = [];
    const subscription = store.subscribe('after-commit', async (events, tx) => {
      for (const recorded of events) {
        await sql`INSERT INTO effects VALUES (${recorded.eventId}::uuid, 'after-commit')`.execute(tx);
      }
      // Another connection sees the handler's rows only once the batch committed.
      return () => void effects('after-commit').then((n) => seenAfterCommit.push(n));
    }, { streamPrefixes: ['job-ac'] });
    running.push(subscription);
    await subscription.caughtUp();
    await eventually(() => seenAfterCommit.length > 0);
    expect(seenAfterCommit[0]).toBeGreaterThan(0);
  });

  it('at least once, holds no transaction while its handler runs, and hands a failed batch over again', async () => {
    await store.appendToStream('job-alo1', [event('A', 1), event('B', 2)]);
    const handled: number[][] = [];
    const errors: unknown[] = [];
    let calls = 0;
    const subscription = store.subscribe(
      'at-least-once',
      async (events) => {
        calls += 1;
        // Another statement can lock the checkpoint row now (PGlite's one session is free, too): no
        // poll's transaction holds it.
        await sql`SELECT consumer FROM subscription_checkpoints WHERE consumer = 'at-least-once' FOR UPDATE NOWAIT`.execute(database.db);
        handled.push(events.map((e) => e.data['n'] as number));
        if (calls === 1) throw new Error('failed after handling');
      },
      { atLeastOnce: true, streamPrefixes: ['job-alo'], onError: (error) => errors.push(error) },
    );
    running.push(subscription);
    await subscription.caughtUp();
    expect(errors).toHaveLength(1);
    // The failed batch came again whole; the checkpoint moved only past the one that succeeded.
    expect(handled).toEqual([
      [1, 2],
      [1, 2],
    ]);
    await subscription.stop();

    await store.appendToStream('job-alo1', [event('C', 3)]);
    const after: RecordedEvent[] = [];
    await follow('at-least-once', after, { atLeastOnce: true, streamPrefixes: ['job-alo'] }).caughtUp();
    expect(after.map((e) => e.data['n'])).toEqual([3]);
  });

  // PGlite runs one transaction at a time: only PostgreSQL has another session to hold the row.
  if (backend === 'postgres') {
    it('at least once, polls while another transaction holds its checkpoint row', async () => {
      await store.appendToStream('job-unlocked1', [event('A', 1)]);
      await sql`INSERT INTO subscription_checkpoints (consumer) VALUES ('at-least-once-unlocked')`.execute(database.db);
      const holder = await holdTransaction(database.db, {
        inside: (tx) => sql`SELECT consumer FROM subscription_checkpoints WHERE consumer = 'at-least-once-unlocked' FOR UPDATE`.execute(tx),
      });
      const seen: RecordedEvent[] = [];
      try {
        follow('at-least-once-unlocked', seen, { atLeastOnce: true, streamPrefixes: ['job-unlocked'] });
        // A poll that locked the row would wait here until the holder ends.
        await eventually(() => seen.length === 1, { message: 'the event, read while the row is locked' });
      } finally {
        holder.release();
        await holder.done;
      }
      expect(seen.map((e) => e.data['n'])).toEqual([1]);
    });
  }

  it('at least once, moves its checkpoint and leaves its session committing synchronously', async () => {
    await store.appendToStream('job-async1', [event('A', 1)]);
    // One session, so the statements after the move run in the session that made it.
    const single = backend === 'postgres' ? await openDatabase({ driver: 'postgres', url: database.url as string, poolSize: 1 }) : database.db;
    try {
      const seen: RecordedEvent[] = [];
      const subscription = new PostgresEventStore(single as never).subscribe('at-least-once-async', async (events) => void seen.push(...events), {
        atLeastOnce: true,
        streamPrefixes: ['job-async'],
      });
      running.push(subscription);
      await subscription.caughtUp();
      await subscription.stop();
      const { rows: moved } = await sql<{ moved: boolean }>`
        SELECT transaction_id > '0'::xid8 AS moved FROM subscription_checkpoints WHERE consumer = 'at-least-once-async'`.execute(single);
      expect(moved).toEqual([{ moved: true }]);
      const { rows } = await sql<{ synchronous_commit: string }>`SHOW synchronous_commit`.execute(single);
      expect(rows).toEqual([{ synchronous_commit: 'on' }]);
      expect(seen.map((e) => e.data['n'])).toEqual([1]);
    } finally {
      if (single !== database.db) await single.destroy();
    }
  });

  it('at least once, leaves the checkpoint to an instance that moved it while its handler ran', async () => {
    await store.appendToStream('job-cas1', [event('A', 1)]);
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribe(
      'at-least-once-cas',
      async (events) => {
        seen.push(...events);
        // Another instance takes the lease over and moves the checkpoint meanwhile.
        if (seen.length === 1) {
          await sql`UPDATE subscription_checkpoints SET owner = 'other', lease_expires_at = now() + interval '1 hour',
              global_position = global_position + 1 WHERE consumer = 'at-least-once-cas'`.execute(database.db);
        }
      },
      { atLeastOnce: true, streamPrefixes: ['job-cas'], idlePollMs: 5 },
    );
    running.push(subscription);
    await eventually(() => seen.length === 1, { message: 'the first batch handled' });
    // Stopping waits for the poll to end: its move found the row changed and left it as the other
    // wrote it (a plain move would have taken the lease back, and stop() would then clear it).
    await subscription.stop();
    const { rows } = await sql<{ owner: string | null }>`SELECT owner FROM subscription_checkpoints WHERE consumer = 'at-least-once-cas'`.execute(database.db);
    expect(rows).toEqual([{ owner: 'other' }]);
    expect(seen.map((e) => e.data['n'])).toEqual([1]);
  });

  it('passes only the event types and stream prefixes asked for, and moves past the rest', async () => {
    await store.appendToStream('job-x1', [event('Wanted', 1), event('Unwanted', 2)]);
    await store.appendToStream('credits-x1', [event('Wanted', 3)]);
    const seen: RecordedEvent[] = [];
    await follow('filtered', seen, { eventTypes: ['Wanted'], streamPrefixes: ['job-'] }).caughtUp();
    expect(seen.every((e) => e.type === 'Wanted' && e.streamId.startsWith('job-'))).toBe(true);
    expect(seen.some((e) => e.streamId === 'job-x1' && e.data['n'] === 1)).toBe(true);
  });

  it('reads only the event types asked for, so a batch is full of them however many others lie between', async () => {
    await store.appendToStream('job-t1', [event('Typed', 1)]);
    for (let i = 0; i < 5; i++) await store.appendToStream('job-t2', [event('Untyped', i)]);
    await store.appendToStream('job-t1', [event('Typed', 2)]);
    const batches: number[][] = [];
    const subscription = store.subscribe('typed', async (events) => void batches.push(events.map((e) => e.data['n'] as number)), {
      eventTypes: ['Typed'],
      batchSize: 2,
    });
    running.push(subscription);
    await subscription.caughtUp();
    expect(batches).toEqual([[1, 2]]);
  });

  it('reads only the job kinds asked for, and other streams, so a batch is full of them however many other jobs lie between', async () => {
    const image = { metadata: { kind: 'image' } };
    await store.appendToStream('job-k1', [event('Kinded', 1)], image);
    for (let i = 0; i < 5; i++) await store.appendToStream(`job-k${i + 2}`, [event('Kinded', 10 + i)], { metadata: { kind: 'print' } });
    await store.appendToStream('job-k7', [event('Kinded', 20)]);
    await store.appendToStream('credits-k1', [event('Kinded', 2)]);
    await store.appendToStream('job-k1', [event('Kinded', 3)], image);
    const batches: number[][] = [];
    const subscription = store.subscribe('kinded', async (events) => void batches.push(events.map((e) => e.data['n'] as number)), {
      eventTypes: ['Kinded'],
      jobKinds: ['image'],
      batchSize: 3,
    });
    running.push(subscription);
    await subscription.caughtUp();
    expect(batches).toEqual([[1, 2, 3]]);
    // A job without a kind in its metadata is of the kind `job`.
    const untyped: number[] = [];
    const jobs = store.subscribe('kind-job', async (events) => void untyped.push(...events.map((e) => e.data['n'] as number)), {
      eventTypes: ['Kinded'],
      jobKinds: ['job'],
    });
    running.push(jobs);
    await jobs.caughtUp();
    expect(untyped).toEqual([20, 2]);
  });

  it('is woken by appends it wants, not by the rest', async () => {
    // Its lease renewal is an hour away: it polls only when woken or when a look finds something.
    const { counter, watching, seen, subscription } = watch('woken', { eventTypes: ['Wanted'], idlePollMs: 5, leaseMs: 3_600_000 });
    await subscription.caughtUp();
    // Two looks later, any poll woken before them has run: the loop only looks when not woken.
    const idleAfter = async (looks: number): Promise<void> => {
      await eventually(() => counter.looks >= looks + 2, { message: 'two looks' });
    };
    await idleAfter(counter.looks);
    const polls = counter.polls;
    await watching.appendToStream('job-w1', [event('Unwanted', 1)]);
    await idleAfter(counter.looks);
    expect(counter.polls).toBe(polls);
    await watching.appendToStream('job-w1', [event('Wanted', 2)]);
    await eventually(() => seen.some((e) => e.streamId === 'job-w1'), { message: 'the wanted event' });
    expect(seen.filter((e) => e.streamId === 'job-w1').map((e) => e.data['n'])).toEqual([2]);
    expect(counter.polls).toBe(polls + 1);
  });

  it('polls again at once after a full batch, without looking first', async () => {
    const counter = new PollCounter();
    const watching = new PostgresEventStore(database.db.withPlugin(counter) as never);
    const batches: number[] = [];
    // No idle look for ten minutes: every look counted here is one made before a poll.
    const subscription = watching.subscribe('behind', async (events) => void batches.push(events.length), {
      eventTypes: ['Backlog'],
      batchSize: 2,
      idlePollMs: 600_000,
      leaseMs: 3_600_000,
    });
    running.push(subscription);
    await subscription.caughtUp();
    const looks = counter.looks;
    await watching.appendToStream('job-b1', [1, 2, 3, 4, 5].map((n) => event('Backlog', n)));
    await eventually(() => batches.reduce((sum, size) => sum + size, 0) === 5, { message: 'five events' });
    expect(batches).toEqual([2, 2, 1]);
    expect(counter.looks).toBe(looks);
  });

  it('is woken by what a caller session appended once the caller says it committed', async () => {
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribe('session-woken', async (events) => void seen.push(...events), {
      eventTypes: ['FromSession'],
      idlePollMs: 600_000,
      leaseMs: 3_600_000,
    });
    running.push(subscription);
    await subscription.caughtUp();
    const session = await database.db.transaction().execute(async (tx) => {
      const opened = store.session(tx as never);
      await opened.appendToStream('job-cs1', [event('FromSession', 1)]);
      return opened;
    });
    session.committed();
    await eventually(() => seen.length > 0, { message: 'the event appended in the caller transaction' });
    expect(seen.map((e) => e.streamId)).toEqual(['job-cs1']);
  });

  it('waits for room before it polls, and reads no more events than the room', async () => {
    for (let i = 1; i <= 5; i++) await store.appendToStream(`job-r${i}`, [event('Roomy', i)]);
    const batches: number[][] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const backlogs: boolean[] = [];
    const subscription = store.subscribe('roomy', async (events) => void batches.push(events.map((e) => e.data['n'] as number)), {
      eventTypes: ['Roomy'],
      ready: (backlog) => {
        backlogs.push(backlog);
        return gate;
      },
      room: () => 2,
    });
    running.push(subscription);
    await eventually(() => backlogs.length > 0, { message: 'the subscription to ask for room' });
    expect(batches).toEqual([]);
    open();
    await subscription.caughtUp();
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    // Told of the backlog after each full batch, and no longer once it read the rest.
    await eventually(() => backlogs.length >= 4, { message: 'the next wait for room' });
    expect(backlogs.slice(0, 4)).toEqual([false, true, true, false]);
  });

  it('stops while it waits for room that never comes', async () => {
    let asked = false;
    const subscription = store.subscribe('never-room', async () => undefined, {
      ready: () => {
        asked = true;
        return new Promise<void>(() => undefined);
      },
    });
    await eventually(() => asked, { message: 'the subscription to ask for room' });
    await expect(subscription.stop()).resolves.toBeUndefined();
  });

  it('keeps one instance per consumer name active; another takes over when it stops', async () => {
    const active: RecordedEvent[] = [];
    const standby: RecordedEvent[] = [];
    const first = follow('single', active);
    await first.caughtUp();
    const second = follow('single', standby, { leaseMs: 60_000 });

    await store.appendToStream('job-l1', [event('A', 1)]);
    await first.caughtUp();
    expect(active.some((e) => e.streamId === 'job-l1')).toBe(true);
    expect(standby).toHaveLength(0);

    await first.stop();
    await store.appendToStream('job-l1', [event('B', 2)]);
    await second.caughtUp();
    expect(standby.map((e) => [e.streamId, e.data['n']])).toEqual([['job-l1', 2]]);
  });
});
