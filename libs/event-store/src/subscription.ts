import { randomUUID } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import { JOB_STREAM_PREFIX, type RecordedEvent } from '@switchyard/contracts';
import { PREPARED } from './database';
import { toRecordedEvent, type EventRow } from './rows';
import type { AfterCommit, EventStoreDb, EventStoreTx, Subscription, SubscriptionHandler, SubscriptionOptions } from './types';

type PollOutcome = 'drained' | 'more' | 'standby';

/** The checkpoint's columns of a poll's rows, repeated on each. */
interface CheckpointRow {
  checkpoint_transaction_id: string;
  checkpoint_position: string;
  owner: string | null;
  leased: boolean;
  /** Every transaction below this id had ended when the poll looked: the poll reads up to it. */
  visible_below: string;
}

/** An event's columns where the LEFT JOIN found none: all null. */
type Nullable<T> = { [K in keyof T]: T[K] | null };

const DEFAULTS = { batchSize: 500, idlePollMs: 25, leaseMs: 10_000 };

/**
 * `events` rows of the types and job kinds a subscription reads (undefined: any).
 *
 * The test is wrapped in a CASE, which the planner does not look into: it takes half the rows to
 * pass. Its own estimate of the test was a few rows in thousands, whatever the truth (the kind is
 * inside `metadata`, and a prepared plan knows no types), so a read of the first events past a
 * checkpoint was planned as a read of every event up to the horizon, then a sort. With 5,000 to
 * 13,000 events between a worker's checkpoint and the horizon, that took 6 to 10 ms a poll on
 * PGlite; walking the index in order and stopping at the limit takes a tenth of a millisecond.
 */
export const subscriptionFilter = (eventTypes?: readonly string[], jobKinds?: readonly string[]): RawBuilder<boolean> => {
  const types = eventTypes ? [...eventTypes] : null;
  const kinds = jobKinds ? [...jobKinds] : null;
  // A job stream's event passes with one of the kinds, any other stream's whatever its kind.
  return sql<boolean>`CASE WHEN (${types}::text[] IS NULL OR events.type = ANY(${types}::text[]))
    AND (${kinds}::text[] IS NULL OR NOT starts_with(events.stream_id, ${JOB_STREAM_PREFIX})
         OR coalesce(events.metadata->>'kind', 'job') = ANY(${kinds}::text[])) THEN true ELSE false END`;
};

/**
 * Whether any event past `from` and below the horizon passes `filtered`. Not prepared: it is planned
 * for each `from`. A prepared look soon ran on a plan made for any `from`, which cannot know that
 * `from` is recent and scanned the whole log (10.5 ms at 60,000 events on PGlite, against 0.6 ms by
 * the index).
 *
 * The first such event in log order, not EXISTS: the planner takes EXISTS to stop at the first of
 * the rows it expects to pass, and with no statistics on `events` (a young database, or autovacuum
 * off) it expected thousands, so it scanned the log from its start. Ordered by the index, the read
 * starts at `from`: on the bench's 24,000 events, a look took 10 to 18 ms of PostgreSQL each.
 */
export const lookStatement = (
  from: { transactionId: string; position: string },
  filtered: RawBuilder<boolean>,
): RawBuilder<{ visible_below: string; readable: boolean }> => sql`
  SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS visible_below,
         coalesce((SELECT true FROM events
                   WHERE (transaction_id, global_position) > (${from.transactionId}::xid8, ${from.position}::bigint)
                     AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
                     AND ${filtered}
                   ORDER BY transaction_id, global_position
                   LIMIT 1), false) AS readable`;

/**
 * A consumer's checkpoint, locked when `locked`, and the first `limit` events past it that pass
 * `filtered`, in one statement and so one snapshot: the events read are exactly those below that
 * snapshot's horizon. One row with null event columns when there are none.
 */
export const pollStatement = (
  consumer: string,
  filtered: RawBuilder<boolean>,
  limit: number,
  locked = true,
): RawBuilder<CheckpointRow & Nullable<EventRow>> => sql`${sql.raw(PREPARED)}
  WITH checkpoint AS (
    SELECT transaction_id, global_position, owner, coalesce(lease_expires_at > now(), false) AS leased,
           pg_snapshot_xmin(pg_current_snapshot()) AS visible_below
    FROM subscription_checkpoints WHERE consumer = ${consumer}
    ${sql.raw(locked ? 'FOR UPDATE' : '')}
  )
  SELECT c.transaction_id::text AS checkpoint_transaction_id, c.global_position::text AS checkpoint_position,
         c.owner, c.leased, c.visible_below::text AS visible_below,
         e.global_position::text AS global_position, e.transaction_id::text AS transaction_id,
         e.event_id::text AS event_id, e.stream_id, e.stream_version, e.type, e.data, e.metadata, e.created_at
  FROM checkpoint c
  LEFT JOIN LATERAL (
    SELECT * FROM events
    WHERE (events.transaction_id, events.global_position) > (c.transaction_id, c.global_position)
      AND events.transaction_id < c.visible_below
      AND ${filtered}
    ORDER BY events.transaction_id, events.global_position
    LIMIT ${limit}
  ) e ON true
  -- Qualified: the bare names would sort by the text aliases above ("100" < "99").
  ORDER BY e.transaction_id, e.global_position`;

