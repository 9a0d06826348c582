import type { JobRecord } from './job-queries';

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
 */
export class JobCache {
  /** Least recently used first (a Map keeps insertion order; a hit moves its job to the end). */
  private readonly records = new Map<string, JobRecord>();
  /** The write count when each job was last written, while a read that began before may fill: ascending. */
  private readonly writtenAt = new Map<string, number>();
  /** Reads begun and not ended, by the write count they began at: ascending, so the first is the oldest. */
  private readonly openReads = new Map<number, number>();
  private writes = 0;

  constructor(readonly capacity = 10_000) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
  }

  get size(): number {
    return this.records.size;
  }

  get(jobId: string): JobRecord | undefined {
    const record = this.records.get(jobId);
    if (record) {
      this.records.delete(jobId);
      this.records.set(jobId, record);
    }
    return record;
  }

  /** The jobs projection writes these jobs' rows: before it sends the statement, and once it ran. */
  written(jobIds: Iterable<string>): void {
    this.writes += 1;
    const marked = this.openReads.size > 0;
    for (const jobId of jobIds) {
      this.records.delete(jobId);
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
  endRead(ticket: number, found?: ReadonlyMap<string, JobRecord>): void {
    for (const [jobId, record] of found ?? []) {
      if ((this.writtenAt.get(jobId) ?? -1) > ticket) continue;
      this.records.delete(jobId);
      this.records.set(jobId, record);
    }
    for (const oldest of this.records.keys()) {
      if (this.records.size <= this.capacity) break;
      this.records.delete(oldest);
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
}
