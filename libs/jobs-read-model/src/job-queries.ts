import { sql, type Kysely, type RawBuilder } from 'kysely';
import { DomainError, type Principal } from '@switchyard/contracts';
import { PREPARED } from '@switchyard/event-store';
import type { JobState } from '@switchyard/jobs';

export interface JobRecord {
  lifecycle: JobState;
  kindState: unknown;
  version: number;
}

interface Row {
  state: JobState;
  kind_state: unknown;
  version: number;
  created_at: Date | string;
  id: string;
}

/** A job as read by id, with what its row's two documents take in the table. */
export interface SizedJobRecord {
  record: JobRecord;
  /** pg_column_size of state and kind_state: as stored, so compressed when PostgreSQL compressed them. */
  storedBytes: number;
}

type SizedRow = Row & { stored_bytes: number };

const toRecord = (row: Row): JobRecord => ({ lifecycle: row.state, kindState: row.kind_state, version: row.version });

/** One job by id, or null; visibility is the caller's decision (see jobVisibleTo). */
export async function findJob(db: Kysely<unknown>, jobId: string): Promise<JobRecord | null> {
  return (await findJobs(db, [jobId])).get(jobId) ?? null;
}

/** Jobs by id, in one statement; an id nobody submitted has no entry. */
export async function findJobs(db: Kysely<unknown>, jobIds: readonly string[]): Promise<Map<string, JobRecord>> {
  const found = await findSizedJobs(db, jobIds);
  return new Map([...found].map(([jobId, { record }]) => [jobId, record]));
}

/** The same, with each job's size, for a cache that keeps only what fits (see JobCache). */
export async function findSizedJobs(db: Kysely<unknown>, jobIds: readonly string[]): Promise<Map<string, SizedJobRecord>> {
  // Every status read: prepared, so PostgreSQL parses it once per connection. One id has a
  // statement of its own: PostgreSQL plans `= ANY($1)` anew on every execution (a generic plan
  // that cannot know the array's length never looks cheaper), which cost a status read 7 file
  // size checks on PGlite; `= $1` gets its generic plan after five executions.
  const [only] = jobIds;
  const { rows } =
    jobIds.length === 1
      ? await sql<SizedRow>`${sql.raw(PREPARED)}
          SELECT id, state, kind_state, version, created_at, pg_column_size(state) + pg_column_size(kind_state) AS stored_bytes
          FROM jobs WHERE id = ${only}`.execute(db)
      : await sql<SizedRow>`${sql.raw(PREPARED)}
          SELECT id, state, kind_state, version, created_at, pg_column_size(state) + pg_column_size(kind_state) AS stored_bytes
          FROM jobs WHERE id = ANY(${[...jobIds]}::text[])`.execute(db);
  return new Map(rows.map((row) => [row.id, { record: toRecord(row), storedBytes: Number(row.stored_bytes) }]));
}

export interface JobListQuery {
  principal: Principal;
  kind?: string;
  status?: string;
  externalId?: string;
  createdFrom?: string;
  createdTo?: string;
  /** Opaque: from a previous page's `nextCursor`. */
  cursor?: string;
  limit?: number;
}

export interface JobListPage {
  jobs: JobRecord[];
  nextCursor: string | null;
}

const encodeCursor = (createdAt: string, id: string): string =>
  Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === 'string')) {
      const [createdAt, id] = value as [string, string];
      // Only what encodeCursor writes: an ISO instant from toISOString, and a job id.
      if (new Date(createdAt).toISOString() === createdAt && id.length > 0 && id.length <= 200) return [createdAt, id];
    }
  } catch {
    // fall through to the error below
  }
  throw new DomainError('VALIDATION_FAILED', 'cursor is not one this API gave out');
}

/**
 * The page's rows, and one more if there is a next page. Newest first, keyset-paged on
 * (created_at, id) so a page never repeats or skips a job while others are being added. A member
 * lists only its own jobs.
 */
export function listJobsStatement(query: JobListQuery): RawBuilder<Row> {
  const limit = pageSize(query);
  const conditions = [sql`org_id = ${query.principal.orgId}`];
  if (query.principal.role === 'member') conditions.push(sql`state->>'submittedBy' = ${query.principal.userId}`);
  if (query.kind) conditions.push(sql`kind = ${query.kind}`);
  if (query.status) conditions.push(sql`status = ${query.status}`);
  if (query.externalId) conditions.push(sql`external_id = ${query.externalId}`);
  if (query.createdFrom) conditions.push(sql`created_at >= ${query.createdFrom}::timestamptz`);
  if (query.createdTo) conditions.push(sql`created_at < ${query.createdTo}::timestamptz`);
  if (query.cursor) {
    const [createdAt, id] = decodeCursor(query.cursor);
    conditions.push(sql`(created_at, id) < (${createdAt}::timestamptz, ${id})`);
  }
  return sql<Row>`
    SELECT id, state, kind_state, version, created_at FROM jobs
    WHERE ${sql.join(conditions, sql` AND `)}
    ORDER BY created_at DESC, id DESC
    LIMIT ${limit + 1}`;
}

/**
 * Scheduled jobs of a kind whose time has come, longest due first: what a kind's worker puts back in
 * the queue. By jobs_due, which holds scheduled jobs only, by kind and time.
 */
export const dueJobsStatement = (kind: string, limit = 100): RawBuilder<{ id: string }> => sql`
  SELECT id FROM jobs WHERE status = 'scheduled' AND kind = ${kind} AND run_at <= now()
  ORDER BY run_at LIMIT ${limit}`;

const pageSize = (query: JobListQuery): number => Math.min(Math.max(query.limit ?? 50, 1), 200);

export async function listJobs(db: Kysely<unknown>, query: JobListQuery): Promise<JobListPage> {
  const limit = pageSize(query);
  const { rows } = await listJobsStatement(query).execute(db);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    jobs: page.map(toRecord),
    nextCursor: rows.length > limit && last ? encodeCursor(new Date(last.created_at).toISOString(), last.id) : null,
  };
}
