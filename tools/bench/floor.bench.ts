/**
 * The least CPU a print job costs in each part the architecture requires (ARCHITECTURE.md), each
 * part measured alone with its raw library and no Switchyard code, so that their sum bounds what any
 * implementation of the design can reach on this machine:
 *
 * - http: the job's one POST (a 1 KiB document as base64 in JSON), answered with a job's JSON:
 *   node:http on both sides, keep-alive, 32 submitters. The server is a process of its own.
 * - nats: the submit command as a core NATS request/reply; the job's events published to a
 *   file-backed JetStream stream, each with its msgID, one PubAck for every 32 jobs' events; its
 *   JobQueued delivered to a durable pull consumer and acked.
 * - postgres, event log: the job's five events (submitted, queued, started, delivery started,
 *   completed) in four commits, one statement a commit for 32 jobs at once.
 * - postgres, with the jobs row: the same commits, each also writing the job's read-model row
 *   (the insert, then three updates), in Switchyard's schema with its indexes.
 * - pglite, with the jobs row: the same on the embedded mode's database, in memory, in its thread.
 * - delivery: the job's work: connect to a TCP sink, write 1 KiB, close.
 *
 * Figures are CPU milliseconds a job by process (medians over rounds), read from /proc as the queue
 * bench reads them. Results also go to bench-results/floor-<time>.json.
 *
 *   npm run bench:floor             (8,000 jobs a part, 3 rounds)
 *   npm run bench:floor -- --quick  (4,000 jobs a part, 1 round)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { headers, nanos, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { CompiledQuery } from 'kysely';
import { Pool } from 'pg';
import { createPgliteTestDatabase, createPostgresTestDatabase } from '@switchyard/event-store/testing';
import { switchyardMigrations } from '@switchyard/platform';
import { NATS_URL } from '@switchyard/platform/testing';
import { measured, msPerUnit } from './queues/cpu';
import { JsonHttpClient } from './queues/http-client';
import { startSink } from './queues/sink';
import { spread } from './queues/stats';
import { benchPayload, deliverToSink } from './queues/workload';

const quick = process.argv.includes('--quick');
const JOBS = quick ? 4_000 : 8_000;
const ROUNDS = quick ? 1 : 3;
const SUBMITTERS = 32;
/** Jobs a statement, and jobs whose events one PubAck confirms. */
const BATCH = 32;
/** Jobs run through a part before it is measured: connections open, code compiled. */
const WARM_UP = 2_000;
/** Jobs delivered at once, as the queue bench's workers run them. */
const WORKERS = 16;

const document = benchPayload().base64;
const ORG = 'org-floor';
const at = (): string => new Date().toISOString();

/** What a part used: CPU ms a job by process group. */
type Costs = Record<string, number>;

interface Part {
  name: string;
  /** The process groups whose CPU is the part's own (the rest is the machine's other work). */
  groups: readonly string[];
  run(jobs: number): Promise<void>;
  /** Before any run: servers, connections. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

async function measure(part: Part, jobs: number): Promise<{ costs: Costs; seconds: number }> {
  const started = performance.now();
  const { cpu } = await measured(() => part.run(jobs));
  const seconds = (performance.now() - started) / 1000;
  if (!cpu) throw new Error('the floor bench reads CPU from /proc: Linux only');
  const costs: Costs = {};
  for (const group of part.groups) costs[group] = msPerUnit(cpu.byProcess[group] ?? 0, cpu.seconds, jobs);
  return { costs, seconds };
}

/** Runs `count` tasks, `width` at a time. */
async function inParallel(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: width }, lane));
}

const jobIds = (jobs: number): string[] => Array.from({ length: jobs }, () => randomUUID());

/** The job's input as the print kind keeps it, document and all (the first event carries it). */
const inputOf = (withDocument: boolean): Record<string, unknown> => ({
  printer: 'bench-sink',
  target: 'tcp_127-0-0-1_9100',
  title: 'floor bench',
  contentType: 'raw_base64',
  size: 1024,
  printerUri: 'socket://127.0.0.1:9100',
  ...(withDocument ? { document } : {}),
});

