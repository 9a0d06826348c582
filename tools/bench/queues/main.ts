/**
 * Switchyard beside BullMQ and pg-boss on one workload: a job whose work is delivering a 1 KiB
 * payload to a raw TCP sink on 127.0.0.1 (as Switchyard's print service does for a 9100 printer),
 * then completing. Switchyard runs distributed (gateway + print service on NATS and PostgreSQL) and
 * embedded (one process on PGlite), driven through its public HTTP API, and distributed once more
 * with the submit command sent over NATS from this process, so the HTTP cost shows on its own.
 * Figures as min / median / max over rounds: jobs accepted/s with 1 and 32 submitters, jobs
 * completed/s end to end, submit→completed latency, status reads at 2,000/s offered and flat out
 * (sent from a process of their own, status-reader.ts); then Switchyard ÷ peer ratios, and where
 * the CPU went (by process, per job and per read, with write syscalls). Results also go to
 * bench-results/queues-<time>.json.
 *
 *   npm run bench                      (the issue's size: 10,000 jobs a round, 3 rounds, 5 s read windows;
 *                                       11 to 30 minutes on 2 CPUs, as fast as the machine runs that day)
 *   npm run bench -- --jobs=1000       (the same with 1,000 jobs a round: a few minutes)
 *   npm run bench -- --quick           (under a minute in all: 40 jobs, 2 rounds, 0.5 s windows)
 *   npm run bench -- --only=bullmq,switchyard-distributed   (a subset; names below)
 *   ... --jobs=N --rounds=N --read-seconds=N override the size
 *
 * Systems: bullmq, pg-boss, switchyard-distributed, switchyard-nats, switchyard-embedded. Needs
 * PostgreSQL (SWITCHYARD_TEST_DATABASE_URL), NATS with JetStream (NATS_URL) and Redis (REDIS_URL)
 * on their local defaults. When that PostgreSQL runs with autovacuum off, the bench does its work on
 * the systems' databases (upkeep.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { measureSystem, type BenchConfig, type SystemRun } from './driver';
import { describeServers } from './environment';
import { computeFigures, figuresFor, ratioRows, renderCpu, renderReport } from './report';
import { startSink, type Sink } from './sink';
import { startUpkeep, type Upkeep, type UpkeepReport } from './upkeep';
import type { QueueSystem } from './system';
import { bullmqSystem, redisFromEnv } from './systems/bullmq';
import { pgBossSystem } from './systems/pg-boss';
import { launchDistributed, launchEmbedded, SharedInstallation, switchyardHttpSystem, switchyardNatsSystem } from './systems/switchyard';
import { benchPayload, PAYLOAD_BYTES } from './workload';

const SYSTEMS = ['bullmq', 'pg-boss', 'switchyard-distributed', 'switchyard-nats', 'switchyard-embedded'] as const;
type SystemName = (typeof SYSTEMS)[number];

/** Jobs each system runs at once: Switchyard's PRINT_CONCURRENCY, BullMQ's concurrency, pg-boss's work() loops. */
const WORKER_CONCURRENCY = 16;

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function positive(name: string, fallback: number): number {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${raw}`);
  return value;
}

function selectedSystems(): SystemName[] {
  const only = option('only');
  if (only === undefined) return [...SYSTEMS];
  const names = only.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(SYSTEMS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`--only: unknown ${unknown.join(', ')}; systems: ${SYSTEMS.join(', ')}`);
  return SYSTEMS.filter((name) => names.includes(name));
}

function benchConfig(quick: boolean): BenchConfig {
  return {
    jobsPerRound: Math.round(positive('jobs', quick ? 40 : 10_000)),
    rounds: Math.round(positive('rounds', quick ? 2 : 3)),
    submitterCounts: [1, 32],
    loadedSubmitters: 32,
    fixedReadRate: 2000,
    flatOutReaders: 32,
    readWindowMs: positive('read-seconds', quick ? 0.5 : 5) * 1000,
    readWarmupMs: quick ? 200 : 2000,
  };
}

const loadAverage = (): string => loadavg().map((value) => value.toFixed(2)).join(' ');

/** The commit, and the files that differ from it: the apps are spawned from the working tree. */
const gitTree = (): { commit: string | null; uncommitted: string[] } => {
  // --no-optional-locks: never touch the index, others may be using the same tree.
  const git = (...args: string[]): string =>
    execFileSync('git', ['--no-optional-locks', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const uncommitted = git('status', '--porcelain', '--untracked-files=no').split('\n').filter(Boolean).map((line) => line.slice(3));
    return { commit: git('rev-parse', 'HEAD').trim(), uncommitted };
  } catch {
    return { commit: null, uncommitted: [] };
  }
};

function buildSystems(names: readonly SystemName[], shared: SharedInstallation[]): QueueSystem[] {
  const printEnv = { PRINT_CONCURRENCY: String(WORKER_CONCURRENCY) };
  const switchyardSettings = {
    PRINT_CONCURRENCY: WORKER_CONCURRENCY,
    DATABASE_POOL_SIZE: '20 (default) per process',
    LOG_LEVEL: 'warn',
    printer: 'socket://127.0.0.1:<sink port>, registered with POST /v1/printers; jobs target its path',
  };
  const distributedUsers = names.filter((name) => name === 'switchyard-distributed' || name === 'switchyard-nats').length;
  const distributed = new SharedInstallation((sink) => launchDistributed(sink, printEnv), distributedUsers);
  const embedded = new SharedInstallation((sink) => launchEmbedded(sink, printEnv), 1);
  shared.push(distributed, embedded);
  const distributedSettings = {
    ...switchyardSettings,
    processes: 'gateway + print service (startDistributed from @switchyard/platform/testing), spawned from source with @swc-node/register',
    storage: 'PostgreSQL (a fresh database), NATS JetStream (a stream of its own)',
  };
  const build: Record<SystemName, () => QueueSystem> = {
    bullmq: () => bullmqSystem({ redis: redisFromEnv(), concurrency: WORKER_CONCURRENCY }),
    'pg-boss': () => pgBossSystem({ loops: WORKER_CONCURRENCY, batchSize: 100, pollingIntervalSeconds: 0.5 }),
    'switchyard-distributed': () =>
      switchyardHttpSystem({
        name: 'switchyard-distributed',
        description: 'Switchyard distributed, through the public HTTP API',
        settings: distributedSettings,
        installation: distributed,
      }),
    'switchyard-nats': () =>
      switchyardNatsSystem({
        name: 'switchyard-nats',
        description: "Switchyard distributed, submit as a NATS command from this process (no HTTP); the same installation as switchyard-distributed",
        settings: distributedSettings,
        installation: distributed,
      }),
    'switchyard-embedded': () =>
      switchyardHttpSystem({
        name: 'switchyard-embedded',
        description: 'Switchyard embedded (one process, PGlite), through the public HTTP API',
        settings: {
          ...switchyardSettings,
          processes: 'one switchyard process (startEmbedded from @switchyard/platform/testing), spawned from source',
          storage: 'PGlite in a fresh temporary folder',
        },
        installation: embedded,
      }),
  };
  return names.map((name) => build[name]());
}

/** The warnings and errors a system's processes logged, most frequent first. */
function printDiagnostics(diagnostics: Record<string, unknown> | undefined): void {
  for (const [process, summary] of Object.entries(diagnostics ?? {})) {
    const byMessage = (summary as { byMessage?: Record<string, number> }).byMessage;
    if (!byMessage) continue;
    const top = Object.entries(byMessage).sort((a, b) => b[1] - a[1]).slice(0, 5);
    for (const [message, count] of top) console.log(`  ${process} logged ${count}× ${message}`);
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const config = benchConfig(quick);
  const names = selectedSystems();
  const figures = figuresFor(config);
  const startedAt = new Date();
  const shared: SharedInstallation[] = [];
  const systems = buildSystems(names, shared);
  const payload = benchPayload();
  const sink: Sink = await startSink();
  let current: QueueSystem | undefined;

  // Ctrl-C or a kill: stop what runs and remove what was created, then leave.
  let interrupted = false;
  const interrupt = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: cleaning up`);
    void (async () => {
      await current?.teardown().catch((error: unknown) => console.error(error));
      await Promise.all(shared.map((installation) => installation.dispose().catch((error: unknown) => console.error(error))));
      await sink.close();
      process.exit(130);
    })();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  console.log(
    `queue bench: ${names.join(', ')}; ${config.jobsPerRound} jobs a round, ${config.rounds} rounds, ` +
      `${config.readWindowMs / 1000} s read windows after ${config.readWarmupMs / 1000} s of warm-up reads; node ${process.version}, ${availableParallelism()} CPUs, ` +
      `load average ${loadAverage()}`,
  );
  const loadAtStart = loadavg();
  const switchyardTree = gitTree();
  const servers = await describeServers();
  console.log(
    `servers: ${Object.entries(servers)
      .map(([name, settings]) => `${name} ${Object.entries(settings).map(([key, value]) => `${key}=${value}`).join(' ')}`)
      .join('; ')}`,
  );
  // A PostgreSQL server with autovacuum off: the bench does the daemon's work (upkeep.ts).
  const serverVacuums = 'error' in servers.postgres || servers.postgres['autovacuum'] !== 'off';
  const runs: SystemRun[] = [];
  try {
    for (const system of systems) {
      if (interrupted) break;
      current = system;
      console.log(`\n${system.name} ${system.version}: ${system.description}`);
      const began = Date.now();
      let run: SystemRun;
      let upkeep: Upkeep | undefined;
      let upkept: UpkeepReport | undefined;
      try {
        await system.setup(sink);
        console.log(`  ready in ${((Date.now() - began) / 1000).toFixed(1)} s`);
        const database = serverVacuums ? undefined : system.database?.();
        if (database) upkeep = await startUpkeep(database, (error) => console.error(`  upkeep of ${system.name}'s database failed:`, error));
        run = await measureSystem(system, sink, payload, config);
        run.diagnostics = system.diagnostics?.();
        printDiagnostics(run.diagnostics);
      } catch (error) {
        if (interrupted) break;
        const message = error instanceof Error ? error.message : String(error);
        console.error(`  ${system.name} failed: ${message}`);
        run = { name: system.name, description: system.description, version: system.version, settings: system.settings, jobRounds: [], readRounds: [], figures: {}, error: message };
      } finally {
        upkept = await upkeep?.stop().catch((error: unknown) => {
          console.error(`  upkeep of ${system.name}'s database did not stop cleanly:`, error);
          return undefined;
        });
        if (!interrupted) await system.teardown().catch((error: unknown) => console.error(`  ${system.name} teardown failed:`, error));
        current = undefined;
      }
      if (upkept) {
        run.upkeep = upkept;
        console.log(
          `  autovacuum is off on the server: the bench ran its rules on ${system.name}'s database every ${upkept.naptimeSeconds} s ` +
            `(VACUUM ${upkept.vacuums}×, ANALYZE ${upkept.analyzes}×)`,
        );
      }
      run.figures = computeFigures(run, figures, config);
      runs.push(run);
      console.log(`  ${system.name} done in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    }
  } finally {
    if (!interrupted) {
      await Promise.all(shared.map((installation) => installation.dispose()));
      await sink.close();
    }
  }
  if (interrupted) return;

  console.log(renderReport(runs, figures));
  console.log(renderCpu(runs, config));
  mkdirSync('bench-results', { recursive: true });
  const file = join('bench-results', `queues-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  writeFileSync(
    file,
    JSON.stringify(
      {
        startedAt: startedAt.toISOString(),
        seconds,
        quick,
        machine: {
          node: process.version,
          cpus: availableParallelism(),
          cpuModel: cpus()[0]?.model ?? null,
          memoryBytes: totalmem(),
          platform: `${process.platform} ${process.arch}`,
          // Anything else running on the machine shows here: every system shares its CPUs.
          loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
        },
        servers,
        switchyardTree,
        workload: {
          payloadBytes: PAYLOAD_BYTES,
          work: 'connect to the sink on 127.0.0.1, write the payload, half-close, wait for the sink to close, complete',
          workerConcurrency: WORKER_CONCURRENCY,
        },
        config,
        figures: figures.map(({ key, label, better }) => ({ key, label, better })),
        systems: runs,
        ratios: ratioRows(runs, figures),
      },
      null,
      2,
    ),
  );
  console.log(`\n${runs.length} systems in ${seconds.toFixed(0)} s; written to ${file}`);
  if (runs.some((run) => run.error)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
