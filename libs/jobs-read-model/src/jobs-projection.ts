import { sql, type Kysely, type Transaction } from 'kysely';
import {
  JOB_EVENT_TYPES,
  JOB_STREAM_PREFIX,
  isJobEvent,
  streamEntityId,
  type Event,
  type JobKind,
  type RecordedEvent,
} from '@switchyard/contracts';
import { readEventsByPosition, type AfterCommit, type InlineProjection, type ProjectionWrite, type UpcomingAppend } from '@switchyard/event-store';
import { evolveJob, initialJobState, type JobState } from '@switchyard/jobs';
import type { JobCache } from './job-cache';
import type { JobsReadModelTables } from './schema';

type Executor = Kysely<JobsReadModelTables> | Transaction<JobsReadModelTables>;

/** What a kind adds to the jobs row: its own events folded into its own state. */
export interface JobKindModel<State = unknown> {
  readonly kind: JobKind;
  readonly eventTypes: readonly string[];
  initialState(): State;
  evolve(state: State, event: Event): State;
  /**
   * What of a job's input its row keeps, when not all of it: every status read parses the row, and
   * every append rewrites it, while the event log keeps the input whole. Default: all of it.
   */
  rowInput?(input: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>>;
}

interface JobRowState {
  lifecycle: JobState;
  kindState: unknown;
}

const groupByStream = (events: readonly RecordedEvent[]): Map<string, RecordedEvent[]> => {
  const streams = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    if (!event.streamId.startsWith(JOB_STREAM_PREFIX)) continue;
    const list = streams.get(event.streamId) ?? [];
    list.push(event);
    streams.set(event.streamId, list);
  }
  return streams;
};

/** Jobs whose committed rows a process remembers; the oldest are forgotten first. */
const REMEMBERED_JOBS = 10_000;

type JobRow = ReturnType<JobsModel['columns']>;

/** A row to write, with the state it holds, which this process remembers once it committed. */
interface RowWrite {
  row: JobRow;
  kept: JobRowState;
}

/** Every column of a jobs row, in the order columns() fills them; the type lets none be missed. */
const ROW_COLUMNS: Record<keyof JobRow, null> = {
  id: null,
  kind: null,
  org_id: null,
  status: null,
  progress: null,
  attempts: null,
  priority: null,
  external_id: null,
  version: null,
  created_at: null,
  updated_at: null,
  finished_at: null,
  run_at: null,
  state: null,
  kind_state: null,
};

/**
 * The parts of the planned upsert that never vary, built once, as text: building them for every
 * append took 2 % of the print service's CPU, and kysely compiling their 58 column references
 * for every append 3.8 % more (its compiler was 4.3 % of the samples, now 0.5 %). The column
 * names are this module's own, in lower case: quoted as they are.
 */
const PLANNED_UPSERT = (() => {
  const columns = Object.keys(ROW_COLUMNS).map((column) => `"${column}"`);
  return {
    columns: sql.raw(columns.join(', ')),
    // jsonb_populate_record types every column from the row's JSON, and takes the two jsonb columns'
    // objects as they are.
    values: sql.raw(columns.map((column) => `r.${column}`).join(', ')),
    updates: sql.raw(columns.filter((column) => column !== '"id"').map((column) => `${column} = EXCLUDED.${column}`).join(', ')),
  };
})();

const initialRowState = (): JobRowState => ({ lifecycle: initialJobState(), kindState: {} });

class JobsModel {
  readonly eventTypes: readonly string[];
  private readonly kinds: ReadonlyMap<string, JobKindModel>;
  /**
   * Each unfinished job's row as this process last committed it, with the stream version it
   * folds: an append right after that version needs no read of the row. Only committed rows are
   * kept, and the versions must meet, so a write from another process is never missed.
   */
  private readonly committed = new Map<string, { version: number; state: JobRowState }>();

  constructor(
    kinds: readonly JobKindModel[],
    private readonly cache?: JobCache,
  ) {
    this.kinds = new Map(kinds.map((model) => [model.kind, model]));
    this.eventTypes = [...new Set([...JOB_EVENT_TYPES, ...kinds.flatMap((model) => model.eventTypes)])];
  }

