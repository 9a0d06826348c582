/**
 * A JetStream event consumer in its own process, for crash tests: the real JetStreamEventConsumers
 * with the test handler. After it commits the CONSUMER_HANG_AT-th event it has handled, it reports
 * over IPC and never acknowledges it, so a parent can SIGKILL it between commit and ack.
 */
import { openDatabase, type EventStoreDb } from '@switchyard/event-store';
import { JetStreamEventConsumers } from '../event-consumer';
import { connectNats, natsConfigFromEnv } from '../nats-config';
import { recordApplied } from './index';

export type ConsumerProcessMessage =
  | { type: 'ready' }
  | { type: 'committedNotAcked'; eventId: string; handledBefore: string[] };

const send = (message: ConsumerProcessMessage): void => {
  process.send?.(message);
};

async function main(): Promise<void> {
  const url = process.env['DATABASE_URL'];
  const name = process.env['CONSUMER_NAME'];
  const filters = process.env['CONSUMER_FILTERS'];
  if (!url || !name || !filters) throw new Error('DATABASE_URL, CONSUMER_NAME and CONSUMER_FILTERS are required');
  const hangAt = Number(process.env['CONSUMER_HANG_AT'] ?? '1');
  const config = natsConfigFromEnv();

  const db = await openDatabase<unknown>({ driver: 'postgres', url, poolSize: 2 });
  const nc = await connectNats({ ...config, connectionName: `consumer-process-${process.pid}` });
  const handled: string[] = [];
  const consumers = new JetStreamEventConsumers({
    nc,
    db: db as unknown as EventStoreDb,
    streamName: config.eventsStream,
    ackWaitMs: Number(process.env['CONSUMER_ACK_WAIT_MS'] ?? '1000'),
    hooks: {
      beforeAck(event, outcome) {
        if (outcome !== 'handled') return undefined;
        handled.push(event.eventId);
        if (handled.length < hangAt) return undefined;
        send({ type: 'committedNotAcked', eventId: event.eventId, handledBefore: handled.slice(0, -1) });
        return new Promise<void>(() => undefined);
      },
    },
  });
  await consumers.start({
    name,
    filterSubjects: filters.split(','),
    handle: (event, tx) => recordApplied(tx, name, event),
  });
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
