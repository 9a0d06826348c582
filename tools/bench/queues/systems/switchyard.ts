import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccountsStore } from '@switchyard/accounts';
import type { CommandEnvelope, Principal, PrinterView } from '@switchyard/contracts';
import type { TestDatabase } from '@switchyard/event-store/testing';
import type { JobResponse } from '@switchyard/gateway';
import { NatsCommandBus } from '@switchyard/messaging';
import { NATS_URL, startDistributed, startEmbedded } from '@switchyard/platform/testing';
import type { SubmitPrint } from '@switchyard/print/service';
import { JsonHttpClient } from '../http-client';
import type { Sink, SinkAddress } from '../sink';
import { pollUntil, type AwaitOptions, type Completion, type QueueSystem } from '../system';
import type { Payload } from '../workload';

const root = join(__dirname, '..', '..', '..', '..');
const switchyardVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** A running Switchyard with the sink registered as a raw socket printer. */
export interface Installation {
  baseUrl: string;
  adminKey: string;
  /** The printer path jobs are sent to (`tcp_127-0-0-1_<port>`). */
  target: string;
  /** The distributed mode's database (the NATS variant reads the admin's principal from it). */
  database: TestDatabase | undefined;
  /** The distributed mode's NATS command subject root (NATS_COMMAND_ROOT); undefined: the default. */
  commandRoot: string | undefined;
  /** The processes' output so far (stdout and stderr), for a report when something fails. */
  output(): string;
  /** The same, per process. */
  outputs(): Record<string, string>;
  stop(): Promise<void>;
}

const tail = (text: string, lines = 40): string => text.split('\n').slice(-lines).join('\n');

const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** The processes' log lines (pino JSON at LOG_LEVEL=warn) counted by level and message. */
export function summarizeOutput(output: string): { lines: number; byMessage: Record<string, number>; last: string[] } {
  const lines = output.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('--- '));
  const byMessage: Record<string, number> = {};
  for (const line of lines) {
    let key: string;
    try {
      const entry = JSON.parse(line) as { level?: number; name?: string; msg?: string; err?: { message?: string } };
      const error = entry.err?.message ? `: ${entry.err.message.slice(0, 120)}` : '';
      key = `${PINO_LEVELS[entry.level ?? 0] ?? entry.level} ${entry.name ?? ''} ${entry.msg ?? ''}${error}`;
    } catch {
      key = `text: ${line.slice(0, 160)}`;
    }
    byMessage[key] = (byMessage[key] ?? 0) + 1;
  }
  return { lines: lines.length, byMessage, last: lines.slice(-5).map((line) => line.slice(0, 400)) };
}

const outputLengths = (installation: Installation): Record<string, number> =>
  Object.fromEntries(Object.entries(installation.outputs()).map(([name, text]) => [name, text.length]));

/** Each process's log since `from` (this system's share of a shared installation), summarized. */
const outputSince = (installation: Installation, from: Record<string, number>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(installation.outputs()).map(([name, text]) => [name, summarizeOutput(text.slice(from[name] ?? 0))]));

/** Kills the processes if a graceful stop hangs, so a bench run always ends. */
async function stopWithin(stop: Promise<void>, kill: () => void, ms = 20_000): Promise<void> {
  const timer = setTimeout(kill, ms);
  try {
    await stop;
  } finally {
    clearTimeout(timer);
  }
}

async function registerSinkPrinter(baseUrl: string, adminKey: string, sink: SinkAddress): Promise<string> {
  const api = new JsonHttpClient(baseUrl, { 'x-api-key': adminKey }, 1);
  try {
    const printer = await api.post<PrinterView>('/v1/printers', { name: 'bench-sink', uri: `socket://${sink.host}:${sink.port}`, tags: ['BENCH'] });
    return printer.path;
  } finally {
    api.close();
  }
}

