import { describeCpu, measured, type CpuUse } from './cpu';
import { submitJobs, type ErrorTally, type ReadRun } from './load';
import type { Sink } from './sink';
import { startStatusReader } from './status-reader-process';
import type { UpkeepReport } from './upkeep';
import { latencyPercentiles, type LatencyPercentiles, type Spread } from './stats';
import type { QueueSystem } from './system';
import type { Payload } from './workload';

export interface BenchConfig {
  jobsPerRound: number;
  rounds: number;
  submitterCounts: readonly number[];
  /** The submitter count whose rounds give the end-to-end and latency figures. */
  loadedSubmitters: number;
  fixedReadRate: number;
  flatOutReaders: number;
  readWindowMs: number;
  /** Flat-out reads before the first read round, not counted: connections open, code warm. */
  readWarmupMs: number;
}

export interface JobRound {
  round: number;
  submitters: number;
  submitted: number;
  accepted: number;
  acceptedPerSecond: number;
  submitSeconds: number;
  /** Ended with the system's own word for success. */
  completed: number;
  /** Every other end, by status (failed, unfinished, ...). */
  notCompleted: Record<string, number>;
  /** Completed jobs / (last completion - first submit start). */
  endToEndPerSecond: number;
  endToEndSeconds: number;
  /** Submit start (client) to completion (system's record), completed jobs only. */
  latencyMs: LatencyPercentiles;
  submitErrors: ErrorTally;
  sinkDeliveries: number;
  /** Deliveries plus empty connections (a probe whose send never came, or a delivery that failed). */
  sinkConnections: number;
  /** Most sink connections open at once: the deliveries really in flight, against the concurrency set. */
  sinkPeakOpen: number;
  /** CPU by process from the first submit until every job had ended (and the system said so). */
  cpu: CpuUse | null;
}

export interface ReadRound {
  round: number;
  fixedRate: ReadRun;
  flatOut: ReadRun;
  fixedRateCpu: CpuUse | null;
  flatOutCpu: CpuUse | null;
}

export interface SystemRun {
  name: string;
  description: string;
  version: string;
  settings: Record<string, unknown>;
  jobRounds: JobRound[];
  readRounds: ReadRound[];
  /** Per figure key (report.ts), over the rounds. */
  figures: Record<string, Spread>;
  /** What the bench did for autovacuum on the system's database, when the server's daemon was off. */
  upkeep?: UpkeepReport;
  /** What the system's processes logged during the run (QueueSystem.diagnostics). */
  diagnostics?: Record<string, unknown>;
  error?: string;
}

const log = (message: string): void => console.log(`  ${message}`);
const fixed = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');

