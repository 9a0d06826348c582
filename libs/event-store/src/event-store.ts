import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Event, EventMetadata, ExpectedVersion, RecordedEvent } from '@switchyard/contracts';
import { VersionConflictError } from './errors';
import type { EventStoreTables } from './schema';
import { PREPARED } from './database';
import { toRecordedEvent, type EventRow } from './rows';
import { GroupCommit, type GroupCommitOptions, type QueuedAppend } from './group-commit';
import { PollingSubscription } from './subscription';
import type {
  AfterCommit,
  AppendOptions,
  AppendResult,
  CallerSession,
  EventStore,
  EventStoreDb,
  EventStoreSession,
  EventStoreTx,
  InlineProjection,
  ProjectionWrite,
  ReadStreamOptions,
  ReadStreamResult,
  Subscription,
  SubscriptionHandler,
  StreamAppend,
  StreamsAppendOptions,
  SubscriptionOptions,
} from './types';

export interface EventStoreOptions {
  projections?: readonly InlineProjection[];
  /**
   * Appends outside a caller's transaction that expect an exact version (every decider's do) and
   * arrive while others are being written go together, one transaction and one statement for the
   * group. `false` writes each alone. Default: 2 groups at once, 64 appends a group.
   */
  groupCommit?: Partial<GroupCommitOptions> | false;
}

/** An append with an exact expected version, as a group statement takes it. */
interface ExactAppend {
  readonly streamId: string;
  readonly events: readonly Event[];
  readonly options: AppendOptions;
  /** The exact version the stream must be at; 0: it must not exist. */
  readonly expected: number;
}

interface PendingAppend extends ExactAppend, QueuedAppend<AppendResult> {}

/** An append's events as the log will hold them, and what the projections write in its statement. */
interface Planned {
  readonly stored: readonly Stamped[];
  readonly writes: readonly ProjectionWrite[];
}

interface Stamped {
  readonly eventId: string;
  readonly type: string;
  readonly data: Event['data'];
  readonly metadata: EventMetadata;
}

const stampEvents = (events: readonly Event[], metadata: AppendOptions['metadata']): Stamped[] =>
  events.map((event) => ({
    eventId: randomUUID(),
    type: event.type,
    data: event.data,
    metadata: { ...metadata, ...event.metadata },
  }));

/**
 * Takes the stream's next versions in one statement, returning (stream_id, version) when it did,
 * the `claim` a planned projection write reads. The row lock on `streams` serializes writers
 * of one stream; `last_transaction_id <= pg_current_xact_id()` refuses an append from a transaction
 * older than the stream's last writer, so a stream's versions always follow transaction-id order,
 * which is the order subscriptions deliver in.
 */
const claimVersions = (streamId: string, count: number, expected: ExpectedVersion): RawBuilder<unknown> => {
  if (expected === 'no_stream' || expected === 0) {
    return sql`INSERT INTO streams (stream_id, version) VALUES (${streamId}, ${count})
      ON CONFLICT (stream_id) DO NOTHING RETURNING stream_id, version`;
  }
  if (expected === 'any') {
    return sql`INSERT INTO streams (stream_id, version) VALUES (${streamId}, ${count})
      ON CONFLICT (stream_id) DO UPDATE
        SET version = streams.version + EXCLUDED.version, last_transaction_id = pg_current_xact_id()
        WHERE streams.last_transaction_id <= pg_current_xact_id()
      RETURNING stream_id, version`;
  }
  const exact = expected === 'exists' ? sql`` : sql`AND version = ${expected}`;
  return sql`UPDATE streams SET version = version + ${count}, last_transaction_id = pg_current_xact_id()
    WHERE stream_id = ${streamId} ${exact} AND last_transaction_id <= pg_current_xact_id()
    RETURNING stream_id, version`;
};

const validateExpectedVersion = (expected: ExpectedVersion): void => {
  if (typeof expected === 'number' && (!Number.isInteger(expected) || expected < 0)) {
    throw new RangeError(`expectedVersion must be a whole number >= 0, got ${expected}`);
  }
};

type Executor = Kysely<EventStoreTables> | EventStoreTx;

