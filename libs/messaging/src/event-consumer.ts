import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { sql } from 'kysely';
import { EVENT_SUBJECT_ROOT, eventSubject, type RecordedEvent } from '@switchyard/contracts';
import type { AfterCommit, EventStore, EventStoreDb, EventStoreTx, SubscriptionOptions } from '@switchyard/event-store';
import { decodeRecordedEvent } from './event-codec';
import { claimInboxEntries, claimInboxEntry } from './inbox';
import { silentLogger, type MessagingLogger } from './logger';
import { coveringSubjectFilter, eventTypesMatched, matchesAnySubject, subjectGroupsMatched } from './subject-match';

/** A durable consumer of published events, the same in distributed and embedded mode. */
export interface EventConsumerSpec {
  /** Durable name: its inbox rows and its position survive restarts. */
  name: string;
  /** NATS subject filters on `evt.<kind>.<id>.<Type>` (`*` one token, `>` the rest). */
  filterSubjects: string[];
  /**
   * Runs at most once per event and consumer; its writes commit with the inbox row in `tx`. What
   * it returns runs once that transaction committed.
   */
  handle(event: RecordedEvent, tx: EventStoreTx): Promise<void | AfterCommit>;
  /**
   * Events handled at once (JetStream), each in its own transaction; default 1, in order. Only for
   * consumers whose events need no order among themselves (a worker's JobQueued, one per job).
   */
  parallel?: number;
  /**
   * Awaited before each event is handled (JetStream), outside any transaction: a consumer with no
   * room holds its messages here instead of failing them into redelivery. `backlog`: more events
   * wait than `room` allows (JetStream, with handleBatch), or the last read was full (in process),
   * so the consumer may wait for more room to take several at once.
   */
  ready?(backlog?: boolean): Promise<void>;
  /**
   * Applies the events that arrived together in one transaction, with their inbox rows (JetStream):
   * set-based work for what `handle` does one event at a time. If it throws, each event goes alone
   * through `handle`. What it returns runs once the transaction committed. Only for consumers whose
   * events need no order among themselves, like `parallel`.
   */
  handleBatch?(events: readonly RecordedEvent[], tx: EventStoreTx): Promise<void | AfterCommit>;
  /** With handleBatch: how many events it can take now, once `ready` resolved (default: all that arrived). */
  room?(): number;
  /**
   * True: the handler itself makes a second delivery of an event harmless, because what it does
   * depends on the state it reads at its stream's version (a worker's claim does not start a job
   * twice). Then no inbox row is written for its events: a statement less per delivery or batch,
   * and no row kept forever per event.
   */
  idempotent?: boolean;
  /**
   * For an idempotent consumer on JetStream, instead of handleBatch: applies the events that
   * arrived together by itself, with no transaction of the consumer's around it (it has no inbox
   * row to commit with them), so a batch can be a single autocommitted statement. If it throws,
   * each event goes alone through `handle`. Only with handleBatch, which runs in process, in the
   * subscription's transaction.
   */
  handleBatchDirect?(events: readonly RecordedEvent[]): Promise<void | AfterCommit>;
}

export interface RunningConsumer {
  stop(): Promise<void>;
}

export interface EventConsumers {
  start(spec: EventConsumerSpec): Promise<RunningConsumer>;
}

/** `handled`: the handler ran and committed; `duplicate`: the inbox showed it was already applied. */
export type DeliveryOutcome = 'handled' | 'duplicate';

export interface JetStreamConsumerHooks {
  /**
   * Runs after the event's transaction committed and before its ack (metrics, tracing). If it
   * throws or never settles, the message stays unacknowledged, exactly as if the process died there.
   */
  beforeAck?(event: RecordedEvent, outcome: DeliveryOutcome, consumer: string): Promise<void> | void;
}

const assertSpec = (spec: EventConsumerSpec): void => {
  if (spec.name.trim() === '') throw new Error('an event consumer needs a name');
  if (spec.filterSubjects.length === 0) throw new Error(`event consumer ${spec.name} needs at least one filter subject`);
};