/**
 * Follows the log in (transaction_id, global_position) order, reading only rows whose transaction
 * is older than every transaction still running (`pg_snapshot_xmin`). A transaction that took an
 * early position but commits late is therefore never skipped: nothing after it is read until it
 * ends. The checkpoint moves in the handler's own transaction, so a batch is applied exactly once
 * (at least once, for a handler that asked for no transaction: see SubscriptionOptions.atLeastOnce).
 * A lease on the checkpoint row keeps one instance per consumer name active; others stand by.
 *
 * An idle instance that holds the lease looks before it polls: one statement, no transaction and
 * no lock, asks whether anything past its own checkpoint has become readable; a look that found
 * nothing is not read again by the next, which starts at its horizon. Only then, or when
 * woken, when its last poll was full, or when the lease is due, does it poll. Only the lease
 * holder moves the checkpoint, so its own last commit is the checkpoint; a wrong look costs at
 * most a delay until the lease's renewal polls, never an event.
 *
 * `eventTypes` and `jobKinds` are filtered in the database, so a consumer of a few types or kinds
 * reads only those; a poll that read all there was moves the checkpoint to the horizon it read
 * below, past the rest. A consumer with `ready` and `room` is polled only when it has room, for no
 * more events than that.
 */
export class PollingSubscription implements Subscription {
  private readonly instanceId = randomUUID();
  private readonly batchSize: number;
  private readonly idlePollMs: number;
  private readonly leaseMs: number;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wakeTimer: { resolve: () => void; timer: NodeJS.Timeout } | undefined;
  private leaseRenewedAt = 0;
  private waiters: Array<{ horizon: bigint; resolve: () => void }> = [];
  /** The checkpoint as this instance's last poll left it, while it holds the lease. */
  private checkpoint: { transactionId: string; position: string } | undefined;
  /**
   * Where the next look starts, past the checkpoint: looks that found nothing for this subscription
   * below their horizon leave the checkpoint where it is, but the next need not read those rows again.
   */
  private lookedBelow: bigint | undefined;
  /** Woken since the last poll: something was appended here, so poll rather than look. */
  private woken = false;
  /** The last poll read as many events as it could: there are more, so poll rather than look. */
  private behind = false;
  /** `eventTypes` and `jobKinds` as the database filters `events` by them. */
  private readonly filtered: RawBuilder<boolean>;
  /** Ends the wait for the handler's room, when stop() is called during it. */
  private roomWaiter: (() => void) | undefined;

