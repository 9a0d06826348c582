import type { Kysely } from 'kysely';
import type { Sink } from './sink';
import type { StatusReaderSpec } from './status-reader';
import type { Payload } from './workload';

/** How one job ended, as the system itself recorded it. */
export interface Completion {
  id: string;
  /** The system's own word: completed, failed, ... */
  status: string;
  /** When the system recorded the end (epoch ms, its own clock: one machine, so comparable). */
  finishedAtMs: number | null;
}

export interface AwaitOptions {
  /** When the first of these jobs was submitted (epoch ms). */
  sinceMs: number;
  /** Give up when nothing has moved (no new connection at the sink) for this long. */
  stallMs: number;
}

/**
 * One queue system as the harness drives it: the same calls for Switchyard and its peers, so the
 * measurement code is one.
 */
export interface QueueSystem {
  /** As `--only` names it. */
  readonly name: string;
  readonly description: string;
  /** The version of what is measured (a peer's package.json; Switchyard's root package). */
  readonly version: string;
  /** Every setting that shapes the numbers; written to the JSON as is. */
  readonly settings: Record<string, unknown>;
  setup(sink: Sink): Promise<void>;
  /** Submits one job; resolves with its id once the system has accepted it. */
  submit(payload: Payload): Promise<string>;
  /**
   * How to read one job's status by id, for the status reads' own process (status-reader.ts);
   * absent when this system has no read path of its own. Called after setup.
   */
  statusReader?(): StatusReaderSpec;
  /** Resolves when every job has ended, with when each ended, from the system's own records. */
  awaitCompletions(ids: readonly string[], options: AwaitOptions): Promise<Completion[]>;
  /**
   * The database on the machine's PostgreSQL where the system keeps its jobs, once set up: the
   * bench does autovacuum's work there when the server's daemon is off (upkeep.ts).
   */
  database?(): Kysely<unknown> | undefined;
  /** What the system's own processes said during the run (warnings, errors), for the report. */
  diagnostics?(): Record<string, unknown>;
  /** Stops what setup started and removes what it created. Safe to call after a failed setup. */
  teardown(): Promise<void>;
}

export const now = (): number => performance.timeOrigin + performance.now();

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface PollOptions {
  /** A number that grows while work is being done (the sink's connection count). */
  progress: () => number;
  stallMs: number;
  describe: () => Promise<string> | string;
  intervalMs?: number;
}

/** Re-checks `done` until it holds; fails with `describe()` once `progress` has not moved for `stallMs`. */
export async function pollUntil(done: () => Promise<boolean>, { progress, stallMs, describe, intervalMs = 100 }: PollOptions): Promise<void> {
  let seen = progress();
  let movedAt = Date.now();
  for (;;) {
    if (await done()) return;
    const current = progress();
    if (current !== seen) {
      seen = current;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) {
      throw new Error(`no progress for ${stallMs} ms: ${await describe()}`);
    }
    await delay(intervalMs);
  }
}