export async function launchDistributed(sink: SinkAddress, printEnv: Record<string, string>): Promise<Installation> {
  const platform = await startDistributed({ print: printEnv });
  const outputs = (): Record<string, string> => ({ gateway: platform.gateway.output(), print: platform.print.output() });
  const output = (): string => `--- gateway ---\n${platform.gateway.output()}\n--- print ---\n${platform.print.output()}`;
  try {
    const target = await registerSinkPrinter(platform.gatewayUrl, platform.adminKey, sink);
    return {
      baseUrl: platform.gatewayUrl,
      adminKey: platform.adminKey,
      target,
      database: platform.database,
      commandRoot: platform.env['NATS_COMMAND_ROOT'],
      output,
      outputs,
      stop: () => stopWithin(platform.stop(), () => [platform.gateway, platform.print].forEach((app) => app.child.kill('SIGKILL'))),
    };
  } catch (error) {
    await platform.stop().catch(() => undefined);
    throw new Error(`${String(error)}\n${tail(output())}`);
  }
}

export async function launchEmbedded(sink: SinkAddress, env: Record<string, string>): Promise<Installation> {
  const embedded = await startEmbedded(env);
  try {
    const target = await registerSinkPrinter(embedded.baseUrl, embedded.adminKey, sink);
    return {
      baseUrl: embedded.baseUrl,
      adminKey: embedded.adminKey,
      target,
      database: undefined,
      commandRoot: undefined,
      output: () => embedded.app.output(),
      outputs: () => ({ switchyard: embedded.app.output() }),
      stop: () => stopWithin(embedded.stop(), () => embedded.app.child.kill('SIGKILL')),
    };
  } catch (error) {
    await embedded.stop().catch(() => undefined);
    throw new Error(`${String(error)}\n${tail(embedded.app.output())}`);
  }
}

/**
 * One installation for the systems that measure it (distributed over HTTP, then over NATS): started
 * by the first, stopped after the last, or by `dispose` when the run is cut short.
 */
export class SharedInstallation {
  private running: Promise<Installation> | undefined;

  constructor(
    private readonly launch: (sink: SinkAddress) => Promise<Installation>,
    private users: number,
  ) {}

  acquire(sink: SinkAddress): Promise<Installation> {
    this.running ??= this.launch(sink);
    return this.running;
  }

  async release(): Promise<void> {
    this.users -= 1;
    if (this.users <= 0) await this.dispose();
  }

  async dispose(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    const installation = await running?.catch(() => undefined);
    await installation?.stop();
  }
}

interface JobPage {
  data: JobResponse[];
  nextCursor: string | null;
}

/**
 * Waits until no print job is queued or running (two list reads of the public API every 200 ms),
 * then pages through this round's jobs for each one's `finishedAt`: the print service's own clock.
 */