  /**
   * At most one read and one write for all the jobs the events touch. A job's first events read
   * nothing, nor do those that follow right on what this process last committed for the job.
   * `rowless`, when given, carries the state of jobs that have no row yet (a JobSubmitted whose
   * JobQueued comes in a later call) from one call to the next.
   */
  async apply(executor: Executor, events: readonly RecordedEvent[], rowless?: Map<string, JobRowState>): Promise<AfterCommit> {
    const streams = [...groupByStream(events)].map(([streamId, streamEvents]) => ({ jobId: streamEntityId(streamId), streamEvents }));
    const written = streams.map(({ jobId }) => jobId);
    this.cache?.written(written);
    const known = new Map<string, JobRowState>();
    const unknown: string[] = [];
    for (const { jobId, streamEvents } of streams) {
      const before = rowless?.get(jobId) ?? this.knownBefore(jobId, (streamEvents[0] as RecordedEvent).streamVersion);
      if (before) known.set(jobId, before);
      else unknown.push(jobId);
    }
    const loaded = await this.load(executor, unknown);
    const rows = streams.flatMap(({ jobId, streamEvents }) => {
      const before = known.get(jobId) ?? loaded.get(jobId) ?? initialRowState();
      const state = this.fold(before, streamEvents);
      const row = this.row(jobId, state, (streamEvents[streamEvents.length - 1] as RecordedEvent).streamVersion);
      if (row) rowless?.delete(jobId);
      else rowless?.set(jobId, state);
      return row ? [row] : [];
    });
    await this.save(executor, rows.map(({ row }) => row));
    this.cache?.written(written);
    return () => this.remember(rows);
  }

