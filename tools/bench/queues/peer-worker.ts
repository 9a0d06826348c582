/**
 * A peer's worker in a process of its own, as Switchyard's print service runs in its own: started by
 * systems/bullmq.ts and systems/pg-boss.ts with fork(), configured by one IPC message, stopped by another.
 * Each job delivers its payload to the sink (workload.ts) and completes.
 */
import { Worker } from 'bullmq';
import PgBoss from 'pg-boss';
import type { SinkAddress } from './sink';
import { deliverToSink } from './workload';

export interface BullmqWorkerConfig {
  system: 'bullmq';
  redis: { host: string; port: number };
  prefix: string;
  queue: string;
  concurrency: number;
  sink: SinkAddress;
}

export interface PgBossWorkerConfig {
  system: 'pg-boss';
  connectionString: string;
  queue: string;
  /** work() loops: pg-boss 10 has no teamSize; each work() call is one polling loop. */
  loops: number;
  batchSize: number;
  pollingIntervalSeconds: number;
  sink: SinkAddress;
}

export type PeerWorkerConfig = BullmqWorkerConfig | PgBossWorkerConfig;

export type ParentMessage = { type: 'start'; config: PeerWorkerConfig } | { type: 'stop' };
export type WorkerMessage = { type: 'ready' } | { type: 'error'; message: string };

interface JobData {
  payload: string;
}

const send = (message: WorkerMessage): void => void process.send?.(message);

async function startBullmq(config: BullmqWorkerConfig): Promise<() => Promise<void>> {
  const worker = new Worker<JobData>(
    config.queue,
    async (job) => {
      await deliverToSink(config.sink, Buffer.from(job.data.payload, 'base64'));
    },
    { connection: { ...config.redis, maxRetriesPerRequest: null }, prefix: config.prefix, concurrency: config.concurrency },
  );
  worker.on('error', (error) => send({ type: 'error', message: `bullmq worker: ${error.message}` }));
  await worker.waitUntilReady();
  return () => worker.close();
}

async function startPgBoss(config: PgBossWorkerConfig): Promise<() => Promise<void>> {
  const boss = new PgBoss({ connectionString: config.connectionString, max: config.loops + 2 });
  boss.on('error', (error: Error) => send({ type: 'error', message: `pg-boss worker: ${error.message}` }));
  await boss.start();
  for (let loop = 0; loop < config.loops; loop += 1) {
    // One delivery at a time per loop, so `loops` deliveries run at once, like the others' concurrency.
    await boss.work<JobData>(config.queue, { batchSize: config.batchSize, pollingIntervalSeconds: config.pollingIntervalSeconds }, async (jobs) => {
      for (const job of jobs) await deliverToSink(config.sink, Buffer.from(job.data.payload, 'base64'));
    });
  }
  return () => boss.stop({ graceful: true, wait: true, timeout: 10_000 });
}

let stop: (() => Promise<void>) | undefined;

process.on('message', (message: ParentMessage) => {
  if (message.type === 'start') {
    const start = message.config.system === 'bullmq' ? startBullmq(message.config) : startPgBoss(message.config);
    start.then(
      (stopper) => {
        stop = stopper;
        send({ type: 'ready' });
      },
      (error: unknown) => {
        send({ type: 'error', message: String(error instanceof Error ? error.stack : error) });
        process.exit(1);
      },
    );
  } else {
    void (stop?.() ?? Promise.resolve())
      .catch(() => undefined)
      .finally(() => process.exit(0));
  }
});
// The parent went away (killed, crashed): do not outlive it.
process.on('disconnect', () => process.exit(0));
