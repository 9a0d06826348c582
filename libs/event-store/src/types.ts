import type { Kysely, RawBuilder, Transaction } from 'kysely';
import type {
  Event,
  EventMetadata,
  EventStreamPort,
  ExpectedVersion,
  RecordedEvent,
} from '@switchyard/contracts';
import type { VersionConflictError } from './errors';
import type { EventStoreTables } from './schema';

/** Any database whose schema includes the event store's tables. */
export type EventStoreDb = Kysely<EventStoreTables>;
export type EventStoreTx = Transaction<EventStoreTables>;

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
  /** Merged under each event's own metadata. */
  metadata?: EventMetadata;
}

export interface AppendResult {
  nextExpectedVersion: number;
  lastGlobalPosition: number;
  events: RecordedEvent[];
}

export interface ReadStreamOptions {
  /** First version to return (inclusive, from 1). */
  from?: number;
  /** Last version to return (inclusive). */
  to?: number;
}

export interface ReadStreamResult<E extends Event = Event> {
  events: RecordedEvent<E>[];
  /** The stream's version: the number of events in it, 0 when it does not exist. */
  currentVersion: number;
  exists: boolean;
}

/**
 * A read model kept inside the append transaction, so a read right after a write sees it.
 * `handle` gets the events of one append, or of a group committed together (several streams,
 * each stream's in order), and the open transaction.
 */
export interface InlineProjection {
  readonly name: string;
  /** Event types it wants; streams it is not interested in cost nothing. */
  readonly canHandle: readonly string[];
  /**
   * An AfterCommit it returns is called once the transaction committed: when the store opened it
   * (an append, a group, `transaction()`), right after the commit; when a caller did, once the
   * caller reports the commit through its CallerSession, or never. So it may remember what it
   * wrote, never act on it.
   */
  handle(events: readonly RecordedEvent[], tx: EventStoreTx): Promise<void | AfterCommit>;
  /**
   * Optional: what it writes for appends at exact versions (one append, or a group's), said before
   * they run, as one data-modifying statement that the appends' own statement runs beside them. It
   * must write for a stream only where `claim (stream_id, version)` has the stream's row: a stream
   * that was not at its expected version has none. Undefined: it cannot say without reading, and
   * `handle` runs instead, in a transaction.
   */
  planAppends?(appends: readonly UpcomingAppend[]): ProjectionWrite | undefined;
}

/** An append at an exact version whose events are not yet in the log; versions follow `expectedVersion`. */
export interface UpcomingAppend {
  streamId: string;
  /** 0: the stream does not exist yet. */
  expectedVersion: number;
  /** The events the projection handles, with the versions they will have. */
  events: readonly (Event & { readonly streamId: string; readonly streamVersion: number; readonly metadata: EventMetadata })[];
}

/** A projection's share of an append statement, and what to do once it committed. */
export interface ProjectionWrite {
  /** Absent: nothing to write for these events. */
  statement?: RawBuilder<unknown>;
  /** Called once the statement committed, with the streams whose append took its version. */
  afterCommit?: (appended: ReadonlySet<string>) => void;
}

/** One stream's share of an appendToStreams: it must be at exactly this version (0: not exist yet). */
export interface StreamAppend {
  streamId: string;
  events: readonly Event[];
  expectedVersion: number | 'no_stream';
  metadata?: EventMetadata;
}

export interface StreamsAppendOptions {
  /**
   * The caller's own write for the streams whose append took, sent in the append's statement as
   * one of its CTEs, instead of a statement of its own: there `claim` (stream_id, version) holds
   * those streams.
   */
  alsoWrite?: RawBuilder<unknown>;
}