  /**
   * The rows appends at exact versions will leave, written in the appends' own statement, when
   * each job's row before them is known without reading: none yet (a new job), or the one this
   * process last committed at that very version. Undefined otherwise. Only the jobs whose append
   * took its version are written: a row goes in where `claim` holds its stream.
   */
  plan(appends: readonly UpcomingAppend[]): ProjectionWrite | undefined {
    const planned: (RowWrite & { stream: string })[] = [];
    for (const { streamId, expectedVersion, events } of appends) {
      if (!streamId.startsWith(JOB_STREAM_PREFIX)) continue;
      const jobId = streamEntityId(streamId);
      const before = this.knownBefore(jobId, expectedVersion + 1);
      const last = events[events.length - 1];
      if (!before || !last) return undefined;
      const write = this.row(jobId, this.fold(before, events), last.streamVersion);
      if (!write) return undefined;
      planned.push({ ...write, stream: streamId });
    }
    if (planned.length === 0) return {};
    const written = planned.map(({ row }) => row.id);
    this.cache?.written(written);
    // In id order, as save() writes: two groups writing the same jobs lock them in the same order.
    const rows = planned.map(({ row, stream }) => ({ ...row, stream })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // Every row has the same columns, in the same order: the statement's text never varies.
    return {
      statement: sql`INSERT INTO jobs (${PLANNED_UPSERT.columns})
        SELECT ${PLANNED_UPSERT.values}
        FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) WITH ORDINALITY AS p(v, ord)
        JOIN claim ON claim.stream_id = p.v->>'stream'
        CROSS JOIN LATERAL jsonb_populate_record(NULL::jobs, p.v) AS r
        ORDER BY p.ord
        ON CONFLICT (id) DO UPDATE SET ${PLANNED_UPSERT.updates}`,
      afterCommit: (appended) => {
        this.cache?.written(written);
        this.remember(planned.filter(({ stream }) => appended.has(stream)));
      },
    };
  }

  /**
   * The job's row state just before `version`, when known without reading: none yet for a job's
   * first events, or the one this process last committed right at the version before.
   */
  private knownBefore(jobId: string, version: number): JobRowState | undefined {
    if (version === 1) return initialRowState();
    const committed = this.committed.get(jobId);
    return committed?.version === version - 1 ? committed.state : undefined;
  }

  private fold(before: JobRowState, events: readonly Event[]): JobRowState {
    return events.reduce((current, event) => this.evolve(current, event), before);
  }

  /**
   * Keeps the rows just committed, as a load would return them, until their jobs finish. Two
   * commits of one job may report back out of order; the later version stays.
   */
  private remember(writes: readonly RowWrite[]): void {
    for (const { row, kept } of writes) {
      if ((this.committed.get(row.id)?.version ?? 0) > row.version) continue;
      this.committed.delete(row.id);
      if (row.finished_at) continue;
      this.committed.set(row.id, { version: row.version, state: kept });
    }
    for (const jobId of this.committed.keys()) {
      if (this.committed.size <= REMEMBERED_JOBS) break;
      this.committed.delete(jobId);
    }
  }

  handles(event: Event): boolean {
    return this.eventTypes.includes(event.type);
  }

  private evolve(state: JobRowState, event: Event): JobRowState {
    if (isJobEvent(event)) {
      const lifecycle = evolveJob(state.lifecycle, event);
      // The kind is known from JobSubmitted on; its model starts from its initial state there.
      const model = lifecycle.kind ? this.kinds.get(lifecycle.kind) : undefined;
      const kindState = state.lifecycle.kind === null && model ? model.initialState() : state.kindState;
      return { lifecycle, kindState };
    }
    const model = state.lifecycle.kind ? this.kinds.get(state.lifecycle.kind) : undefined;
    if (!model || !model.eventTypes.includes(event.type)) return state;
    return { lifecycle: state.lifecycle, kindState: model.evolve(state.kindState, event) };
  }

  private async load(executor: Executor, jobIds: readonly string[]): Promise<Map<string, JobRowState>> {
    if (jobIds.length === 0) return new Map();
    const rows = await executor.selectFrom('jobs').select(['id', 'state', 'kind_state']).where('id', 'in', jobIds).execute();
    return new Map(rows.map((row) => [row.id, { lifecycle: row.state as JobState, kindState: row.kind_state }]));
  }

  /**
   * The row for one job from its state (every column is a function of the state), with the state
   * it keeps: the lifecycle holds only what rowInput keeps of the input, as a load would return it.
   */
  private row(jobId: string, state: JobRowState, version: number): RowWrite | undefined {
    const { lifecycle } = state;
    if (!lifecycle.exists || lifecycle.status === null || lifecycle.kind === null || lifecycle.orgId === null) return undefined;
    const rowInput = this.kinds.get(lifecycle.kind)?.rowInput;
    const kept = { lifecycle: rowInput ? { ...lifecycle, input: rowInput(lifecycle.input) } : lifecycle, kindState: state.kindState ?? {} };
    return { row: this.columns(jobId, kept, version), kept };
  }

  private columns(jobId: string, { lifecycle, kindState }: JobRowState, version: number) {
    // row() passes only a submitted job's state: kind, organization and status are known.
    const kind = lifecycle.kind as string;
    const orgId = lifecycle.orgId as string;
    const status = lifecycle.status as NonNullable<JobState['status']>;
    return {
      id: jobId,
      kind,
      org_id: orgId,
      status,
      progress: lifecycle.progress,
      attempts: lifecycle.attempts,
      priority: lifecycle.priority,
      external_id: lifecycle.externalId,
      version,
      created_at: lifecycle.submittedAt as string,
      updated_at: (lifecycle.updatedAt ?? lifecycle.submittedAt) as string,
      finished_at: lifecycle.finishedAt,
      run_at: lifecycle.status === 'scheduled' ? lifecycle.runAt : null,
      // remember() keeps these two objects as they are written: nothing may change them. A planned
      // write embeds them in its rows' JSON as objects, not as JSON text: that text, escaped once
      // more there and parsed twice by PostgreSQL, took 15.5 µs a row in JSON.stringify, against
      // 8 µs, and 20 µs a row in PostgreSQL, against 11 µs.
      state: lifecycle,
      kind_state: kindState,
    };
  }

  private async save(executor: Executor, rows: readonly JobRow[]): Promise<void> {
    if (rows.length === 0) return;
    // In id order, so two groups writing the same jobs take their row locks in the same order.
    const ordered = [...rows]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((row) => ({ ...row, state: JSON.stringify(row.state), kind_state: JSON.stringify(row.kind_state) }));
    const columns = Object.keys(ordered[0] as object) as (keyof (typeof ordered)[number])[];
    await executor
      .insertInto('jobs')
      .values(ordered)
      .onConflict((conflict) =>
        conflict.column('id').doUpdateSet((eb) => Object.fromEntries(columns.filter((c) => c !== 'id').map((c) => [c, eb.ref(`excluded.${c}`)]))),
      )
      .execute();
  }
}

/**
 * The `jobs` read model, kept in the append transaction: a GET right after a POST sees the job.
 * Appends to one stream are serialized by the store, so read-modify-write of a row is safe here.
 */
export function createJobsProjection(kinds: readonly JobKindModel[] = [], options: { cache?: JobCache } = {}): InlineProjection {
  const model = new JobsModel(kinds, options.cache);
  return {
    name: 'jobs',
    canHandle: model.eventTypes,
    handle: (events, tx) => model.apply(tx as unknown as Transaction<JobsReadModelTables>, events),
    planAppends: (appends) => model.plan(appends),
  };
}

/** The lifecycle-only projection, for code that has no kind of its own. */
export const jobsProjection: InlineProjection = createJobsProjection();

/**
 * Throws the read model away and replays the log into it, in one transaction: readers see the old
 * rows or the new ones, never a half-built table. Returns the number of events replayed. A running
 * process's JobCache is not told: rebuild where no process serves reads from one.
 */
export async function rebuildJobsReadModel(
  db: Kysely<unknown>,
  kinds: readonly JobKindModel[] = [],
  batchSize = 5_000,
): Promise<number> {
  const model = new JobsModel(kinds);
  return (db as Kysely<JobsReadModelTables>).transaction().execute(async (tx) => {
    await sql`DELETE FROM jobs`.execute(tx);
    let replayed = 0;
    // A batch may end between a job's JobSubmitted and its JobQueued: the job has no row to read yet.
    const rowless = new Map<string, JobRowState>();
    for await (const events of readEventsByPosition(tx, JOB_STREAM_PREFIX, batchSize)) {
      // The same events, in the same per-stream order, as the inline projection was given.
      const handled = events.filter((event) => model.handles(event));
      await model.apply(tx, handled, rowless);
      replayed += handled.length;
    }
    return replayed;
  });
}
