import type { Kysely } from 'kysely';
import { atTurnEnd } from '@switchyard/event-store';
import type { JobCache } from './job-cache';
import { findSizedJobs, type JobRecord, type SizedJobRecord } from './job-queries';

export interface JobReaderOptions {
  /** Queries run at once; reads that arrive while this many run go together in the next. */
  maxInFlight?: number;
  /** The most jobs one query reads. */
  maxBatch?: number;
  /** Jobs kept between reads, for a database only this process writes (see JobCache). */
  cache?: JobCache;
}

interface Waiter {
  resolve(record: JobRecord | null): void;
  reject(error: unknown): void;
}

/**
 * Reads jobs by id, several in one query when reads come faster than the database answers. The
 * reads asked in one turn of the event loop go together when it ends (setImmediate), if a query
 * slot is free; reads that arrive while `maxInFlight` queries run wait, and the first query to
 * finish sends all of them in one statement. A burst of status reads then costs one round trip to
 * PostgreSQL, not one each, and a quiet gateway adds no delay but the end of its turn. Sent at
 * once instead, the first two reads of a turn each went alone: with 32 readers flat out, reads/s
 * were 1.16 to 1.26 times lower, and PostgreSQL's CPU per read 1.4 times higher.
 *
 * A read never joins a query already sent, so it sees every write committed before it was asked.
 * With a cache, a job found there needs no query: the cache holds no job written since it was read.
 */
export class JobReader {
  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  /** Reads not yet sent, by job id, in arrival order (a Map keeps insertion order). */
  private waiting = new Map<string, Waiter[]>();
  private inFlight = 0;
  private readonly sendAtTurnEnd = atTurnEnd(() => this.send());
  private readonly cache: JobCache | undefined;

  constructor(
    private readonly db: Kysely<unknown>,
    options: JobReaderOptions = {},
  ) {
    this.cache = options.cache;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxBatch = options.maxBatch ?? 100;
    if (!(this.maxInFlight >= 1) || !(this.maxBatch >= 1)) throw new RangeError('maxInFlight and maxBatch must be at least 1');
  }

  /** One job by id, or null; visibility is the caller's decision (see jobVisibleTo). */
  find(jobId: string): Promise<JobRecord | null> {
    const cached = this.cache?.get(jobId);
    if (cached) return Promise.resolve(cached);
    return new Promise<JobRecord | null>((resolve, reject) => {
      const waiters = this.waiting.get(jobId);
      if (waiters) waiters.push({ resolve, reject });
      else this.waiting.set(jobId, [{ resolve, reject }]);
      this.sendAtTurnEnd();
    });
  }

  private send(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.size > 0) {
      let batch = this.waiting;
      if (batch.size <= this.maxBatch) {
        this.waiting = new Map();
      } else {
        batch = new Map();
        for (const [jobId, waiters] of this.waiting) {
          if (batch.size === this.maxBatch) break;
          batch.set(jobId, waiters);
          this.waiting.delete(jobId);
        }
      }
      this.inFlight += 1;
      void this.read(batch).finally(() => {
        this.inFlight -= 1;
        this.send();
      });
    }
  }

  private async read(batch: Map<string, Waiter[]>): Promise<void> {
    const ticket = this.cache?.beginRead();
    let found: Map<string, SizedJobRecord> | undefined;
    try {
      found = await findSizedJobs(this.db, [...batch.keys()]);
      for (const [jobId, waiters] of batch) {
        const record = found.get(jobId)?.record ?? null;
        for (const waiter of waiters) waiter.resolve(record);
      }
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
    } finally {
      if (ticket !== undefined) this.cache?.endRead(ticket, found);
    }
  }
}