  constructor(
    private readonly db: EventStoreDb,
    readonly consumer: string,
    private readonly handler: SubscriptionHandler,
    private readonly options: SubscriptionOptions = {},
    private readonly onStopped: () => void = () => undefined,
  ) {
    this.batchSize = options.batchSize ?? DEFAULTS.batchSize;
    this.idlePollMs = options.idlePollMs ?? DEFAULTS.idlePollMs;
    this.leaseMs = options.leaseMs ?? DEFAULTS.leaseMs;
    this.filtered = subscriptionFilter(options.eventTypes, options.jobKinds);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Polls now instead of at the next look. With the events just appended: only if one of them is
   * for this subscription.
   */
  wake(appended?: readonly RecordedEvent[]): void {
    if (appended && !appended.some((event) => this.wants(event))) return;
    this.woken = true;
    this.resume();
  }

  private resume(): void {
    const pending = this.wakeTimer;
    if (pending) {
      clearTimeout(pending.timer);
      this.wakeTimer = undefined;
      pending.resolve();
    }
  }

  /**
   * Waits for a drained poll that read past every transaction committed before the call. A poll
   * reads only below the oldest running transaction of the whole cluster, so "drained" alone is not
   * enough while some other transaction, in any database, is still open.
   */
  async caughtUp(): Promise<void> {
    const { rows } = await sql<{ horizon: string }>`
      SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS horizon`.execute(this.db);
    const horizon = BigInt((rows[0] as { horizon: string }).horizon);
    return new Promise((resolve) => {
      this.waiters.push({ horizon, resolve });
      this.wake();
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.loop;
    this.stopped = true;
    this.roomWaiter?.();
    this.wake();
    await this.loop;
    await sql`UPDATE subscription_checkpoints SET owner = NULL, lease_expires_at = NULL
      WHERE consumer = ${this.consumer} AND owner = ${this.instanceId}`
      .execute(this.db)
      .catch(() => undefined);
    this.onStopped();
  }

  private async run(): Promise<void> {
    let failures = 0;
    await sql`INSERT INTO subscription_checkpoints (consumer) VALUES (${this.consumer}) ON CONFLICT DO NOTHING`
      .execute(this.db)
      .catch((error: unknown) => this.options.onError?.(error));
    while (!this.stopped) {
      let outcome: PollOutcome;
      let visibleBelow: bigint;
      try {
        await this.roomToHandle();
        if (this.stopped) break;
        ({ outcome, visibleBelow } = await this.poll());
        failures = 0;
      } catch (error) {
        this.options.onError?.(error);
        failures += 1;
        await this.pause(Math.min(5_000, 50 * 2 ** failures));
        continue;
      }
      if (outcome === 'more') continue;
      if (outcome === 'drained') this.releaseWaiters(visibleBelow);
      // Woken while it polled: what woke it may have committed after the poll read.
      if (this.woken) continue;
      await this.pause(outcome === 'standby' ? Math.max(this.idlePollMs, this.leaseMs / 4) : this.idlePollMs);
    }
  }

  /** Waits, outside any transaction, until the handler has room for an event, or the subscription stops. */
  private async roomToHandle(): Promise<void> {
    const ready = this.options.ready;
    if (!ready) return;
    await new Promise<void>((resolve) => {
      this.roomWaiter = resolve;
      void ready(this.behind).then(resolve, resolve);
    });
    this.roomWaiter = undefined;
  }

  /** Events the next poll reads at most: the batch size, or less if the handler has less room. */
  private limit(): number {
    const room = this.options.room?.();
    return room === undefined ? this.batchSize : Math.max(1, Math.min(this.batchSize, room));
  }

  private releaseWaiters(visibleBelow: bigint): void {
    const ready = this.waiters.filter((waiter) => waiter.horizon <= visibleBelow);
    this.waiters = this.waiters.filter((waiter) => waiter.horizon > visibleBelow);
    for (const waiter of ready) waiter.resolve();
  }

  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeTimer = { resolve, timer: setTimeout(() => this.resume(), ms) };
    });
  }