async function awaitSwitchyardCompletions(
  api: JsonHttpClient,
  sink: Sink,
  installation: Installation,
  ids: readonly string[],
  { sinceMs, stallMs }: AwaitOptions,
): Promise<Completion[]> {
  const unfinished = async (status: string): Promise<number> =>
    (await api.get<JobPage>(`/v1/jobs?kind=print&status=${status}&limit=1`)).data.length;
  await pollUntil(async () => (await unfinished('queued')) === 0 && (await unfinished('running')) === 0, {
    progress: () => sink.connections,
    stallMs,
    describe: () => `switchyard: jobs still queued or running; the sink has ${sink.deliveries} deliveries; process output:\n${tail(installation.output())}`,
    intervalMs: 200,
  });
  const wanted = new Set(ids);
  const completions: Completion[] = [];
  const createdFrom = encodeURIComponent(new Date(sinceMs - 1000).toISOString());
  let cursor: string | null = null;
  do {
    const page: JobPage = await api.get<JobPage>(
      `/v1/jobs?kind=print&createdFrom=${createdFrom}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    for (const { job } of page.data) {
      if (wanted.has(job.id)) completions.push({ id: job.id, status: job.status, finishedAtMs: job.finishedAt ? Date.parse(job.finishedAt) : null });
    }
    cursor = page.nextCursor;
  } while (cursor);
  return completions;
}

export interface SwitchyardHttpOptions {
  name: string;
  description: string;
  settings: Record<string, unknown>;
  installation: SharedInstallation;
}

/** Switchyard as its users drive it: POST /v1/jobs/print and GET /v1/jobs/:id with the admin key. */
export function switchyardHttpSystem(options: SwitchyardHttpOptions): QueueSystem {
  let installation: Installation | undefined;
  let api: JsonHttpClient | undefined;
  let sink: Sink | undefined;
  let outputFrom: Record<string, number> = {};
  const client = (): JsonHttpClient => api as JsonHttpClient;

  return {
    name: options.name,
    description: options.description,
    version: switchyardVersion,
    settings: {
      ...options.settings,
      submit: 'POST /v1/jobs/print { target: <sink printer path>, content: <base64 of 1 KiB>, contentType: raw_base64 }',
      statusRead: 'GET /v1/jobs/:id',
      completionTime: "the job's finishedAt, paged from GET /v1/jobs?kind=print&createdFrom=… after the round",
      httpClient: 'node:http keep-alive agent, up to 64 connections',
    },

    async setup(theSink: Sink) {
      sink = theSink;
      installation = await options.installation.acquire(theSink);
      outputFrom = outputLengths(installation);
      api = new JsonHttpClient(installation.baseUrl, { 'x-api-key': installation.adminKey }, 64);
    },

    async submit(payload: Payload) {
      const target = (installation as Installation).target;
      const response = await client().post<JobResponse>('/v1/jobs/print', { target, content: payload.base64, contentType: 'raw_base64' });
      return response.job.id;
    },

    statusReader: () => {
      const { baseUrl, adminKey } = installation as Installation;
      return { system: 'switchyard', baseUrl, apiKey: adminKey };
    },

    awaitCompletions: (ids, awaitOptions) => awaitSwitchyardCompletions(client(), sink as Sink, installation as Installation, ids, awaitOptions),

    // Distributed only: the embedded mode's PGlite has its own upkeep.
    database: () => installation?.database?.db,
    diagnostics: () => outputSince(installation as Installation, outputFrom),

    async teardown() {
      api?.close();
      await options.installation.release();
    },
  };
}

/**
 * Switchyard distributed without HTTP: the print service's submit command sent over NATS by this
 * process with the same NatsCommandBus and envelope the gateway builds (the admin key's principal).
 * Completions are read as for the HTTP systems.
 */
export function switchyardNatsSystem(options: SwitchyardHttpOptions): QueueSystem {
  let installation: Installation | undefined;
  let api: JsonHttpClient | undefined;
  let bus: NatsCommandBus | undefined;
  let principal: Principal | undefined;
  let sink: Sink | undefined;
  let outputFrom: Record<string, number> = {};

  return {
    name: options.name,
    description: options.description,
    version: switchyardVersion,
    settings: {
      ...options.settings,
      submit: "NatsCommandBus.send('print', 'submit', { principal, correlationId, payload: { target, request: { content, contentType } } })",
      commandTimeoutMs: 10_000,
      completionTime: "the job's finishedAt, paged from GET /v1/jobs?kind=print&createdFrom=… after the round",
    },

    async setup(theSink: Sink) {
      sink = theSink;
      installation = await options.installation.acquire(theSink);
      outputFrom = outputLengths(installation);
      api = new JsonHttpClient(installation.baseUrl, { 'x-api-key': installation.adminKey }, 4);
      const found = await new AccountsStore(installation.database?.db as never).authenticate(installation.adminKey);
      if (!found) throw new Error('the admin key did not authenticate against the installation database');
      principal = found;
      const commandRoot = installation.commandRoot;
      bus = new NatsCommandBus({
        servers: [NATS_URL],
        timeoutMs: 10_000,
        name: 'switchyard-queue-bench',
        ...(commandRoot === undefined ? {} : { commandRoot }),
      });
      await bus.connect();
    },

    async submit(payload: Payload) {
      const envelope: CommandEnvelope<SubmitPrint> = {
        principal: principal as Principal,
        correlationId: randomUUID(),
        payload: { target: (installation as Installation).target, request: { content: payload.base64, contentType: 'raw_base64' } },
      };
      const details = await (bus as NatsCommandBus).send<JobResponse>('print', 'submit', envelope);
      return details.job.id;
    },

    awaitCompletions: (ids, awaitOptions) =>
      awaitSwitchyardCompletions(api as JsonHttpClient, sink as Sink, installation as Installation, ids, awaitOptions),

    // Distributed only: the embedded mode's PGlite has its own upkeep.
    database: () => installation?.database?.db,
    diagnostics: () => outputSince(installation as Installation, outputFrom),

    async teardown() {
      await bus?.close().catch(() => undefined);
      api?.close();
      await options.installation.release();
    },
  };
}
