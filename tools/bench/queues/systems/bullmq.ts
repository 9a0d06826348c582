import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import bullmqPackage from 'bullmq/package.json';
import ioredisPackage from 'ioredis/package.json';
import { startPeerWorker, type PeerProcess } from '../peer-process';
import type { Sink } from '../sink';
import { pollUntil, type AwaitOptions, type Completion, type QueueSystem } from '../system';
import type { Payload } from '../workload';

export interface BullmqOptions {
  redis: { host: string; port: number };
  /** Jobs the worker runs at once (Worker `concurrency`). */
  concurrency: number;
}

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export const redisFromEnv = (): { host: string; port: number } => {
  const url = new URL(REDIS_URL);
  return { host: url.hostname, port: Number(url.port || 6379) };
};

/**
 * BullMQ: a Queue in this process submits (queue.add), one in the status reader's process reads
 * (queue.getJob), a Worker in its own process delivers. Completion times are the jobs' own
 * `finishedOn` (set by the worker on completion). A prefix and queue name of its own per run;
 * everything under the prefix is deleted at teardown.
 */
export function bullmqSystem(options: BullmqOptions): QueueSystem {
  const id = randomBytes(4).toString('hex');
  const prefix = `sybench-${id}`;
  const queueName = 'deliveries';
  let queue: Queue | undefined;
  let worker: PeerProcess | undefined;
  let accepted = 0;
  let sink: Sink | undefined;

  return {
    name: 'bullmq',
    description: 'BullMQ, Queue + Worker (own process) on Redis',
    version: bullmqPackage.version,
    settings: {
      ioredis: ioredisPackage.version,
      redis: `${options.redis.host}:${options.redis.port}`,
      workerConcurrency: options.concurrency,
      workerProcess: 'one forked Node process',
      jobOptions: 'defaults (attempts 1, jobs kept on completion)',
      submit: "queue.add('deliver', { payload: <base64 of 1 KiB> })",
      statusRead: 'queue.getJob(id) (one hash read; status from finishedOn/failedReason)',
      completionTime: 'job.finishedOn',
      prefix,
    },

    async setup(theSink: Sink) {
      sink = theSink;
      const address = { host: theSink.host, port: theSink.port };
      queue = new Queue(queueName, { connection: { ...options.redis }, prefix });
      await queue.waitUntilReady();
      worker = await startPeerWorker({ system: 'bullmq', redis: options.redis, prefix, queue: queueName, concurrency: options.concurrency, sink: address });
    },

    async submit(payload: Payload) {
      const job = await (queue as Queue).add('deliver', { payload: payload.base64 });
      accepted += 1;
      return job.id as string;
    },

    statusReader: () => ({ system: 'bullmq', redis: options.redis, prefix, queue: queueName }),

    async awaitCompletions(ids: readonly string[], { stallMs }: AwaitOptions): Promise<Completion[]> {
      const q = queue as Queue;
      await pollUntil(async () => (await q.getJobCountByTypes('completed', 'failed')) >= accepted, {
        progress: () => (sink as Sink).connections,
        stallMs,
        describe: async () => `bullmq: ${JSON.stringify(await q.getJobCounts())} of ${accepted} submitted; worker output: ${worker?.output() ?? ''}`,
      });
      const completions: Completion[] = [];
      for (let start = 0; start < ids.length; start += 1000) {
        const jobs = await Promise.all(ids.slice(start, start + 1000).map((jobId) => q.getJob(jobId)));
        for (const [index, job] of jobs.entries()) {
          completions.push({
            id: ids[start + index] as string,
            status: !job?.finishedOn ? 'unfinished' : job.failedReason ? 'failed' : 'completed',
            finishedAtMs: job?.finishedOn ?? null,
          });
        }
      }
      return completions;
    },

    diagnostics: () => ({ workerOutput: (worker?.output() ?? '').split('\n').filter(Boolean).slice(-20) }),

    async teardown() {
      await worker?.stop();
      if (queue) {
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
      }
      // Whatever obliterate left (meta, events, ids): every key under this run's prefix.
      const redis = new Redis({ ...options.redis, lazyConnect: true });
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}