/** Applies one event in `tx` unless this consumer's inbox already holds it (an idempotent one keeps none). */
async function applyOnce(
  spec: EventConsumerSpec,
  event: RecordedEvent,
  tx: EventStoreTx,
): Promise<{ outcome: DeliveryOutcome; afterCommit?: AfterCommit }> {
  if (!spec.idempotent && !(await claimInboxEntry(tx, spec.name, event.eventId))) return { outcome: 'duplicate' };
  const afterCommit = await spec.handle(event, tx);
  return afterCommit ? { outcome: 'handled', afterCommit } : { outcome: 'handled' };
}

// ---------------------------------------------------------------------------------------------
// Distributed mode: a durable JetStream pull consumer per spec.

export interface JetStreamEventConsumersOptions {
  nc: NatsConnection;
  /** Where the inbox lives and handlers write. */
  db: EventStoreDb;
  streamName: string;
  /** How long a delivered, unacknowledged message waits before JetStream redelivers it. */
  ackWaitMs?: number;
  /** Deliveries before JetStream gives up on a message; -1 retries forever. */
  maxDeliver?: number;
  /** Messages pulled per request; a stopping consumer hands unprocessed ones back with a nak. */
  maxMessages?: number;
  /** Redelivery delay after a handler failure, by delivery count (1 = first delivery). */
  retryDelayMs?: (deliveryCount: number) => number;
  logger?: MessagingLogger;
  hooks?: JetStreamConsumerHooks;
}

const defaultRetryDelayMs = (deliveryCount: number): number => Math.min(30_000, 250 * 2 ** Math.max(0, deliveryCount - 1));

// Consumer names may not contain '.', '*', '>', path separators or white space.
export const durableConsumerName = (name: string): string => name.replace(/[.*>/\\\s]/g, '_');

const isConsumerNotFound = (error: unknown): boolean =>
  error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound;

/** Multiple filter subjects on one consumer arrived in nats-server 2.10. */
const serverSupportsFilterSubjects = (nc: NatsConnection): boolean => {
  const [major = 0, minor = 0] = (nc.info?.version ?? '0.0.0').split('.').map((part: string) => Number.parseInt(part, 10));
  return major > 2 || (major === 2 && minor >= 10);
};

interface FilterPlan {
  config: Pick<ConsumerConfig, 'filter_subject' | 'filter_subjects'>;
  /** The server cannot express the filters exactly: the consumer gets a covering set and we narrow. */
  narrowInProcess: boolean;
}

const planFilters = (filters: readonly string[], multipleSupported: boolean): FilterPlan => {
  const [only] = filters;
  if (filters.length === 1 && only !== undefined) return { config: { filter_subject: only }, narrowInProcess: false };
  if (multipleSupported) return { config: { filter_subjects: [...filters] }, narrowInProcess: false };
  const covering = coveringSubjectFilter(filters);
  return { config: covering === undefined ? {} : { filter_subject: covering }, narrowInProcess: true };
};

/**
 * Each spec becomes a durable pull consumer with explicit acks. A message is applied in one
 * transaction with its inbox row and acknowledged only after that commit; a redelivery of an
 * applied event (the process died before its ack) finds the row and is only acknowledged.
 * After a failure the message is retried later while later ones go ahead, so a handler that
 * needs a job's events in order checks the stream version it has applied.
 */
export class JetStreamEventConsumers implements EventConsumers {
  private readonly js: JetStreamClient;
  private jsm: Promise<JetStreamManager> | undefined;
  private readonly logger: MessagingLogger;

  constructor(private readonly options: JetStreamEventConsumersOptions) {
    this.js = jetstream(options.nc);
    this.logger = options.logger ?? silentLogger;
  }