/** The five events of a raw socket print job, by the commit that appends them. */
const eventsByCommit = (jobId: string): { type: string; data: Record<string, unknown> }[][] => [
  [
    { type: 'JobSubmitted', data: { jobId, kind: 'print', orgId: ORG, input: inputOf(true), priority: 0, at: at() } },
    { type: 'JobQueued', data: { at: at() } },
  ],
  [{ type: 'JobStarted', data: { workerId: 'print-floor', attempt: 1, at: at() } }],
  [{ type: 'PrinterDeliveryStarted', data: { at: at() } }],
  [{ type: 'JobCompleted', data: { at: at() } }],
];
const STATUS_AFTER_COMMIT = ['queued', 'running', 'running', 'completed'] as const;

/** The read model's view of the job after a commit: what a status read returns. */
const viewAfter = (jobId: string, commit: number): Record<string, unknown> => ({
  jobId,
  kind: 'print',
  orgId: ORG,
  status: STATUS_AFTER_COMMIT[commit],
  input: inputOf(false),
  attempts: commit === 0 ? 0 : 1,
  progress: commit === 3 ? 1 : 0,
  submittedAt: at(),
  startedAt: commit === 0 ? null : at(),
  finishedAt: commit === 3 ? at() : null,
  print: { deliveryStarted: commit >= 2, printerJobId: null },
});

function httpPart(): Part {
  let child: ChildProcess | undefined;
  let client: JsonHttpClient | undefined;
  return {
    name: 'http',
    groups: ['bench client', 'floor server'],
    async start() {
      child = fork(__filename, ['--serve-http'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const port = await new Promise<number>((resolve, reject) => {
        child?.once('message', (message: { port: number }) => resolve(message.port));
        child?.once('exit', (code) => reject(new Error(`the floor's HTTP server exited with ${code}`)));
      });
      client = new JsonHttpClient(`http://127.0.0.1:${port}`, { 'x-api-key': 'floor' }, 64);
    },
    run: (jobs) =>
      inParallel(jobs, SUBMITTERS, async () => {
        await client?.post('/v1/jobs/print', { target: 'tcp_127-0-0-1_9100', content: document, contentType: 'raw_base64' });
      }),
    async stop() {
      client?.close();
      child?.kill();
    },
  };
}

/** The HTTP server's process: parses each request's JSON and answers with a job's. */
function serveHttp(): void {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { target: string };
      const jobId = randomUUID();
      const answer = JSON.stringify({ job: { id: jobId, kind: 'print', status: 'queued', target: body.target, createdAt: at(), view: viewAfter(jobId, 0) } });
      response.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      response.end(answer);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
  process.on('disconnect', () => process.exit(0));
}

function natsPart(): Part {
  const root = `floor${randomUUID().slice(0, 8)}`;
  const stream = root.toUpperCase();
  const durable = 'worker';
  let requester: NatsConnection | undefined;
  let service: NatsConnection | undefined;
  return {
    name: 'nats',
    groups: ['bench client', 'nats-server'],
    async start() {
      const [opened, answering] = await Promise.all([connect({ servers: NATS_URL }), connect({ servers: NATS_URL })]);
      requester = opened;
      service = answering;
      answering.subscribe(`${root}.cmd.print.submit`, {
        queue: 'print',
        callback: (_error: Error | null, message: Msg): void => void message.respond(JSON.stringify({ job: viewAfter(randomUUID(), 0) })),
      });
      await answering.flush();
      const jsm = await jetstreamManager(opened);
      await jsm.streams.add({ name: stream, subjects: [`${root}.evt.>`], storage: StorageType.File, duplicate_window: nanos(120_000) });
      await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: `${root}.evt.print.*.JobQueued` });
    },
    async run(jobs) {
      const nc = requester as NatsConnection;
      const js = jetstream(nc);
      const ids = jobIds(jobs);
      // The gateway's command to the print service, and its answer.
      await inParallel(jobs, SUBMITTERS, async () => {
        await nc.request(`${root}.cmd.print.submit`, JSON.stringify({ principal: { orgId: ORG }, payload: { request: { content: document } } }), { timeout: 10_000 });
      });
      // The relay: every event with its msgID; the batch's last one answered.
      for (let from = 0; from < jobs; from += BATCH) {
        const events = ids.slice(from, from + BATCH).flatMap((jobId) => eventsByCommit(jobId).flat().map((event) => ({ jobId, ...event })));
        const subjectOf = (event: (typeof events)[0]): string => `${root}.evt.print.${event.jobId}.${event.type}`;
        const payloadOf = (event: (typeof events)[0]): string => JSON.stringify({ eventId: randomUUID(), streamId: `job-${event.jobId}`, ...event });
        for (const event of events.slice(0, -1)) {
          const hdrs = headers();
          hdrs.set('Nats-Msg-Id', randomUUID());
          nc.publish(subjectOf(event), payloadOf(event), { headers: hdrs });
        }
        const last = events.at(-1) as (typeof events)[0];
        await js.publish(subjectOf(last), payloadOf(last), { msgID: randomUUID(), timeout: 10_000 });
      }
      // The worker: each JobQueued delivered and acked.
      const messages = await (await js.consumers.get(stream, durable)).consume({ max_messages: 256 });
      let acked = 0;
      for await (const message of messages) {
        message.ack();
        if (++acked === jobs) break;
      }
      await messages.close();
    },
    async stop() {
      if (requester) await (await jetstreamManager(requester)).streams.delete(stream).catch(() => undefined);
      await Promise.all([requester?.close(), service?.close()]);
    },
  };
}