type AppendedRow = Pick<EventRow, 'global_position' | 'transaction_id' | 'stream_version' | 'created_at'>;

/**
 * An appended event as recorded: what the database decided for it (`row`), with the caller's own
 * id, type, data and metadata. Field by field: spreading the driver's row into the same object
 * took 2.1 % of the print service's CPU samples with 32 submitters.
 */
const recordedAppend = (row: AppendedRow, streamId: string, event: Stamped): RecordedEvent =>
  toRecordedEvent({
    global_position: row.global_position,
    transaction_id: row.transaction_id,
    stream_id: streamId,
    stream_version: row.stream_version,
    created_at: row.created_at,
    event_id: event.eventId,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
  });

/** The projections' writes as CTEs after `inserted`: they run whether or not the query reads them. */
const projectedWrites = (writes: readonly ProjectionWrite[]): RawBuilder<unknown> =>
  sql.join(
    writes.flatMap(({ statement }, i) => (statement ? [sql`, ${sql.raw(`projected_${i}`)} AS (${statement})`] : [])),
    sql``,
  );

/**
 * A group's appends in one statement: each stream is claimed at its exact expected version (0: it
 * must not exist yet); a stream that is not where its append expects is simply not claimed, and its
 * events are not inserted, while the others go ahead. The projections' planned writes go with them.
 *
 * `updated` names its streams as an array for the primary key to find. Joined only to `req`, whose
 * size the planner cannot know from a JSON parameter, the streams were read whole by a Seq Scan and
 * hashed until the table grew well past 2,000 rows: 0.9 ms of a 1.8 ms group at 2,000.
 */
export const appendGroupStatement = (
  requests: string,
  events: string,
  writes: readonly ProjectionWrite[],
): RawBuilder<AppendedRow & { stream_id: string }> => sql`${sql.raw(PREPARED)}
  WITH req AS (
    SELECT * FROM jsonb_to_recordset(${requests}::jsonb) AS r(stream_id text, expected int, n int)
  ),
  created AS (
    INSERT INTO streams (stream_id, version) SELECT stream_id, n FROM req WHERE expected = 0
    ON CONFLICT (stream_id) DO NOTHING RETURNING stream_id, version
  ),
  updated AS (
    UPDATE streams s SET version = s.version + req.n, last_transaction_id = pg_current_xact_id()
    FROM req
    WHERE s.stream_id = ANY (ARRAY(SELECT stream_id FROM req WHERE expected > 0))
      AND req.expected > 0 AND s.stream_id = req.stream_id AND s.version = req.expected
      AND s.last_transaction_id <= pg_current_xact_id()
    RETURNING s.stream_id, s.version
  ),
  claim AS (SELECT stream_id, version FROM created UNION ALL SELECT stream_id, version FROM updated),
  inserted AS (
    INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata)
    SELECT (x.e->>'eventId')::uuid, claim.stream_id, claim.version - (x.e->>'n')::int + (x.e->>'ord')::int,
           x.e->>'type', x.e->'data', x.e->'metadata'
    FROM jsonb_array_elements(${events}::jsonb) WITH ORDINALITY AS x(e, seq)
    JOIN claim ON claim.stream_id = x.e->>'streamId'
    ORDER BY x.seq
    RETURNING global_position, transaction_id, stream_id, stream_version, created_at
  )${projectedWrites(writes)}
  SELECT global_position::text AS global_position, transaction_id::text AS transaction_id, stream_id, stream_version, created_at
  FROM inserted ORDER BY inserted.global_position`;

/** Each stream's share at the exact version it must be at (0: it must not exist yet). */
const exactAppends = (appends: readonly StreamAppend[]): ExactAppend[] =>
  appends.map((append) => {
    validateExpectedVersion(append.expectedVersion);
    const expected = append.expectedVersion === 'no_stream' ? 0 : append.expectedVersion;
    return { streamId: append.streamId, events: append.events, options: append.metadata ? { metadata: append.metadata } : {}, expected };
  });

