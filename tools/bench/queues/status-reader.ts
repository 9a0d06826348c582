/**
 * The status reads' load, in a process of its own: started by status-reader-process.ts with fork(),
 * given the system's read path and the job ids by one IPC message, then asked for one read run at a
 * time. Reads from the bench process itself were held up by that process's own garbage collector:
 * its heap carries every round's ids, latencies and completions, and its major collections stopped
 * sends and answers alike, 20-66 reads at a time, for up to 27 ms. Counted from the scheduled send,
 * that was a p99 of 6-15 ms for Switchyard distributed where the same reads from a small worker
 * thread in the same run measured 3-4 ms.
 */
import { Queue } from 'bullmq';
import PgBoss from 'pg-boss';
import type { JobResponse } from '@switchyard/gateway';
import { JsonHttpClient } from './http-client';
import { readAtFixedRate, readFlatOut, type ReadRun } from './load';

/** A system's status read path, as plain data: what this process needs to build a client of its own. */
export type StatusReaderSpec =
  | { system: 'bullmq'; redis: { host: string; port: number }; prefix: string; queue: string }
  | { system: 'pg-boss'; connectionString: string; queue: string }
  | { system: 'switchyard'; baseUrl: string; apiKey: string };

export type ReadLoad = { kind: 'fixed-rate'; perSecond: number; ms: number } | { kind: 'flat-out'; concurrency: number; ms: number };

export type ReaderRequest =
  | { type: 'start'; spec: StatusReaderSpec; ids: string[] }
  | { type: 'run'; load: ReadLoad }
  | { type: 'stop' };
export type ReaderReply =
  | { type: 'ready' }
  | { type: 'result'; run: ReadRun }
  /** Starting, or the run asked for, failed. */
  | { type: 'failed'; message: string }
  /** Something the client reported on its own (a pool's error), for the output. */
  | { type: 'log'; message: string };

interface StatusClient {
  /** One job's status by id, as the system words it. */
  read(jobId: string): Promise<string>;
  close(): Promise<void>;
}

async function clientFor(spec: StatusReaderSpec): Promise<StatusClient> {
  switch (spec.system) {
    case 'bullmq': {
      const queue = new Queue(spec.queue, { connection: { ...spec.redis }, prefix: spec.prefix });
      await queue.waitUntilReady();
      return {
        async read(jobId) {
          const job = await queue.getJob(jobId);
          if (!job) throw new Error(`no job ${jobId}`);
          return job.finishedOn ? (job.failedReason ? 'failed' : 'completed') : job.processedOn ? 'active' : 'waiting';
        },
        close: () => queue.close(),
      };
    }
    case 'pg-boss': {
      // A reader only: the bench's own instance created the queue and keeps up the schema.
      const boss = new PgBoss({ connectionString: spec.connectionString, max: 10, supervise: false, schedule: false, migrate: false });
      boss.on('error', (error: Error) => send({ type: 'log', message: `pg-boss reader: ${error.message}` }));
      await boss.start();
      return {
        async read(jobId) {
          const job = await boss.getJobById(spec.queue, jobId);
          if (!job) throw new Error(`no job ${jobId}`);
          return job.state;
        },
        close: () => boss.stop({ graceful: false, wait: true, timeout: 5_000 }),
      };
    }
    case 'switchyard': {
      const api = new JsonHttpClient(spec.baseUrl, { 'x-api-key': spec.apiKey }, 64);
      return {
        read: async (jobId) => (await api.get<JobResponse>(`/v1/jobs/${jobId}`)).job.status,
        close: async () => api.close(),
      };
    }
  }
}

const send = (reply: ReaderReply): void => void process.send?.(reply);

let client: StatusClient | undefined;
let ids: string[] = [];
const read = (): Promise<string> => (client as StatusClient).read(ids[Math.floor(Math.random() * ids.length)] as string);

const run = (load: ReadLoad): Promise<ReadRun> =>
  load.kind === 'fixed-rate' ? readAtFixedRate(load.perSecond, load.ms, read) : readFlatOut(load.concurrency, load.ms, read);

const fail = (error: unknown): void => send({ type: 'failed', message: String(error instanceof Error ? error.stack : error) });

process.on('message', (request: ReaderRequest) => {
  switch (request.type) {
    case 'start':
      ids = request.ids;
      clientFor(request.spec).then(
        (created) => {
          client = created;
          send({ type: 'ready' });
        },
        (error: unknown) => {
          fail(error);
          process.exit(1);
        },
      );
      break;
    case 'run':
      run(request.load).then((result) => send({ type: 'result', run: result }), fail);
      break;
    case 'stop':
      void (client?.close() ?? Promise.resolve())
        .catch(() => undefined)
        .finally(() => process.exit(0));
  }
});
// The parent went away (killed, crashed): do not outlive it.
process.on('disconnect', () => process.exit(0));
