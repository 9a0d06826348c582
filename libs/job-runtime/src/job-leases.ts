import { sql, type Kysely, type QueryExecutorProvider } from 'kysely';
import { GroupCommit, PREPARED, type QueuedAppend } from '@switchyard/event-store';

// Anything a raw statement runs on: the database or an open transaction of any schema.
type Executor = QueryExecutorProvider;

/** A finished job's lease, waiting to be let go with the others that ended meanwhile. */
interface QueuedRelease extends QueuedAppend<void> {
  readonly jobId: string;
  readonly workerId: string;
}

/** Who runs which job: a lease per running job, renewed while its worker lives. */
export class JobLeases {
  // Jobs end in bursts: the leases of those that ended while one release was being written go in
  // the next statement together, the way appends are grouped.
  private readonly releases = new GroupCommit<QueuedRelease>((group) => this.releaseAll(group), { maxInFlight: 1, maxGroup: 256 });

  constructor(
    private readonly db: Kysely<unknown>,
    private readonly leaseMs: number,
  ) {}

  claim(tx: Executor, jobId: string, kind: string, workerId: string): Promise<void> {
    return this.claimAll(tx, [jobId], kind, workerId);
  }

  /** Leases to `workerId` for several jobs, in one statement. */
  async claimAll(tx: Executor, jobIds: readonly string[], kind: string, workerId: string): Promise<void> {
    if (jobIds.length === 0) return;
    await sql`${sql.raw(PREPARED)} INSERT INTO job_leases (job_id, kind, worker_id, expires_at)
      SELECT id, ${kind}, ${workerId}, now() + ${this.leaseMs} * interval '1 millisecond'
      FROM jsonb_array_elements_text(${JSON.stringify(jobIds)}::jsonb) AS ids(id)
      ON CONFLICT (job_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, expires_at = EXCLUDED.expires_at`.execute(tx);
  }

  async renew(workerId: string, jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await sql`UPDATE job_leases SET expires_at = now() + ${this.leaseMs} * interval '1 millisecond'
      WHERE worker_id = ${workerId} AND job_id IN (${sql.join(jobIds)})`.execute(this.db);
  }

  /** Lets a finished job's lease go, unless another worker has taken it over meanwhile. */
  release(jobId: string, workerId: string): Promise<void> {
    return new Promise((resolve, reject) => this.releases.submit({ streamId: jobId, jobId, workerId, resolve, reject }));
  }

  private async releaseAll(group: readonly QueuedRelease[]): Promise<void> {
    const leases = JSON.stringify(group.map(({ jobId, workerId }) => ({ job_id: jobId, worker_id: workerId })));
    await sql`${sql.raw(PREPARED)} DELETE FROM job_leases l USING jsonb_to_recordset(${leases}::jsonb) AS r(job_id text, worker_id text)
      WHERE l.job_id = r.job_id AND l.worker_id = r.worker_id`.execute(this.db);
    for (const release of group) release.resolve();
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