  async start(spec: EventConsumerSpec): Promise<RunningConsumer> {
    assertSpec(spec);
    const { streamName } = this.options;
    const durable = durableConsumerName(spec.name);
    const plan = planFilters(spec.filterSubjects, serverSupportsFilterSubjects(this.options.nc));
    await this.upsertConsumer(durable, plan);

    const consumer = await this.js.consumers.get(streamName, durable);
    const messages = await consumer.consume({ max_messages: this.options.maxMessages ?? 64 });
    const log = { consumer: spec.name, stream: streamName };
    this.logger.info({ ...log, filterSubjects: spec.filterSubjects }, 'event consumer started');

    let stopping = false;
    const watchStatus = (async () => {
      for await (const status of messages.status()) {
        if (status.type === 'heartbeats_missed' || status.type === 'consumer_not_found' || status.type === 'consumer_deleted') {
          this.logger.warn({ ...log, status }, 'event consumer status');
        }
      }
    })();
    const settle = async (msg: JsMsg): Promise<void> => {
      try {
        if (!stopping) await spec.ready?.();
        // Hand undelivered work back at once instead of after its ack wait.
        if (stopping) msg.nak();
        else await this.deliver(spec, msg, plan.narrowInProcess);
      } catch (error) {
        // Only an ack or nak can throw here (connection closed): JetStream redelivers after ack wait.
        this.logger.error({ ...log, streamSequence: msg.seq, err: error }, 'event consumer could not settle a message');
      }
    };
    const parallel = Math.max(1, spec.parallel ?? 1);
    const inFlight = new Set<Promise<void>>();
    const loop = spec.handleBatch ? this.batchLoop(spec, messages, plan.narrowInProcess, () => stopping) : (async () => {
      for await (const msg of messages) {
        if (parallel === 1) {
          await settle(msg);
          continue;
        }
        const settling = settle(msg).finally(() => inFlight.delete(settling));
        inFlight.add(settling);
        if (inFlight.size >= parallel) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (!stopping) this.logger.error(log, 'event consumer stopped receiving messages');
    })();

    return {
      stop: async () => {
        if (stopping) return;
        stopping = true;
        await messages.close();
        await Promise.all([loop, watchStatus]);
        this.logger.info(log, 'event consumer stopped');
      },
    };
  }

  private async upsertConsumer(durable: string, plan: FilterPlan): Promise<void> {
    const { streamName, ackWaitMs = 30_000, maxDeliver = -1 } = this.options;
    this.jsm ??= jetstreamManager(this.options.nc);
    const jsm = await this.jsm;
    const settings = {
      ack_wait: nanos(ackWaitMs),
      max_deliver: maxDeliver,
      ...plan.config,
    };
    try {
      await jsm.consumers.info(streamName, durable);
    } catch (error) {
      if (!isConsumerNotFound(error)) throw error;
      await jsm.consumers.add(streamName, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ...settings,
      });
      return;
    }
    await jsm.consumers.update(streamName, durable, settings);
  }

  /**
   * Group commit for a consumer with handleBatch: messages gather while a batch is applied, and the
   * next batch takes what gathered (as many as the consumer has room for), so a busy consumer pays
   * one transaction for many events and an idle one waits for none.
   */
  private async batchLoop(spec: EventConsumerSpec, messages: AsyncIterable<JsMsg>, narrowInProcess: boolean, stopping: () => boolean): Promise<void> {
    const maxBatch = this.options.maxMessages ?? 64;
    const gathered: JsMsg[] = [];
    let received = false;
    let arrived: (() => void) | undefined;
    let taken: (() => void) | undefined;
    const receive = (async () => {
      for await (const msg of messages) {
        gathered.push(msg);
        arrived?.();
        // Hold the pull (and so the acks' clock) while a full batch waits to be applied.
        while (gathered.length >= maxBatch && !stopping()) await new Promise<void>((resolve) => (taken = resolve));
      }
      received = true;
      arrived?.();
    })();
    for (;;) {
      if (gathered.length === 0) {
        if (received) break;
        await new Promise<void>((resolve) => (arrived = resolve));
        arrived = undefined;
        continue;
      }
      // More gathered than there is room for: the consumer may wait for more room, to take several.
      if (!stopping()) await spec.ready?.(gathered.length > (spec.room?.() ?? maxBatch));
      if (stopping()) {
        // Hand undelivered work back at once instead of after its ack wait.
        for (const msg of gathered.splice(0)) msg.nak();
      } else {
        const room = Math.max(1, Math.min(maxBatch, spec.room?.() ?? maxBatch));
        await this.deliverBatch(spec, gathered.splice(0, room), narrowInProcess).catch((error: unknown) =>
          // Only an ack or nak can throw here (connection closed): JetStream redelivers after ack wait.
          this.logger.error({ consumer: spec.name, err: error }, 'event consumer could not settle a batch'),
        );
      }
      taken?.();
      taken = undefined;
    }
    await receive;
  }