/** The caller's alsoWrite as one more write of the append's statement. */
const alsoWrites = ({ alsoWrite }: StreamsAppendOptions): ProjectionWrite[] => (alsoWrite ? [{ statement: alsoWrite }] : []);

class Session implements CallerSession {
  /** What this session appended, to wake the subscriptions that want it once the caller committed. */
  private readonly appended: RecordedEvent[] = [];

  constructor(
    readonly tx: EventStoreTx,
    private readonly store: PostgresEventStore,
    private readonly onCommit: AfterCommit[] = [],
  ) {}

  committed(): void {
    for (const callback of this.onCommit.splice(0)) callback();
    if (this.appended.length > 0) this.store.notify(this.appended.splice(0));
  }

  readStream<E extends Event = Event>(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult<E>> {
    return readStreamWith<E>(this.tx, streamId, options);
  }

  async appendToStream(streamId: string, events: readonly Event[], options?: AppendOptions): Promise<AppendResult> {
    const result = await this.store.appendWith(this.tx, streamId, events, options);
    this.appended.push(...result.events);
    return result;
  }

  readStreams<E extends Event = Event>(streamIds: readonly string[]): Promise<Map<string, ReadStreamResult<E>>> {
    return readStreamsWith<E>(this.tx, streamIds);
  }

  async appendToStreams(appends: readonly StreamAppend[], options: StreamsAppendOptions = {}): Promise<(AppendResult | VersionConflictError)[]> {
    const [only] = appends;
    const also = alsoWrites(options);
    if (appends.length === 1 && only) {
      // One stream: its own append statement, which carries what the projections write for it.
      const options = { expectedVersion: only.expectedVersion, ...(only.metadata ? { metadata: only.metadata } : {}) };
      const result = await this.store.appendWith(this.tx, only.streamId, only.events, options, undefined, also).catch(conflictAsResult);
      if (!(result instanceof VersionConflictError)) this.appended.push(...result.events);
      return [result];
    }
    const exact = exactAppends(appends);
    const results = await this.store.appendGroupWith(this.tx, exact, also);
    for (const result of results) if (result) this.appended.push(...result.events);
    return Promise.all(
      exact.map((append, i) => results[i] ?? this.store.conflict(this.tx, append.streamId, append.expected)),
    );
  }
}

const conflictAsResult = (error: unknown): VersionConflictError => {
  if (error instanceof VersionConflictError) return error;
  throw error;
};

async function readStreamsWith<E extends Event>(
  executor: Executor,
  streamIds: readonly string[],
): Promise<Map<string, ReadStreamResult<E>>> {
  const results = new Map<string, ReadStreamResult<E>>();
  if (streamIds.length === 0) return results;
  // Each stream's events by the (stream_id, stream_version) index, whatever the statistics say: on
  // a young log that has not been analyzed yet, a plain join hashes a scan of every event (5 ms a
  // read at 20,000 events, growing). OFFSET 0 keeps the planner from flattening the lateral read.
  const { rows } = await sql<EventRow & { current_version: number; stream: string }>`
    SELECT e.global_position::text AS global_position, e.transaction_id::text AS transaction_id,
           e.event_id::text AS event_id, e.stream_id, e.stream_version, e.type, e.data, e.metadata,
           e.created_at, s.stream_id AS stream, s.version AS current_version
    FROM streams s
    LEFT JOIN LATERAL (
      SELECT * FROM events WHERE events.stream_id = s.stream_id ORDER BY stream_version OFFSET 0
    ) e ON true
    WHERE s.stream_id IN (${sql.join([...new Set(streamIds)])})
    ORDER BY s.stream_id, e.stream_version`.execute(executor);
  for (const row of rows) {
    const result = results.get(row.stream) ?? { events: [], currentVersion: row.current_version, exists: true };
    if (row.event_id !== null) result.events.push(toRecordedEvent(row) as RecordedEvent<E>);
    results.set(row.stream, result);
  }
  for (const streamId of streamIds) if (!results.has(streamId)) results.set(streamId, { events: [], currentVersion: 0, exists: false });
  return results;
}

async function readStreamWith<E extends Event>(
  executor: Executor,
  streamId: string,
  options: ReadStreamOptions = {},
): Promise<ReadStreamResult<E>> {
  const from = options.from ?? 1;
  const to = options.to ?? 2_147_483_647;
  const { rows } = await sql<EventRow & { current_version: number }>`${sql.raw(PREPARED)}
    SELECT e.global_position::text AS global_position, e.transaction_id::text AS transaction_id,
           e.event_id::text AS event_id, e.stream_id, e.stream_version, e.type, e.data, e.metadata,
           e.created_at, s.version AS current_version
    FROM streams s
    LEFT JOIN events e ON e.stream_id = s.stream_id AND e.stream_version BETWEEN ${from} AND ${to}
    WHERE s.stream_id = ${streamId}
    ORDER BY e.stream_version`.execute(executor);
  const first = rows[0];
  if (first === undefined) return { events: [], currentVersion: 0, exists: false };
  const events = rows.filter((row) => row.event_id !== null).map((row) => toRecordedEvent(row) as RecordedEvent<E>);
  return { events, currentVersion: first.current_version, exists: true };
}

/** The event log on PostgreSQL or PGlite: appends, reads, inline projections, subscriptions. */
export class PostgresEventStore implements EventStore {
  private readonly projections: readonly InlineProjection[];
  private readonly subscriptions = new Set<PollingSubscription>();
  private readonly groups: GroupCommit<PendingAppend> | undefined;
  /** For each transaction the store opened, what its projections asked to hear once it commits. */
  private readonly committed = new WeakMap<EventStoreTx, AfterCommit[]>();

