import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { EVENT_SUBJECT_ROOT, eventSubject, type RecordedEvent } from '@switchyard/contracts';
import type { EventStore, SubscriptionOptions } from '@switchyard/event-store';
import { encodeRecordedEvent, eventHeaders } from './event-codec';
import { silentLogger, type MessagingLogger } from './logger';

export const RELAY_CONSUMER = 'relay:jetstream';

export interface RelayBatchReport {
  events: readonly RecordedEvent[];
  /** Events JetStream already held (same msgID inside the dedupe window): a replay after a crash. */
  duplicates: number;
}

export interface RelayOptions {
  store: EventStore;
  js: JetStreamClient;
  streamName: string;
  subjectRoot?: string;
  /** The event-store subscription (and checkpoint) name; one active instance per name. */
  consumerName?: string;
  /** How long to wait for each PubAck. */
  publishTimeoutMs?: number;
  subscription?: Pick<SubscriptionOptions, 'batchSize' | 'idlePollMs' | 'leaseMs'>;
  logger?: MessagingLogger;
  /**
   * Runs after JetStream acked every event of a batch and before the batch's checkpoint commits
   * (metrics, tracing); if it throws, the batch is retried like a failed publish.
   */
  onBatchPublished?: (report: RelayBatchReport) => Promise<void> | void;
}

export interface Relay {
  /** Resolves once everything committed before the call is published and checkpointed. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Tails the event log and publishes each event to JetStream with msgID = event id. The checkpoint
 * moves only after every PubAck of the batch arrived, so a crash replays at most the unacknowledged
 * batch, and the stream's dedupe window drops what it already holds: each event is stored once.
 * That dedupe is also why the relay's subscription is `atLeastOnce`: no transaction is held open
 * while JetStream answers, and a poll costs two statements, not four (BEGIN and COMMIT).
 */
export function startRelay(options: RelayOptions): Relay {
  const { store, js, streamName } = options;
  const root = options.subjectRoot ?? EVENT_SUBJECT_ROOT;
  const consumer = options.consumerName ?? RELAY_CONSUMER;
  const timeout = options.publishTimeoutMs ?? 5_000;
  const logger = options.logger ?? silentLogger;

  const publish = (event: RecordedEvent): Promise<PubAck> =>
    js.publish(eventSubject(event.streamId, event.type, event.metadata.kind, root), encodeRecordedEvent(event), {
      msgID: event.eventId,
      headers: eventHeaders(event),
      timeout,
      // Rejected unless our stream captures the subject: never "acked" by some other stream.
      expect: { streamName },
    });

  const subscription = store.subscribe(
    consumer,
    async (events) => {
      // All publishes go out on one connection in log order, so JetStream stores each job's events in
      // order. Wait for every outcome before failing, so a retry never races its own earlier attempt.
      const outcomes = await Promise.allSettled(events.map(publish));
      const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failed) throw failed.reason;
      const duplicates = outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value.duplicate).length;
      const last = events[events.length - 1];
      logger.debug(
        { consumer, stream: streamName, count: events.length, duplicates, globalPosition: last?.globalPosition },
        'relay published batch',
      );
      if (duplicates > 0) logger.info({ consumer, stream: streamName, duplicates }, 'relay replay dropped by msgID dedupe');
      await options.onBatchPublished?.({ events, duplicates });
    },
    {
      ...options.subscription,
      atLeastOnce: true,
      onError: (error) =>
        logger.error({ consumer, stream: streamName, err: error }, 'relay batch failed; retrying from its checkpoint'),
    },
  );

  return {
    caughtUp: () => subscription.caughtUp(),
    stop: () => subscription.stop(),
  };
}