/** One commit for a batch of jobs: their events, and (withRow) their read-model rows. */
function commitStatement(commit: number, withRow: boolean): string {
  const events = `INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata)
    SELECT gen_random_uuid(), s, v, t, d::jsonb, $5::jsonb FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS e(s, v, t, d)`;
  if (!withRow) return events;
  const rows = 'unnest($6::text[], $7::text[]) AS j(id, view)';
  if (commit === 0) {
    return `WITH appended AS (${events})
      INSERT INTO jobs (id, kind, org_id, status, progress, attempts, priority, version, created_at, updated_at, state)
      SELECT id, 'print', '${ORG}', 'queued', 0, 0, 0, 2, now(), now(), view::jsonb FROM ${rows}`;
  }
  const finished = commit === 3 ? ', finished_at = now(), progress = 1' : '';
  return `WITH appended AS (${events})
    UPDATE jobs SET status = '${STATUS_AFTER_COMMIT[commit]}', version = version + 1, attempts = 1, updated_at = now(),
      state = j.view::jsonb${finished} FROM ${rows} WHERE jobs.id = j.id`;
}

/** Runs one statement with its parameters on the database under test. */
type Execute = (text: string, parameters: unknown[]) => Promise<unknown>;

function databasePart(name: string, groups: readonly string[], withRow: boolean, execute: Execute): Part {
  return {
    name,
    groups,
    async run(jobs) {
      const ids = jobIds(jobs);
      const metadata = JSON.stringify({ kind: 'print', orgId: ORG, actor: 'floor', correlationId: randomUUID() });
      const batches = Math.ceil(jobs / BATCH);
      // Four pipelines, so that both CPUs have a statement to run.
      await inParallel(batches, 4, async (batch) => {
        const batchIds = ids.slice(batch * BATCH, (batch + 1) * BATCH);
        const versions = new Map(batchIds.map((jobId) => [jobId, 0]));
        const commits = batchIds.map(eventsByCommit);
        for (let commit = 0; commit < 4; commit += 1) {
          const events = batchIds.flatMap((jobId, i) => (commits[i]?.[commit] ?? []).map((event) => ({ jobId, ...event })));
          const parameters: unknown[] = [
            events.map(({ jobId }) => `job-${jobId}`),
            events.map(({ jobId }) => {
              const version = (versions.get(jobId) ?? 0) + 1;
              versions.set(jobId, version);
              return version;
            }),
            events.map(({ type }) => type),
            events.map(({ data }) => JSON.stringify(data)),
            metadata,
          ];
          if (withRow) parameters.push(batchIds, batchIds.map((jobId) => JSON.stringify(viewAfter(jobId, commit))));
          await execute(commitStatement(commit, withRow), parameters);
        }
      });
    },
  };
}

function deliveryPart(): Part {
  let sink: Awaited<ReturnType<typeof startSink>> | undefined;
  const bytes = benchPayload().bytes;
  return {
    name: 'delivery',
    groups: ['bench client'],
    async start() {
      sink = await startSink();
    },
    run: (jobs) => inParallel(jobs, WORKERS, () => deliverToSink(sink as NonNullable<typeof sink>, bytes)),
    stop: async () => sink?.close(),
  };
}

const format = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(3) : '-');