  constructor(
    readonly db: EventStoreDb,
    options: EventStoreOptions = {},
  ) {
    this.projections = options.projections ?? [];
    if (options.groupCommit !== false) {
      this.groups = new GroupCommit((group) => this.writeGroup(group), {
        maxInFlight: options.groupCommit?.maxInFlight ?? 2,
        maxGroup: options.groupCommit?.maxGroup ?? 64,
      });
    }
  }

  get tx(): EventStoreTx {
    throw new Error('tx is only available inside transaction()');
  }

  readStream<E extends Event = Event>(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult<E>> {
    return readStreamWith<E>(this.db, streamId, options);
  }

  async appendToStream(streamId: string, events: readonly Event[], options: AppendOptions = {}): Promise<AppendResult> {
    const expected = options.expectedVersion ?? 'any';
    validateExpectedVersion(expected);
    if (!this.groups || events.length === 0 || (typeof expected !== 'number' && expected !== 'no_stream')) {
      return this.appendAlone(streamId, events, options);
    }
    return new Promise((resolve, reject) => {
      this.groups?.submit({ streamId, events, options, expected: expected === 'no_stream' ? 0 : expected, resolve, reject });
    });
  }

  private async appendAlone(streamId: string, events: readonly Event[], options: AppendOptions = {}): Promise<AppendResult> {
    // Without a projection to run in a transaction (none applies, or each wrote its part into the
    // append's statement), the append is one autocommitted statement: no BEGIN/COMMIT trips.
    const planned = this.plan(streamId, events, options);
    const result = planned
      ? await this.appendWith(this.db, streamId, events, options, planned)
      : await this.own((tx) => this.appendWith(tx, streamId, events, options, planned));
    this.notify(result.events);
    return result;
  }

  /**
   * The events stamped for the log, with what each projection that applies will write for them in
   * the append's own statement. Null when one of them cannot say without a transaction.
   */
  private plan(streamId: string, events: readonly Event[], options: AppendOptions): Planned | null {
    const stored = stampEvents(events, options.metadata);
    if (this.projectionsFor(events).length === 0) return { stored, writes: [] };
    const expected = options.expectedVersion;
    if (expected !== 'no_stream' && typeof expected !== 'number') return null;
    const writes = this.planWrites([{ streamId, expected: expected === 'no_stream' ? 0 : expected, stored }]);
    return writes && { stored, writes };
  }

  /**
   * What each projection that applies writes for these appends (each at an exact version, 0: a new
   * stream) in their own statement. Null when one of them cannot say without a transaction.
   */
  private planWrites(appends: readonly { streamId: string; expected: number; stored: readonly Stamped[] }[]): ProjectionWrite[] | null {
    // The events as they will be, built once for all the projections, field by field: spread
    // again for each projection, they took 3.1 % of the print service's CPU samples with 32
    // submitters; now 0.4 %.
    const all = appends.map(({ streamId, expected, stored }) => ({
      streamId,
      expectedVersion: expected,
      events: stored.map(({ eventId, type, data, metadata }, i) => ({ eventId, type, data, metadata, streamId, streamVersion: expected + i + 1 })),
    }));
    const writes: ProjectionWrite[] = [];
    for (const projection of this.projections) {
      const upcoming = all.flatMap((append) => {
        const events = append.events.filter((event) => projection.canHandle.includes(event.type));
        return events.length > 0 ? [{ ...append, events }] : [];
      });
      if (upcoming.length === 0) continue;
      const write = projection.planAppends?.(upcoming);
      if (!write) return null;
      writes.push(write);
    }
    return writes;
  }

  /** Runs each planned write's afterCommit once `executor`'s work committed, with the streams that took. */
  private afterPlanned(executor: Executor, writes: readonly ProjectionWrite[], appended: ReadonlySet<string>): void {
    for (const { afterCommit } of writes) if (afterCommit) this.onCommit(executor, () => afterCommit(appended));
  }

  /**
   * Writes a group in one statement (in a transaction when a projection must run its `handle`);
   * each append gets its own result or version conflict.
   */
  private async writeGroup(group: readonly PendingAppend[]): Promise<void> {
    const alone = (append: PendingAppend): Promise<void> =>
      this.appendAlone(append.streamId, append.events, append.options).then(append.resolve, append.reject);
    if (group.length === 1) return alone(group[0] as PendingAppend);
    let results: (AppendResult | undefined)[];
    try {
      results = await this.appendGroup(group);
    } catch {
      // Something failed the group's transaction (one append's projection, a deadlock): each append
      // goes again alone, so only the one at fault sees its error.
      await Promise.all(group.map(alone));
      return;
    }
    for (const [i, append] of group.entries()) {
      const result = results[i];
      if (result) append.resolve(result);
      else await this.conflict(this.db, append.streamId, append.expected).then(append.reject, append.reject);
    }
  }

  /**
   * A group's appends in one statement of the store's own: autocommitted when every projection that
   * applies planned its writes into it, else in a transaction where the others run their `handle`.
   * Each append's result, or undefined where its stream was not at the expected version.
   */
  private async appendGroup(group: readonly ExactAppend[], also: readonly ProjectionWrite[] = []): Promise<(AppendResult | undefined)[]> {
    const stamped = this.stampGroup(group);
    const writes = this.planGroup(group, stamped);
    const results = writes
      ? await this.appendGroupIn(this.db, group, stamped, writes, also)
      : await this.own((tx) => this.appendGroupIn(tx, group, stamped, null, also));
    this.notify(results.flatMap((result) => result?.events ?? []));
    return results;
  }

  /**
   * Appends a group in one statement inside `tx`, with the projections' writes (planned, in the same
   * statement, or run once for all of it). Each append's result, or undefined where its stream was
   * not at the expected version.
   */
  appendGroupWith(tx: EventStoreTx, group: readonly ExactAppend[], also: readonly ProjectionWrite[] = []): Promise<(AppendResult | undefined)[]> {
    const stamped = this.stampGroup(group);
    return this.appendGroupIn(tx, group, stamped, this.planGroup(group, stamped), also);
  }

  private stampGroup(group: readonly ExactAppend[]): Stamped[][] {
    return group.map((append) => stampEvents(append.events, append.options.metadata));
  }

  private planGroup(group: readonly ExactAppend[], stamped: readonly Stamped[][]): ProjectionWrite[] | null {
    return this.planWrites(group.map((append, i) => ({ streamId: append.streamId, expected: append.expected, stored: stamped[i] ?? [] })));
  }

  /**
   * `writes` null: the projections' `handle` runs in `executor`, which is then a transaction.
   * `also`: the caller's writes, in the statement either way.
   */
  private async appendGroupIn(
    executor: Executor,
    group: readonly ExactAppend[],
    stamped: readonly Stamped[][],
    writes: readonly ProjectionWrite[] | null,
    also: readonly ProjectionWrite[] = [],
  ): Promise<(AppendResult | undefined)[]> {
    const requests = group.map((append, i) => ({ stream_id: append.streamId, expected: append.expected, n: stamped[i]?.length }));
    const events = group.flatMap((append, i) => {
      const own = stamped[i] ?? [];
      return own.map(({ eventId, type, data, metadata }, k) => ({ eventId, type, data, metadata, streamId: append.streamId, ord: k + 1, n: own.length }));
    });
    const { rows } = await appendGroupStatement(JSON.stringify(requests), JSON.stringify(events), [...(writes ?? []), ...also]).execute(executor);
    const rowsByStream = new Map<string, (AppendedRow & { stream_id: string })[]>();
    for (const row of rows) rowsByStream.set(row.stream_id, [...(rowsByStream.get(row.stream_id) ?? []), row]);

    const recordedAll: RecordedEvent[] = [];
    const results = group.map((append, i): AppendResult | undefined => {
      const own = (rowsByStream.get(append.streamId) ?? []).sort((a, b) => a.stream_version - b.stream_version);
      if (own.length === 0) return undefined;
      const recorded = own.map((row, k) => recordedAppend(row, append.streamId, (stamped[i] ?? [])[k] as Stamped));
      recordedAll.push(...recorded);
      const last = recorded[recorded.length - 1] as RecordedEvent;
      return { nextExpectedVersion: last.streamVersion, lastGlobalPosition: last.globalPosition, events: recorded };
    });
    if (writes) this.afterPlanned(executor, writes, new Set(rowsByStream.keys()));
    else await this.project(this.projections, recordedAll, executor as EventStoreTx);
    return results;
  }

  readStreams<E extends Event = Event>(streamIds: readonly string[]): Promise<Map<string, ReadStreamResult<E>>> {
    return readStreamsWith<E>(this.db, streamIds);
  }

  /**
   * See EventStoreSession.appendToStreams: one autocommitted statement when every projection that
   * applies writes its part in it, else one transaction of the store's own.
   */
  async appendToStreams(appends: readonly StreamAppend[], options: StreamsAppendOptions = {}): Promise<(AppendResult | VersionConflictError)[]> {
    if (appends.length === 0) return [];
    const exact = exactAppends(appends);
    const results = await this.appendGroup(exact, alsoWrites(options));
    return Promise.all(exact.map((append, i) => results[i] ?? this.conflict(this.db, append.streamId, append.expected)));
  }

  async transaction<T>(work: (session: EventStoreSession) => Promise<T>): Promise<T> {
    const result = await this.own((tx) => work(new Session(tx, this)));
    this.notify();
    return result;
  }

  /** Runs `work` in a transaction of the store's own, then what its projections asked for on commit. */
  private async own<T>(work: (tx: EventStoreTx) => Promise<T>): Promise<T> {
    const onCommit: AfterCommit[] = [];
    const result = await this.db.transaction().execute((tx) => {
      this.committed.set(tx as EventStoreTx, onCommit);
      return work(tx as EventStoreTx);
    });
    for (const callback of onCommit) callback();
    return result;
  }

  /** Runs the projections on what was just appended in `tx`; each sees only the types it handles. */
  private async project(projections: readonly InlineProjection[], recorded: readonly RecordedEvent[], tx: EventStoreTx): Promise<void> {
    for (const projection of projections) {
      const handled = recorded.filter((event) => projection.canHandle.includes(event.type));
      if (handled.length === 0) continue;
      const afterCommit = await projection.handle(handled, tx);
      if (afterCommit) this.onCommit(tx, afterCommit);
    }
  }

  /** Runs `callback` once `executor`'s work committed: now for the store's own autocommitted database. */
  private onCommit(executor: Executor, callback: AfterCommit): void {
    if (executor === this.db) callback();
    else this.committed.get(executor as EventStoreTx)?.push(callback);
  }

  session(tx: EventStoreTx): CallerSession {
    // A transaction the store or an earlier session already answers for: that one says when it committed.
    if (this.committed.has(tx)) return new Session(tx, this);
    const onCommit: AfterCommit[] = [];
    this.committed.set(tx, onCommit);
    return new Session(tx, this, onCommit);
  }

  /**
   * Appends through `executor`: the store's database, only when `planned` leaves no projection to
   * run, or an open transaction. `planned` null: the projections run their `handle` in it. `also`:
   * the caller's writes, in the statement either way.
   */
  async appendWith(
    executor: Executor,
    streamId: string,
    events: readonly Event[],
    options: AppendOptions = {},
    planned: Planned | null = this.plan(streamId, events, options),
    also: readonly ProjectionWrite[] = [],
  ): Promise<AppendResult> {
    const expected = options.expectedVersion ?? 'any';
    validateExpectedVersion(expected);
    if (events.length === 0) {
      const { currentVersion } = await readStreamWith(executor, streamId, { from: 1, to: 0 });
      return { nextExpectedVersion: currentVersion, lastGlobalPosition: 0, events: [] };
    }
    const stored = planned?.stored ?? stampEvents(events, options.metadata);
    // Returns only what the database decided; type, data and metadata are the caller's own.
    const { rows } = await sql<AppendedRow>`${sql.raw(PREPARED)}
      WITH claim AS (${claimVersions(streamId, stored.length, expected)}),
      inserted AS (
        INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata)
        SELECT (x.e->>'eventId')::uuid, ${streamId}, claim.version - ${stored.length} + x.ord::int,
               x.e->>'type', x.e->'data', x.e->'metadata'
        FROM claim, jsonb_array_elements(${JSON.stringify(stored)}::jsonb) WITH ORDINALITY AS x(e, ord)
        ORDER BY x.ord
        RETURNING global_position, transaction_id, stream_version, created_at
      )${projectedWrites([...(planned?.writes ?? []), ...also])}
      SELECT global_position::text AS global_position, transaction_id::text AS transaction_id, stream_version, created_at
      FROM inserted ORDER BY inserted.stream_version`.execute(executor);
    if (rows.length === 0) throw await this.conflict(executor, streamId, expected);
    const recorded = rows.map((row, i) => recordedAppend(row, streamId, stored[i] as Stamped));
    if (planned) {
      this.afterPlanned(executor, planned.writes, new Set([streamId]));
    } else {
      // appendAlone opened a transaction whenever a projection has to run in one, so executor is one.
      await this.project(this.projectionsFor(events), recorded, executor as EventStoreTx);
    }
    const last = recorded[recorded.length - 1] as RecordedEvent;
    return { nextExpectedVersion: last.streamVersion, lastGlobalPosition: last.globalPosition, events: recorded };
  }

  subscribe(consumer: string, handler: SubscriptionHandler, options?: SubscriptionOptions): Subscription {
    const subscription = new PollingSubscription(this.db, consumer, handler, options, () =>
      this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  notify(appended?: readonly RecordedEvent[]): void {
    for (const subscription of this.subscriptions) subscription.wake(appended);
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.db.destroy();
  }

  private projectionsFor(events: readonly Event[]): InlineProjection[] {
    return this.projections.filter((projection) => events.some((event) => projection.canHandle.includes(event.type)));
  }

  async conflict(executor: Executor, streamId: string, expected: ExpectedVersion): Promise<VersionConflictError> {
    const { rows } = await sql<{ version: number }>`SELECT version FROM streams WHERE stream_id = ${streamId}`.execute(
      executor,
    );
    const actual = rows[0]?.version ?? 0;
    const versionMatched =
      expected === actual || expected === 'any' || (expected === 'exists' && actual > 0);
    return new VersionConflictError(
      streamId,
      expected,
      actual,
      versionMatched ? 'a newer transaction appended to this stream first' : undefined,
    );
  }
}

export async function createEventStore(db: Kysely<unknown>, options?: EventStoreOptions): Promise<PostgresEventStore> {
  return new PostgresEventStore(db as unknown as EventStoreDb, options);
}
