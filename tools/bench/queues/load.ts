import { latencyPercentiles, type LatencyPercentiles } from './stats';
import { now } from './system';

/** Errors of a run: how many, and the first few distinct messages (the evidence to report). */
export interface ErrorTally {
  count: number;
  samples: string[];
}

const tally = (): ErrorTally => ({ count: 0, samples: [] });

function record(errors: ErrorTally, error: unknown): void {
  errors.count += 1;
  const message = error instanceof Error ? error.message : String(error);
  if (errors.samples.length < 5 && !errors.samples.includes(message)) errors.samples.push(message);
}

export interface SubmissionRun {
  submitters: number;
  /** Accepted jobs, in no particular order, beside when each one's submit call began (epoch ms). */
  ids: string[];
  submittedAtMs: number[];
  startedAtMs: number;
  endedAtMs: number;
  acceptedPerSecond: number;
  errors: ErrorTally;
}

/**
 * `count` jobs from `submitters` concurrent submitters, each one submitting its next job as soon as
 * the last was accepted (closed loop: this measures how fast jobs are accepted).
 */
export async function submitJobs(count: number, submitters: number, submit: () => Promise<string>): Promise<SubmissionRun> {
  const ids: string[] = [];
  const submittedAtMs: number[] = [];
  const errors = tally();
  let next = 0;
  const startedAtMs = now();
  const submitter = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const at = now();
      try {
        const id = await submit();
        ids.push(id);
        submittedAtMs.push(at);
      } catch (error) {
        record(errors, error);
      }
    }
  };
  await Promise.all(Array.from({ length: submitters }, submitter));
  const endedAtMs = now();
  return {
    submitters,
    ids,
    submittedAtMs,
    startedAtMs,
    endedAtMs,
    acceptedPerSecond: ids.length / ((endedAtMs - startedAtMs) / 1000),
    errors,
  };
}

export interface ReadRun {
  /** The offered rate, for a fixed-rate run; null for flat out. */
  offeredPerSecond: number | null;
  concurrency: number | null;
  sent: number;
  ok: number;
  errors: ErrorTally;
  seconds: number;
  /** Successful reads per second, over the time from the first send to the last answer. */
  requestsPerSecond: number;
  /** Milliseconds; for a fixed-rate run measured from each request's scheduled send time. */
  latencyMs: LatencyPercentiles;
}

/** What a read run reports, from what it counted. */
const readRun = (
  load: Pick<ReadRun, 'offeredPerSecond' | 'concurrency'>,
  sent: number,
  latencies: number[],
  errors: ReadRun['errors'],
  seconds: number,
): ReadRun => ({
  ...load,
  sent,
  ok: latencies.length,
  errors,
  seconds,
  requestsPerSecond: latencies.length / seconds,
  latencyMs: latencyPercentiles(latencies),
});

/**
 * Open loop: request i is sent at start + i / rate whatever became of the earlier ones, and its
 * latency counts from that scheduled time, so a slow server cannot slow the load down and hide its
 * queueing (no coordinated omission). A 1 ms timer sends whatever has come due.
 */
export async function readAtFixedRate(ratePerSecond: number, durationMs: number, read: () => Promise<unknown>): Promise<ReadRun> {
  const total = Math.round((ratePerSecond * durationMs) / 1000);
  const intervalMs = 1000 / ratePerSecond;
  const latencies: number[] = [];
  const errors = tally();
  let sent = 0;
  let answered = 0;
  let lastAnswerAt = 0;
  let allAnswered: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allAnswered = resolve));
  const answer = (): void => {
    answered += 1;
    lastAnswerAt = performance.now();
    if (answered === total) allAnswered();
  };
  const startedAt = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor((performance.now() - startedAt) / intervalMs) + 1);
      while (sent < due) {
        const scheduledAt = startedAt + sent * intervalMs;
        sent += 1;
        read().then(
          () => {
            latencies.push(performance.now() - scheduledAt);
            answer();
          },
          (error: unknown) => {
            record(errors, error);
            answer();
          },
        );
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  if (total > 0) await finished;
  return readRun({ offeredPerSecond: ratePerSecond, concurrency: null }, sent, latencies, errors, (lastAnswerAt - startedAt) / 1000);
}

/** Closed loop, flat out: `concurrency` readers, each sending its next read when the last answered. */
export async function readFlatOut(concurrency: number, durationMs: number, read: () => Promise<unknown>): Promise<ReadRun> {
  const latencies: number[] = [];
  const errors = tally();
  let sent = 0;
  const startedAt = performance.now();
  const deadline = startedAt + durationMs;
  const reader = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const at = performance.now();
      sent += 1;
      try {
        await read();
        latencies.push(performance.now() - at);
      } catch (error) {
        record(errors, error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, reader));
  return readRun({ offeredPerSecond: null, concurrency }, sent, latencies, errors, (performance.now() - startedAt) / 1000);
}
