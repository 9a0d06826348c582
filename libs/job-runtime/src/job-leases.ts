import { sql, type Kysely, type QueryExecutorProvider, type RawBuilder } from 'kysely';
import { streamEntityId, type JobEventType, type RecordedEvent } from '@switchyard/contracts';
import { PREPARED, type InlineProjection } from '@switchyard/event-store';

// Anything a raw statement runs on: the database or an open transaction of any schema.
type Executor = QueryExecutorProvider;

/**
 * The events that end a run: the job's end, or a wait (a retry's backoff, a block) after which a
 * new claim writes a lease of its own.
 */
const RUN_ENDING_EVENTS: readonly JobEventType[] = ['JobCompleted', 'JobFailed', 'JobCancelled', 'JobExpired', 'JobRetryScheduled', 'JobBlocked'];

/** These streams' jobs as rows `r` (job_id, stream_id); `claimed`: only where the append's `claim` holds the stream. */
const jobsOf = (streams: readonly string[], { claimed }: { claimed: boolean }): RawBuilder<unknown> => {
  const jobs = JSON.stringify([...new Set(streams)].map((stream) => ({ job_id: streamEntityId(stream), stream_id: stream })));
  return sql`jsonb_to_recordset(${jobs}::jsonb) AS r(job_id text, stream_id text)
    ${claimed ? sql`JOIN claim ON claim.stream_id = r.stream_id` : sql``}`;
};

/** Deletes the leases of these streams' jobs; `claimed`: see jobsOf. */
const deleteLeases = (streams: readonly string[], claimed: { claimed: boolean }): RawBuilder<unknown> =>
  sql`DELETE FROM job_leases l USING ${jobsOf(streams, claimed)} WHERE l.job_id = r.job_id`;

/**
 * Lets a job's lease go in the statement (or transaction) that records the end of its run, so an
 * ended run needs no statement of its own for it, and a run whose end could not be recorded keeps
 * its lease: the job is taken over once it expires. The event store of every process that runs
 * a JobWorkerHost must have it among its projections.
 */
export const jobLeasesProjection: InlineProjection = {
  name: 'job-leases',
  canHandle: RUN_ENDING_EVENTS,
  planAppends: (appends) => ({ statement: deleteLeases(appends.map((append) => append.streamId), { claimed: true }) }),
  async handle(events: readonly RecordedEvent[], tx) {
    await sql`${sql.raw(PREPARED)} ${deleteLeases(events.map((event) => event.streamId), { claimed: false })}`.execute(tx);
  },
};

/** A lease taken again (a job resumed, or taken over) goes to its new worker. */
const RENEWED = sql`ON CONFLICT (job_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, expires_at = EXCLUDED.expires_at`;

/** Who runs which job: a lease per running job, renewed while its worker lives. */
export class JobLeases {
  constructor(
    private readonly db: Kysely<unknown>,
    private readonly leaseMs: number,
  ) {}

  /** The lease of one job to `workerId`, in the claim's transaction. */
  async claim(tx: Executor, jobId: string, kind: string, workerId: string): Promise<void> {
    await sql`${sql.raw(PREPARED)} INSERT INTO job_leases (job_id, kind, worker_id, expires_at)
      VALUES (${jobId}, ${kind}, ${workerId}, ${this.expiry()})
      ${RENEWED}`.execute(tx);
  }

  /**
   * The same leases as claim for the jobs of these streams, written by the statement that
   * appends their JobStarted (its `alsoWrite`): only for the streams whose append took.
   */
  claimWithAppend(streamIds: readonly string[], kind: string, workerId: string): RawBuilder<unknown> {
    return sql`INSERT INTO job_leases (job_id, kind, worker_id, expires_at)
      SELECT r.job_id, ${kind}, ${workerId}, ${this.expiry()}
      FROM ${jobsOf(streamIds, { claimed: true })}
      ${RENEWED}`;
  }

  private expiry(): RawBuilder<unknown> {
    return sql`now() + ${this.leaseMs} * interval '1 millisecond'`;
  }

  async renew(workerId: string, jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await sql`UPDATE job_leases SET expires_at = ${this.expiry()}
      WHERE worker_id = ${workerId} AND job_id IN (${sql.join(jobIds)})`.execute(this.db);
  }

  /**
   * Lets a lease go, unless another worker has taken it over meanwhile. Only for a job that ended
   * without its lease going (see jobLeasesProjection).
   */
  async release(jobId: string, workerId: string): Promise<void> {
    await sql`DELETE FROM job_leases WHERE job_id = ${jobId} AND worker_id = ${workerId}`.execute(this.db);
  }

  /** Takes over up to `limit` jobs whose worker stopped renewing; each goes to one taker only. */
  async takeExpired(kind: string, workerId: string, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    return this.db.transaction().execute(async (tx) => {
      const { rows } = await sql<{ job_id: string }>`
        SELECT job_id FROM job_leases WHERE kind = ${kind} AND expires_at < now()
        ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`.execute(tx);
      for (const { job_id } of rows) await this.claim(tx, job_id, kind, workerId);
      return rows.map((row) => row.job_id);
    });
  }
}
