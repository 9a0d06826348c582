/**
 * A relay in its own process, for crash tests: the real startRelay against DATABASE_URL and the
 * configured stream. It reports each batch JetStream acked over IPC, then holds the batch's
 * checkpoint open for RELAY_HOLD_CHECKPOINT_MS, so a parent can SIGKILL it between publish and
 * checkpoint commit.
 */
import { openDatabase, PostgresEventStore, type EventStoreDb } from '@switchyard/event-store';
import { connectNats, natsConfigFromEnv } from '../nats-config';
import { startRelay } from '../relay';

export type RelayProcessMessage =
  | { type: 'ready' }
  | { type: 'published'; count: number; duplicates: number; lastGlobalPosition: number }
  | { type: 'caughtUp' };

export type RelayProcessCommand = { type: 'caughtUp?' };

const send = (message: RelayProcessMessage): void => {
  process.send?.(message);
};

const numberFromEnv = (name: string, fallback: number): number => {
  const value = process.env[name];
  return value === undefined ? fallback : Number(value);
};

async function main(): Promise<void> {
  const url = process.env['DATABASE_URL'];
  if (!url) throw new Error('DATABASE_URL is required');
  const config = natsConfigFromEnv();
  const holdCheckpointMs = numberFromEnv('RELAY_HOLD_CHECKPOINT_MS', 0);

  const db = await openDatabase<unknown>({ driver: 'postgres', url, poolSize: 2 });
  const store = new PostgresEventStore(db as unknown as EventStoreDb);
  const nc = await connectNats({ ...config, connectionName: `relay-process-${process.pid}` });
  const relay = startRelay({
    store,
    nc,
    publishTimeoutMs: config.requestTimeoutMs,
    streamName: config.eventsStream,
    subjectRoot: config.subjectRoot,
    subscription: {
      batchSize: numberFromEnv('RELAY_BATCH_SIZE', 500),
      leaseMs: numberFromEnv('RELAY_LEASE_MS', 10_000),
      idlePollMs: 10,
    },
    async onBatchPublished({ events, duplicates }) {
      send({
        type: 'published',
        count: events.length,
        duplicates,
        lastGlobalPosition: events[events.length - 1]?.globalPosition ?? 0,
      });
      if (holdCheckpointMs > 0) await new Promise((resolve) => setTimeout(resolve, holdCheckpointMs));
    },
  });

  process.on('message', (command: RelayProcessCommand) => {
    if (command.type === 'caughtUp?') void relay.caughtUp().then(() => send({ type: 'caughtUp' }));
  });
  process.once('SIGTERM', () => {
    void (async () => {
      await relay.stop();
      await nc.drain();
      await db.destroy();
      process.exit(0);
    })();
  });
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