  private async deliverBatch(spec: EventConsumerSpec, msgs: readonly JsMsg[], narrowInProcess: boolean): Promise<void> {
    const deliveries: { msg: JsMsg; event: RecordedEvent }[] = [];
    for (const msg of msgs) {
      const event = this.open(spec, msg, narrowInProcess);
      if (event) deliveries.push({ msg, event });
    }
    if (deliveries.length === 0) return;

    let fresh: Set<string>;
    try {
      const applied = await this.applyBatch(spec, deliveries.map(({ event }) => event));
      fresh = applied.claimed;
      applied.afterCommit?.();
    } catch (error) {
      this.logger.warn({ consumer: spec.name, events: deliveries.length, err: error }, 'event batch failed; handling each event alone');
      for (const { msg } of deliveries) await this.deliver(spec, msg, false);
      return;
    }
    // Without a hook nothing is awaited between the acks, so they leave in one write to the server
    // (the client flushes once per microtask turn), not one write each.
    const beforeAck = this.options.hooks?.beforeAck;
    for (const { msg, event } of deliveries) {
      const outcome: DeliveryOutcome = fresh.delete(event.eventId) ? 'handled' : 'duplicate';
      if (beforeAck) {
        try {
          await beforeAck(event, outcome, spec.name);
        } catch (error) {
          this.logger.warn({ consumer: spec.name, eventId: event.eventId, err: error }, 'beforeAck hook failed; leaving message unacknowledged');
          continue;
        }
      }
      msg.ack();
    }
  }

  /**
   * Applies a batch with its inbox rows in one transaction; an idempotent consumer's has no inbox
   * rows, and through handleBatchDirect no transaction either. `claimed`: the events applied now.
   * One event delivered twice in the batch (a redelivery) is applied once.
   */
  private async applyBatch(spec: EventConsumerSpec, delivered: readonly RecordedEvent[]): Promise<{ claimed: Set<string>; afterCommit?: void | AfterCommit }> {
    const ids = delivered.map((event) => event.eventId);
    const once = (claimed: ReadonlySet<string>): RecordedEvent[] => [
      ...new Map(delivered.filter((event) => claimed.has(event.eventId)).map((event) => [event.eventId, event])).values(),
    ];
    if (spec.idempotent && spec.handleBatchDirect) {
      const claimed = new Set(ids);
      return { claimed, afterCommit: await spec.handleBatchDirect(once(claimed)) };
    }
    const handleBatch = spec.handleBatch as NonNullable<EventConsumerSpec['handleBatch']>;
    return this.options.db.transaction().execute(async (tx) => {
      const claimed = spec.idempotent ? new Set(ids) : await claimInboxEntries(tx, spec.name, ids);
      const events = once(claimed);
      return { claimed, afterCommit: events.length > 0 ? await handleBatch(events, tx) : undefined };
    });
  }

  /**
   * The event a message carries, or undefined when it is settled here already: terminated when it
   * cannot be read, acknowledged when it is outside the consumer's filters (narrowed in process).
   */
  private open(spec: EventConsumerSpec, msg: JsMsg, narrowInProcess: boolean): RecordedEvent | undefined {
    let event: RecordedEvent;
    try {
      event = decodeRecordedEvent(msg.data);
    } catch (error) {
      // Redelivering a message we cannot read would fail the same way forever.
      this.logger.error({ consumer: spec.name, subject: msg.subject, streamSequence: msg.seq, err: error }, 'undecodable event message terminated');
      msg.term('undecodable event');
      return undefined;
    }
    if (narrowInProcess && !matchesAnySubject(spec.filterSubjects, msg.subject)) {
      msg.ack();
      return undefined;
    }
    return event;
  }

  private async deliver(spec: EventConsumerSpec, msg: JsMsg, narrowInProcess: boolean): Promise<void> {
    const log = { consumer: spec.name, subject: msg.subject, streamSequence: msg.seq };
    const event = this.open(spec, msg, narrowInProcess);
    if (!event) return;
    const eventLog = { ...log, eventId: event.eventId, streamId: event.streamId, correlationId: event.metadata.correlationId };

    let outcome: DeliveryOutcome;
    try {
      const applied = await this.options.db.transaction().execute((tx) => applyOnce(spec, event, tx));
      outcome = applied.outcome;
      applied.afterCommit?.();
    } catch (error) {
      const deliveryCount = msg.info.deliveryCount;
      const delayMs = (this.options.retryDelayMs ?? defaultRetryDelayMs)(deliveryCount);
      this.logger.warn({ ...eventLog, deliveryCount, delayMs, err: error }, 'event handler failed; redelivering later');
      msg.nak(delayMs);
      return;
    }
    if (outcome === 'duplicate') this.logger.info(eventLog, 'event already applied; acknowledging redelivery');

    try {
      await this.options.hooks?.beforeAck?.(event, outcome, spec.name);
    } catch (error) {
      this.logger.warn({ ...eventLog, err: error }, 'beforeAck hook failed; leaving message unacknowledged');
      return;
    }
    msg.ack();
  }
}