async function jobRound(
  system: QueueSystem,
  sink: Sink,
  payload: Payload,
  config: BenchConfig,
  round: number,
  submitters: number,
): Promise<{ result: JobRound; completedIds: string[] }> {
  const deliveriesBefore = sink.deliveries;
  const connectionsBefore = sink.connections;
  sink.resetPeak();
  const {
    result: { run, completions },
    cpu,
  } = await measured(async () => {
    const submitted = await submitJobs(config.jobsPerRound, submitters, () => system.submit(payload));
    const ended = await system.awaitCompletions(submitted.ids, { sinceMs: submitted.startedAtMs, stallMs: 60_000 });
    return { run: submitted, completions: ended };
  });
  const submitSeconds = (run.endedAtMs - run.startedAtMs) / 1000;
  const submittedAt = new Map(run.ids.map((id, index) => [id, run.submittedAtMs[index] as number]));
  const latencies: number[] = [];
  const completedIds: string[] = [];
  const notCompleted: Record<string, number> = {};
  let lastFinish = run.startedAtMs;
  for (const completion of completions) {
    if (completion.status !== 'completed' || completion.finishedAtMs === null) {
      notCompleted[completion.status] = (notCompleted[completion.status] ?? 0) + 1;
      continue;
    }
    latencies.push(completion.finishedAtMs - (submittedAt.get(completion.id) as number));
    completedIds.push(completion.id);
    lastFinish = Math.max(lastFinish, completion.finishedAtMs);
  }
  const missing = run.ids.length - completions.length;
  if (missing > 0) notCompleted['not found'] = missing;
  const endToEndSeconds = (lastFinish - run.startedAtMs) / 1000;
  const result: JobRound = {
    round,
    submitters,
    submitted: config.jobsPerRound,
    accepted: run.ids.length,
    acceptedPerSecond: run.acceptedPerSecond,
    submitSeconds,
    completed: latencies.length,
    notCompleted,
    endToEndPerSecond: latencies.length / endToEndSeconds,
    endToEndSeconds,
    latencyMs: latencyPercentiles(latencies),
    submitErrors: run.errors,
    sinkDeliveries: sink.deliveries - deliveriesBefore,
    sinkConnections: sink.connections - connectionsBefore,
    sinkPeakOpen: sink.peakOpen,
    cpu,
  };
  log(
    `round ${round}, ${submitters} submitter(s): accepted ${result.accepted}/${result.submitted} at ${fixed(result.acceptedPerSecond)}/s, ` +
      `completed ${result.completed} at ${fixed(result.endToEndPerSecond)}/s end to end, ` +
      `latency p50/p95/p99 ${fixed(result.latencyMs.p50)}/${fixed(result.latencyMs.p95)}/${fixed(result.latencyMs.p99)} ms, ` +
      `at most ${result.sinkPeakOpen} sink connections open at once` +
      (Object.keys(notCompleted).length ? `, not completed: ${JSON.stringify(notCompleted)}` : '') +
      (run.errors.count ? `, ${run.errors.count} submit errors: ${run.errors.samples.join(' | ')}` : '') +
      `\n    ${describeCpu(cpu, result.completed, 'job')}`,
  );
  return { result, completedIds };
}

function readSummary(run: ReadRun, cpu: CpuUse | null): string {
  return `${fixed(run.requestsPerSecond)}/s, p50 ${fixed(run.latencyMs.p50, 1)} ms, p99 ${fixed(run.latencyMs.p99, 1)} ms` +
    (run.errors.count ? `, ${run.errors.count} errors: ${run.errors.samples.join(' | ')}` : '') +
    `\n    ${describeCpu(cpu, run.ok, 'read')}`;
}

/** The same measurements for every system: job rounds at each submitter count, then status reads. */
export async function measureSystem(system: QueueSystem, sink: Sink, payload: Payload, config: BenchConfig): Promise<SystemRun> {
  const result: SystemRun = {
    name: system.name,
    description: system.description,
    version: system.version,
    settings: system.settings,
    jobRounds: [],
    readRounds: [],
    figures: {},
  };
  // Status reads pick among the last round's completed jobs: they exist and have ended.
  let ids: string[] = [];
  for (let round = 1; round <= config.rounds; round += 1) {
    for (const submitters of config.submitterCounts) {
      const { result: jobs, completedIds } = await jobRound(system, sink, payload, config, round, submitters);
      result.jobRounds.push(jobs);
      ids = completedIds;
    }
  }
  const spec = system.statusReader?.();
  if (spec && ids.length > 0) {
    const reader = await startStatusReader(spec, ids);
    try {
      // Without it the first fixed-rate window measured the start-up instead: opening the client's
      // connections and first runs of the read path held Switchyard to 1,750 reads/s for 3 s, a
      // backlog whose p50 was 900 ms, against 2 ms once warm.
      await reader.flatOut(config.flatOutReaders, config.readWarmupMs);
      for (let round = 1; round <= config.rounds; round += 1) {
        const fixedRate = await measured(() => reader.fixedRate(config.fixedReadRate, config.readWindowMs));
        log(`round ${round}, status reads at ${config.fixedReadRate}/s offered: ${readSummary(fixedRate.result, fixedRate.cpu)}`);
        const flatOut = await measured(() => reader.flatOut(config.flatOutReaders, config.readWindowMs));
        log(`round ${round}, status reads flat out (${config.flatOutReaders} readers): ${readSummary(flatOut.result, flatOut.cpu)}`);
        result.readRounds.push({ round, fixedRate: fixedRate.result, flatOut: flatOut.result, fixedRateCpu: fixedRate.cpu, flatOutCpu: flatOut.cpu });
      }
    } finally {
      await reader.stop();
    }
  }
  return result;
}