async function main(): Promise<void> {
  console.log(`floor bench: ${JOBS} jobs a part, ${ROUNDS} round(s); node ${process.version}, ${availableParallelism()} CPUs`);
  const database = await createPostgresTestDatabase('floor', switchyardMigrations(), 4);
  const pool = new Pool({ connectionString: database.url, max: 4 });
  // The database's drop at the end ends connections still closing: not a failure of the run.
  pool.on('error', () => undefined);
  const onPostgres: Execute = (text, parameters) => pool.query(text, parameters);
  // In memory, in its worker thread as the embedded mode runs it: its CPU is this process's.
  const pglite = await createPgliteTestDatabase(switchyardMigrations());
  const onPglite: Execute = (text, parameters) => pglite.db.executeQuery(CompiledQuery.raw(text, parameters));
  const parts: Part[] = [
    httpPart(),
    natsPart(),
    databasePart('postgres, event log', ['postgres'], false, onPostgres),
    databasePart('postgres, with the jobs row', ['postgres'], true, onPostgres),
    // This process's CPU: PGlite's thread, and building the statements' parameters as every database part does.
    databasePart('pglite, with the jobs row', ['bench client'], true, onPglite),
    deliveryPart(),
  ];
  const results: Record<string, { groups: Record<string, ReturnType<typeof spread>>; total: ReturnType<typeof spread>; jobsPerSecond: ReturnType<typeof spread> }> = {};
  try {
    await Promise.all(parts.map((part) => part.start?.()));
    for (const part of parts) {
      await part.run(WARM_UP);
      const rounds: { costs: Costs; seconds: number }[] = [];
      for (let round = 0; round < ROUNDS; round += 1) rounds.push(await measure(part, JOBS));
      const groups = Object.fromEntries(part.groups.map((group) => [group, spread(rounds.map(({ costs }) => costs[group] ?? 0))]));
      const total = spread(rounds.map(({ costs }) => Object.values(costs).reduce((sum, ms) => sum + ms, 0)));
      const jobsPerSecond = spread(rounds.map(({ seconds }) => JOBS / seconds));
      results[part.name] = { groups, total, jobsPerSecond };
      const byGroup = part.groups.map((group) => `${group} ${format(groups[group]?.median ?? Number.NaN)}`).join(', ');
      console.log(`  ${part.name}: ${format(total.median)} ms a job (${byGroup}); ${jobsPerSecond.median.toFixed(0)} jobs/s alone`);
    }
  } finally {
    await Promise.all(parts.map((part) => part.stop?.()));
    await pool.end();
    await Promise.all([database.dispose(), pglite.dispose()]);
  }
  const cpus = availableParallelism();
  const floorOf = (name: string): number => results[name]?.total.median ?? Number.NaN;
  const distributed = ['http', 'nats', 'postgres, with the jobs row', 'delivery'].reduce((sum, name) => sum + floorOf(name), 0);
  const distributedCeiling = (cpus * 1000) / distributed;
  const embedded = ['http', 'pglite, with the jobs row', 'delivery'].reduce((sum, name) => sum + floorOf(name), 0);
  // PGlite runs on one thread: it alone can use no more than one CPU.
  const embeddedCeiling = Math.min((cpus * 1000) / embedded, 1000 / floorOf('pglite, with the jobs row'));
  console.log(`\ndistributed (http + nats + postgres with the jobs row + delivery): ${format(distributed)} ms a job,`);
  console.log(`  so at most ${distributedCeiling.toFixed(0)} jobs/s on ${cpus} CPUs with every CPU busy and nothing else to do`);
  console.log(`embedded (http + pglite with the jobs row + delivery): ${format(embedded)} ms a job,`);
  console.log(`  so at most ${embeddedCeiling.toFixed(0)} jobs/s (PGlite's one thread counted as one CPU at most)`);
  mkdirSync('bench-results', { recursive: true });
  const file = join('bench-results', `floor-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ jobs: JOBS, rounds: ROUNDS, batch: BATCH, submitters: SUBMITTERS, cpus, parts: results, floorMs: { distributed, embedded }, ceilingJobsPerSecond: { distributed: distributedCeiling, embedded: embeddedCeiling } }, null, 2)}\n`);
  console.log(`results: ${file}`);
}

if (process.argv.includes('--serve-http')) {
  serveHttp();
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
