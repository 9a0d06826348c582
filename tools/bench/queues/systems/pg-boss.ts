import { sql } from 'kysely';
import PgBoss from 'pg-boss';
import pgBossPackage from 'pg-boss/package.json';
import { createPostgresTestDatabase, type TestDatabase } from '@switchyard/event-store/testing';
import { startPeerWorker, type PeerProcess } from '../peer-process';
import type { Sink } from '../sink';
import { pollUntil, type AwaitOptions, type Completion, type QueueSystem } from '../system';
import type { Payload } from '../workload';

export interface PgBossOptions {
  /** work() loops in the worker process; each delivers its batch one job at a time. */
  loops: number;
  batchSize: number;
  pollingIntervalSeconds: number;
}

/**
 * pg-boss: an instance in this process sends (boss.send), one in the status reader's process reads
 * (boss.getJobById), a worker process runs `loops` work() polling loops. Completion times are the
 * job rows' `completed_on`. It lives in a throwaway database on the same PostgreSQL as Switchyard,
 * dropped at teardown.
 */
export function pgBossSystem(options: PgBossOptions): QueueSystem {
  const queueName = 'deliveries';
  let database: TestDatabase | undefined;
  let boss: PgBoss | undefined;
  let worker: PeerProcess | undefined;
  let accepted = 0;
  let sink: Sink | undefined;

  const finishedCount = async (): Promise<number> => {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pgboss.job WHERE name = ${queueName} AND state IN ('completed', 'failed', 'cancelled')`.execute(
      (database as TestDatabase).db,
    );
    return rows[0]?.n ?? 0;
  };

  return {
    name: 'pg-boss',
    description: 'pg-boss, send + work() (own process) on PostgreSQL',
    version: pgBossPackage.version,
    settings: {
      postgres: 'the same local server as Switchyard distributed (a database of its own)',
      workLoops: options.loops,
      batchSize: options.batchSize,
      pollingIntervalSeconds: options.pollingIntervalSeconds,
      deliveriesAtOnce: `${options.loops} (each loop delivers its batch one job at a time)`,
      queue: 'createQueue(name, { retryLimit: 0 }), policy standard; other constructor options default',
      submit: 'boss.send(name, { payload: <base64 of 1 KiB> })',
      statusRead: 'boss.getJobById(name, id)',
      completionTime: "job.completed_on (one complete() per batch: a batch's jobs share it)",
    },

    async setup(theSink: Sink) {
      sink = theSink;
      const address = { host: theSink.host, port: theSink.port };
      database = await createPostgresTestDatabase('bench_pgboss', {}, 2);
      const connectionString = database.url as string;
      boss = new PgBoss({ connectionString, max: 10 });
      boss.on('error', (error: Error) => console.error(`pg-boss: ${error.message}`));
      await boss.start();
      await boss.createQueue(queueName, { name: queueName, retryLimit: 0 });
      worker = await startPeerWorker({
        system: 'pg-boss',
        connectionString,
        queue: queueName,
        loops: options.loops,
        batchSize: options.batchSize,
        pollingIntervalSeconds: options.pollingIntervalSeconds,
        sink: address,
      });
    },

    async submit(payload: Payload) {
      const id = await (boss as PgBoss).send(queueName, { payload: payload.base64 });
      if (id === null) throw new Error('pg-boss did not create the job');
      accepted += 1;
      return id;
    },

    statusReader: () => ({ system: 'pg-boss', connectionString: (database as TestDatabase).url as string, queue: queueName }),

    async awaitCompletions(ids: readonly string[], { stallMs }: AwaitOptions): Promise<Completion[]> {
      await pollUntil(async () => (await finishedCount()) >= accepted, {
        progress: () => (sink as Sink).connections,
        stallMs,
        describe: async () => `pg-boss: ${await finishedCount()} of ${accepted} ended; worker output: ${worker?.output() ?? ''}`,
      });
      const { rows } = await sql<{ id: string; state: string; finished: number | null }>`
        SELECT id::text AS id, state, (extract(epoch FROM completed_on) * 1000)::float8 AS finished
        FROM pgboss.job WHERE id = ANY(${[...ids]}::uuid[])`.execute((database as TestDatabase).db);
      return rows.map((row) => ({ id: row.id, status: row.state, finishedAtMs: row.finished }));
    },

    database: () => database?.db,

    diagnostics: () => ({ workerOutput: (worker?.output() ?? '').split('\n').filter(Boolean).slice(-20) }),

    async teardown() {
      await worker?.stop();
      await boss?.stop({ graceful: false, wait: true, timeout: 5_000 }).catch(() => undefined);
      // pg-boss resolves stop() before its pool's last connections have closed; dropping the
      // database ends them, which it reports as errors that no longer matter.
      boss?.removeAllListeners('error').on('error', () => undefined);
      await database?.dispose();
    },
  };
}