/** The operations available inside one transaction, for appends to several streams at once. */
export interface EventStoreSession extends EventStreamPort {
  readStream<E extends Event = Event>(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult<E>>;
  appendToStream(streamId: string, events: readonly Event[], options?: AppendOptions): Promise<AppendResult>;
  /** Several whole streams in one query, each as readStream returns it. */
  readStreams<E extends Event = Event>(streamIds: readonly string[]): Promise<Map<string, ReadStreamResult<E>>>;
  /**
   * Appends to several streams in one statement. A stream that is not at its expected version is
   * left alone and answered with its VersionConflictError; the others go ahead.
   */
  appendToStreams(appends: readonly StreamAppend[], options?: StreamsAppendOptions): Promise<(AppendResult | VersionConflictError)[]>;
  /** The open transaction, for a caller's own writes that must commit with the events. */
  readonly tx: EventStoreTx;
}

export interface SubscriptionOptions {
  /**
   * Only events of these types are read and reach the handler; the checkpoint still moves past the
   * rest. Filtered in the database.
   */
  eventTypes?: readonly string[];
  /**
   * Only job streams' events of these kinds (their metadata's `kind`; `job` for none) are read;
   * other streams' events are not narrowed by it. Filtered in the database, like `eventTypes`.
   */
  jobKinds?: readonly string[];
  /** Only streams whose id starts with one of these prefixes. */
  streamPrefixes?: readonly string[];
  /**
   * Only events this accepts reach the handler or wake the subscription (read, then filtered here).
   * What it drops still counts against a poll's `room`: narrow in the database where it can.
   */
  accepts?: (event: RecordedEvent) => boolean;
  /** Events read in one poll at most. */
  batchSize?: number;
  /**
   * Awaited before each poll, outside any transaction: a handler with no room holds the log here
   * rather than failing a batch it cannot take. `backlog`: the last poll was full, so more events
   * wait; a handler may wait for more room then, to take several in one transaction.
   */
  ready?: (backlog: boolean) => Promise<void>;
  /** With `ready`: how many events the handler can take now; a poll reads no more than that. */
  room?: () => number;
  /** How long to wait between polls when the log had nothing new. */
  idlePollMs?: number;
  /** How long a consumer's lease lasts without renewal before another instance may take over. */
  leaseMs?: number;
  /** Called when a batch fails; the batch is retried from the same checkpoint. */
  onError?: (error: unknown) => void;
  /**
   * For a handler that writes nothing to the database and may see a batch twice (one whose effect
   * is idempotent elsewhere, as the relay's publishes are by msgID): each poll and the checkpoint's
   * move are statements of their own, with no transaction held open while the handler runs, and
   * the checkpoint moves only if no other instance moved or took it meanwhile. A crash between the
   * handler and that move, or a lease taken over during the handler, hands the batch to a handler
   * again; so does a crash of the database just after the move, which commits without waiting for
   * its WAL flush. The handler's `tx` is then the database itself.
   */
  atLeastOnce?: boolean;
}

/** Work a handler wants done only once its transaction committed (start a job it just claimed). */
export type AfterCommit = () => void;

/**
 * Handles one batch; its writes commit in the same transaction as the consumer's checkpoint. It
 * may return an AfterCommit, called once that transaction committed.
 */
export type SubscriptionHandler = (events: readonly RecordedEvent[], tx: EventStoreTx) => Promise<void | AfterCommit>;

export interface Subscription {
  readonly consumer: string;
  /** Resolves once this instance has processed everything committed before the call (it waits for transactions still open then, in any database of the cluster, to end). */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/** A session in a transaction that its caller opened and commits. */
export interface CallerSession extends EventStoreSession {
  /**
   * Tells the store that the caller's transaction committed, so its projections may remember what
   * they wrote in it and its subscriptions that want what was appended poll now. Call it then and
   * only then; not calling it costs the projections a read later and the subscriptions a look.
   */
  committed(): void;
}

export interface EventStore extends EventStoreSession {
  readonly db: EventStoreDb;
  /** Runs `work` in one transaction: every append in it commits or none does. */
  transaction<T>(work: (session: EventStoreSession) => Promise<T>): Promise<T>;
  subscribe(consumer: string, handler: SubscriptionHandler, options?: SubscriptionOptions): Subscription;
  /** A session over a transaction opened elsewhere (a consumer's), so its appends commit with it. */
  session(tx: EventStoreTx): CallerSession;
  /**
   * Wakes idle subscriptions in this process now instead of at their next poll: those that want one
   * of `appended`, or all of them.
   */
  notify(appended?: readonly RecordedEvent[]): void;
  close(): Promise<void>;
}