// ---------------------------------------------------------------------------------------------
// Embedded mode: the in-process twin, on an event-store subscription.

export interface InProcessEventConsumersOptions {
  store: EventStore;
  /** The subject root the relay would publish under, for matching filters. */
  subjectRoot?: string;
  subscription?: Pick<SubscriptionOptions, 'batchSize' | 'idlePollMs' | 'leaseMs'>;
  logger?: MessagingLogger;
}

/**
 * The same consumers without a broker: each spec is an event-store subscription named after it.
 * It reads only the event types its filters name, and is woken only by appends its filters match.
 * A consumer with `ready` is polled once it has room, for at most `room()` events. The events that
 * matched are applied in the poll's transaction, which also moves the checkpoint, so each is applied
 * once: through `handleBatch` when the spec has it (each alone through `handle` if that throws),
 * else one by one. The inbox rows are written too (but for an idempotent spec), so switching a
 * deployment between modes does not apply an event twice.
 */
export class InProcessEventConsumers implements EventConsumers {
  private readonly root: string;
  private readonly logger: MessagingLogger;

  constructor(private readonly options: InProcessEventConsumersOptions) {
    this.root = options.subjectRoot ?? EVENT_SUBJECT_ROOT;
    this.logger = options.logger ?? silentLogger;
  }

  async start(spec: EventConsumerSpec): Promise<RunningConsumer> {
    assertSpec(spec);
    const eventTypes = eventTypesMatched(spec.filterSubjects, this.root);
    // Job streams' subjects are grouped by kind: the database then leaves other kinds' jobs unread,
    // instead of a worker with little room reading them a few at a time (its room counts them).
    const jobKinds = subjectGroupsMatched(spec.filterSubjects, this.root);
    const subscription = this.options.store.subscribe(spec.name, (events, tx) => this.apply(spec, events, tx), {
      ...this.options.subscription,
      ...(eventTypes ? { eventTypes } : {}),
      ...(jobKinds ? { jobKinds } : {}),
      accepts: (event) => matchesAnySubject(spec.filterSubjects, eventSubject(event.streamId, event.type, event.metadata.kind, this.root)),
      ...(spec.ready ? { ready: spec.ready } : {}),
      ...(spec.room ? { room: spec.room } : {}),
      onError: (error) => this.logger.warn({ consumer: spec.name, err: error }, 'event handler failed; retrying the batch'),
    });
    this.logger.info({ consumer: spec.name, filterSubjects: spec.filterSubjects }, 'in-process event consumer started');
    return { stop: () => subscription.stop() };
  }

  private async apply(spec: EventConsumerSpec, events: readonly RecordedEvent[], tx: EventStoreTx): Promise<AfterCommit | undefined> {
    const claimed = spec.idempotent ? undefined : await claimInboxEntries(tx, spec.name, events.map((event) => event.eventId));
    const fresh = claimed ? events.filter((event) => claimed.has(event.eventId)) : events;
    if (fresh.length === 0) return undefined;
    if (spec.handleBatch) {
      await sql`SAVEPOINT handle_batch`.execute(tx);
      try {
        const afterCommit = await spec.handleBatch(fresh, tx);
        await sql`RELEASE SAVEPOINT handle_batch`.execute(tx);
        return afterCommit ?? undefined;
      } catch (error) {
        this.logger.warn({ consumer: spec.name, events: fresh.length, err: error }, 'event batch failed; handling each event alone');
        await sql`ROLLBACK TO SAVEPOINT handle_batch`.execute(tx);
      }
    }
    const afterCommits: AfterCommit[] = [];
    for (const event of fresh) {
      const afterCommit = await spec.handle(event, tx);
      if (afterCommit) afterCommits.push(afterCommit);
    }
    return afterCommits.length ? () => afterCommits.forEach((run) => run()) : undefined;
  }
}
