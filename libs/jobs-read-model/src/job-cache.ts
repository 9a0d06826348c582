import type { JobRecord, SizedJobRecord } from './job-queries';

export interface JobCacheOptions {
  /** The most jobs kept. */
  maxJobs?: number;
  /**
   * The most the kept jobs may take, counted as their rows' documents take in the table: a job's
   * objects take a few times that in memory, more where PostgreSQL compressed them.
   */
  maxBytes?: number;
  /** A job larger than this is never kept: it would push many small ones out. At most maxBytes. */
  maxJobBytes?: number;
}

const DEFAULTS = { maxJobs: 10_000, maxBytes: 16 * 1024 * 1024, maxJobBytes: 64 * 1024 };

/**
 * Jobs as last read from the `jobs` table, for a database that only this process writes, through
 * one session whose transactions hold it from BEGIN to their end (the embedded PGlite): there, every
 * write to a job's row goes through this process's jobs projection, which reports it here.
 *
 * A write takes its job out when the projection is about to write the row, and again once the
 * statement ran; a read fills in only jobs nobody wrote since it began. So a read that ran before a
 * write cannot put the old row back after it, and a write that rolled back or failed leaves nothing
 * here but a later read of the truth. Within a transaction the first report is enough: every
 * statement sent while it runs waits for its end. Records are shared with every caller: read-only.
 * The least recently used go first once the jobs or their bytes pass the limits.
 */
export class JobCache {
  /** Least recently used first (a Map keeps insertion order; a hit moves its job to the end). */
  private readonly records = new Map<string, SizedJobRecord>();
  /** The write count when each job was last written, while a read that began before may fill: ascending. */
  private readonly writtenAt = new Map<string, number>();
  /** Reads begun and not ended, by the write count they began at: ascending, so the first is the oldest. */
  private readonly openReads = new Map<number, number>();
  private writes = 0;
  private keptBytes = 0;
  private readonly limits: Required<JobCacheOptions>;

  constructor({
    maxJobs = DEFAULTS.maxJobs,
    maxBytes = DEFAULTS.maxBytes,
    maxJobBytes = Math.min(DEFAULTS.maxJobBytes, maxBytes),
  }: JobCacheOptions = {}) {
    if (!(maxJobs >= 1) || !(maxBytes >= 1) || !(maxJobBytes >= 1)) throw new RangeError('JobCache limits must be at least 1');
    this.limits = { maxJobs, maxBytes, maxJobBytes };
  }

  /** Jobs kept, and the bytes they count for. */
  get size(): { jobs: number; bytes: number } {
    return { jobs: this.records.size, bytes: this.keptBytes };
  }

  get(jobId: string): JobRecord | undefined {
    const kept = this.records.get(jobId);
    if (!kept) return undefined;
    this.records.delete(jobId);
    this.records.set(jobId, kept);
    return kept.record;
  }

  /** The jobs projection writes these jobs' rows: before it sends the statement, and once it ran. */
  written(jobIds: Iterable<string>): void {
    this.writes += 1;
    const marked = this.openReads.size > 0;
    for (const jobId of jobIds) {
      this.forget(jobId);
      if (!marked) continue;
      // Moved to the end, so the marks stay in ascending order.
      this.writtenAt.delete(jobId);
      this.writtenAt.set(jobId, this.writes);
    }
  }

  /** Before a read of the table is sent; pass what it returns to `endRead`. */
  beginRead(): number {
    this.openReads.set(this.writes, (this.openReads.get(this.writes) ?? 0) + 1);
    return this.writes;
  }

  /** A read begun at `ticket` has its answer (or failed: no `found`); keeps the jobs not written since. */
  endRead(ticket: number, found?: ReadonlyMap<string, SizedJobRecord>): void {
    for (const [jobId, sized] of found ?? []) {
      if ((this.writtenAt.get(jobId) ?? -1) > ticket) continue;
      this.forget(jobId);
      if (sized.storedBytes > this.limits.maxJobBytes) continue;
      this.records.set(jobId, sized);
      this.keptBytes += sized.storedBytes;
    }
    for (const [oldest, sized] of this.records) {
      if (this.records.size <= this.limits.maxJobs && this.keptBytes <= this.limits.maxBytes) break;
      this.records.delete(oldest);
      this.keptBytes -= sized.storedBytes;
    }
    const open = (this.openReads.get(ticket) ?? 0) - 1;
    if (open > 0) this.openReads.set(ticket, open);
    else this.openReads.delete(ticket);
    // A mark at or below the oldest open read's ticket can stop no read; with none open, none can.
    const [oldestOpen] = this.openReads.keys();
    for (const [jobId, writtenAt] of this.writtenAt) {
      if (oldestOpen !== undefined && writtenAt > oldestOpen) break;
      this.writtenAt.delete(jobId);
    }
  }

  private forget(jobId: string): void {
    const kept = this.records.get(jobId);
    if (!kept) return;
    this.records.delete(jobId);
    this.keptBytes -= kept.storedBytes;
  }
}