  private async poll(): Promise<{ outcome: PollOutcome; visibleBelow: bigint }> {
    if (this.checkpoint && !this.woken && !this.behind && Date.now() - this.leaseRenewedAt <= this.leaseMs / 3) {
      // Every transaction below a horizon had ended: what a look found nothing in stays so.
      const from = this.lookedBelow !== undefined && this.lookedBelow > BigInt(this.checkpoint.transactionId)
        ? { transactionId: String(this.lookedBelow), position: '0' }
        : this.checkpoint;
      const { rows } = await lookStatement(from, this.filtered).execute(this.db);
      const look = rows[0] as { visible_below: string; readable: boolean };
      if (!look.readable) {
        this.lookedBelow = BigInt(look.visible_below);
        return { outcome: 'drained', visibleBelow: this.lookedBelow };
      }
    }
    this.woken = false;
    this.checkpoint = undefined;
    this.lookedBelow = undefined;
    let checkpointAfter: { transactionId: string; position: string } | undefined;
    const committed: { afterCommit?: AfterCommit } = {};
    let visibleBelow = 0n;
    // now() in the transaction is no earlier than this: the lease it writes lasts at least leaseMs from here.
    const startedAt = Date.now();
    const limit = this.limit();
    let renewed = false;
    const pollIn = async (tx: EventStoreTx): Promise<PollOutcome> => {
      // Look without locking first, so a standby never holds the row the active instance needs. An
      // instance whose lease is fresh is the only one polling: it goes straight to the lock.
      if (!this.holdsLease()) {
        const leasedElsewhere = await sql<{ owner: string | null }>`
          SELECT owner FROM subscription_checkpoints
          WHERE consumer = ${this.consumer} AND owner <> ${this.instanceId} AND lease_expires_at > now()`.execute(tx);
        if (leasedElsewhere.rows.length > 0) return 'standby';
      }

      // At least once, the poll is a statement of its own: a lock would end with it, having guarded
      // nothing, and cost a transaction that waits for a WAL flush to commit (0.69 a job in the
      // bench, a fifth of all). The checkpoint's move checks the row instead.
      const { rows: polled } = await pollStatement(this.consumer, this.filtered, limit, !this.options.atLeastOnce).execute(tx);
      const checkpoint = polled[0];
      if (!checkpoint) throw new Error(`subscription ${this.consumer}: checkpoint row is missing`);
      visibleBelow = BigInt(checkpoint.visible_below);
      // Two instances raced for an expired lease and the other took it while we waited for the lock.
      if (checkpoint.owner !== this.instanceId && checkpoint.leased) return 'standby';
      const rows = polled.filter((row): row is CheckpointRow & EventRow => row.event_id !== null);

      const events = rows.map(toRecordedEvent).filter((event) => this.wants(event));
      if (events.length > 0) committed.afterCommit = (await this.handler(events, tx)) ?? undefined;

      const drained = rows.length < limit;
      const last = rows[rows.length - 1];
      // Read all there was below the horizon: past it, since every event below it was read or not
      // asked for. Otherwise up to the last event read. Positions start at 1, so (horizon, 0) is
      // before every event of the horizon's own transaction.
      const stored = { transactionId: checkpoint.checkpoint_transaction_id, position: checkpoint.checkpoint_position };
      if (!drained) {
        checkpointAfter = { transactionId: (last as EventRow).transaction_id, position: String((last as EventRow).global_position) };
      } else if (BigInt(checkpoint.visible_below) > BigInt(stored.transactionId)) {
        checkpointAfter = { transactionId: checkpoint.visible_below, position: '0' };
      } else {
        checkpointAfter = stored;
      }
      const moved = checkpointAfter !== stored;
      const leaseDue = checkpoint.owner !== this.instanceId || Date.now() - this.leaseRenewedAt > this.leaseMs / 3;
      if (moved || leaseDue) {
        // At least once, nothing holds the row since the poll: move it only as the poll found it.
        // And commit the move without waiting for its WAL to reach the disk: a move the database
        // loses in a crash hands its batch to the handler again, as at least once allows. Waiting
        // took a flush of its own for each move (0.69 a job in the bench, a fifth of all flushes).
        const { unchanged, asynchronous } = this.options.atLeastOnce
          ? {
              unchanged: sql`AND transaction_id = ${stored.transactionId}::xid8 AND global_position = ${stored.position}::bigint
                AND owner IS NOT DISTINCT FROM ${checkpoint.owner}`,
              asynchronous: sql`FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous`,
            }
          : { unchanged: sql``, asynchronous: sql`` };
        const { rows: updated } = await sql`${sql.raw(PREPARED)} UPDATE subscription_checkpoints
          SET transaction_id = ${checkpointAfter.transactionId}::xid8,
              global_position = ${checkpointAfter.position}::bigint,
              owner = ${this.instanceId},
              lease_expires_at = now() + ${this.leaseMs} * interval '1 millisecond',
              updated_at = now()
          ${asynchronous}
          WHERE consumer = ${this.consumer} ${unchanged}
          RETURNING consumer`.execute(tx);
        // Another instance moved it or took it over meanwhile: it goes on from there, this one stands by.
        if (updated.length === 0) return 'standby';
        renewed = true;
      }
      return drained ? 'drained' : 'more';
    };
    // Without a transaction, the database itself runs each statement: see SubscriptionOptions.atLeastOnce.
    const outcome = this.options.atLeastOnce ? await pollIn(this.db as unknown as EventStoreTx) : await this.db.transaction().execute(pollIn);
    if (renewed) this.leaseRenewedAt = startedAt;
    this.behind = outcome === 'more';
    // Committed, and this instance holds the lease: the checkpoint is what this poll left.
    if (outcome !== 'standby' && this.holdsLease()) this.checkpoint = checkpointAfter;
    committed.afterCommit?.();
    return { outcome, visibleBelow };
  }

  /** Whether this instance's lease, renewed at least every third of its length, is far from running out. */
  private holdsLease(): boolean {
    return Date.now() - this.leaseRenewedAt < this.leaseMs / 2;
  }

  private wants(event: RecordedEvent): boolean {
    const { eventTypes, jobKinds, streamPrefixes, accepts } = this.options;
    if (eventTypes && !eventTypes.includes(event.type)) return false;
    if (jobKinds && event.streamId.startsWith(JOB_STREAM_PREFIX) && !jobKinds.includes(event.metadata.kind ?? 'job')) return false;
    if (streamPrefixes && !streamPrefixes.some((prefix) => event.streamId.startsWith(prefix))) return false;
    return accepts?.(event) ?? true;
  }
}
