import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import {
  EVENT_SUBJECT_ROOT,
  isDomainError,
  jobStreamId,
  streamEntityId,
  type Event,
  type JobCommand,
  type JobKind,
  type JobStatus,
  type RecordedEvent,
} from '@switchyard/contracts';
import {
  retryOnVersionConflict,
  type AfterCommit,
  type AppendResult,
  type EventStore,
  type EventStoreSession,
  type EventStoreTx,
} from '@switchyard/event-store';
import { handleCommand, type Decider } from '@switchyard/jobs';
import { dueJobsStatement } from '@switchyard/jobs-read-model';
import type { EventConsumers, RunningConsumer } from '@switchyard/messaging';
import { JobLeases } from './job-leases';

/** The job as the claim that started it left it: its state and stream version, so the executor need not read it again. */
export interface ClaimedJob<State = unknown> {
  state: State;
  version: number;
}

/**
 * The job's status as the executor last recorded it; the host trusts it instead of looking the job
 * up. Nothing: the host looks.
 */
export type ExecutorOutcome = JobStatus | null | undefined | void;

/** What a kind does with a job its worker claimed. */
export interface JobExecutor<State = unknown> {
  /** Runs a job this worker just started; ends it with a terminal event (or leaves it to a retry). */
  run(jobId: string, signal: AbortSignal, claimed?: ClaimedJob<State>): Promise<ExecutorOutcome>;
  /** Takes over a job whose worker died while running it: finish it without doing twice what was done. */
  resume(jobId: string, signal: AbortSignal): Promise<ExecutorOutcome>;
}

export interface RuntimeLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface JobWorkerHostOptions<E extends Event, State> {
  kind: JobKind;
  store: EventStore;
  db: Kysely<unknown>;
  consumers: EventConsumers;
  decider: Decider<JobCommand, E, State>;
  executor: JobExecutor<State>;
  workerId?: string;
  /** Jobs run at once by this worker. */
  concurrency?: number;
  leaseMs?: number;
  /** How often due scheduled jobs (first runs and retries) are released. */
  timerIntervalMs?: number;
  subjectRoot?: string;
  logger?: RuntimeLogger;
  /**
   * Runs in the transaction in which the host itself ends a job (an unexpected failure with no
   * retry left), so what a kind owes on its jobs' end, such as a refund, commits with that end.
   */
  onHostEnded?: (session: EventStoreSession, jobId: string, state: State) => Promise<void>;
  /** Where the leases are kept; default: the job_leases table of `db`, lasting `leaseMs`. */
  leases?: JobLeases;
}

/** How long a worker behind a backlog waits for more free slots before it claims into one. */
const BACKLOG_GATHER_MS = 20;

/** Jobs kept as this process submitted them, waiting to be claimed. */
const MAX_SUBMITTED_KEPT = 4_096;

const quiet: RuntimeLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

const now = (): string => new Date().toISOString();

/** A StartJob refused because the job was cancelled or already started: nothing to run. */
const nothingToStart = (error: unknown): boolean => isDomainError(error, 'ILLEGAL_TRANSITION') || isDomainError(error, 'JOB_FINISHED');

/**
 * Runs one kind's jobs: claims each queued job with its JobStarted and its lease committed
 * together (in one statement, or in the consumer's transaction), so a second claim loses on the
 * stream version and a redelivered JobQueued starts nothing; runs it after the commit,
 * renews its lease while it runs, takes over jobs whose worker's lease expired, and releases
 * scheduled jobs when they are due. The same in both run modes: only `consumers` differs. The
 * store must have jobLeasesProjection: the event that ends a run lets its lease go.
 */
export class JobWorkerHost<E extends Event, State> {
  readonly workerId: string;
  private readonly leases: JobLeases;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly logger: RuntimeLogger;
  private readonly active = new Map<string, AbortController>();
  /** Jobs this process submitted, as their submission left them: their claim need not read them. */
  private readonly submitted = new Map<string, ClaimedJob<State>>();
  private readonly finished = new Set<() => void>();
  /** Leases of resumed runs that ended, still being let go. */
  private readonly releasing = new Set<Promise<void>>();
  private consumer: RunningConsumer | undefined;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;

  constructor(private readonly options: JobWorkerHostOptions<E, State>) {
    this.workerId = options.workerId ?? `${options.kind}-${randomUUID().slice(0, 8)}`;
    this.concurrency = options.concurrency ?? 8;
    this.leaseMs = options.leaseMs ?? 15_000;
    this.logger = options.logger ?? quiet;
    this.leases = options.leases ?? new JobLeases(options.db, this.leaseMs);
  }

  /**
   * Keeps a job this process just submitted, as its submission decided it (state and version), so
   * that claiming it here reads nothing. A job changed since is found out by its append's version.
   */
  submittedHere(jobId: string, job: ClaimedJob<State>): void {
    this.submitted.set(jobId, job);
    // Jobs another worker claimed are never taken here: the oldest make way.
    for (const old of this.submitted.keys()) {
      if (this.submitted.size <= MAX_SUBMITTED_KEPT) break;
      this.submitted.delete(old);
    }
  }

  get running(): number {
    return this.active.size;
  }

  async start(): Promise<void> {
    this.stopping = false;
    const root = this.options.subjectRoot ?? EVENT_SUBJECT_ROOT;
    // Claims run side by side, each in its own transaction; each job's JobQueued is its own.
    const parallel = Math.min(this.concurrency, 8);
    this.consumer = await this.options.consumers.start({
      name: `worker:${this.options.kind}`,
      filterSubjects: [`${root}.${this.options.kind}.*.JobQueued`],
      parallel,
      // A JobQueued delivered again finds its job started (or ended) and starts nothing: the
      // stream's version guards the claim, and no inbox row is needed.
      idempotent: true,
      // Full: hold the next JobQueued until a job ends, rather than failing it into redelivery.
      ready: (backlog) => this.ready(backlog),
      room: () => this.concurrency - this.active.size,
      handleBatch: (events, tx) => this.claimAll(events, tx),
      // On JetStream a batch's claim needs no transaction: its one statement appends the
      // JobStarted events with their rows and leases (a transaction only when a row must be read).
      handleBatchDirect: (events) => this.claimAll(events),
      handle: async (event, tx) => {
        const jobId = streamEntityId(event.streamId);
        // Past what the claims in flight can add: fail the delivery so it comes again later.
        if (this.active.size >= this.concurrency + parallel) throw new Error(`worker ${this.workerId} is at capacity`);
        let claimed: ClaimedJob<State>;
        const session = this.options.store.session(tx);
        try {
          const started = await handleCommand(session, event.streamId, this.startJob(), this.options.decider, {
            metadata: { kind: this.options.kind, actor: this.workerId },
          });
          claimed = { state: started.newState, version: started.nextExpectedVersion };
        } catch (error) {
          if (nothingToStart(error)) return undefined;
          throw error;
        }
        await this.leases.claim(tx, jobId, this.options.kind, this.workerId);
        return () => {
          session.committed();
          this.launch(jobId, 'run', claimed);
        };
      },
    });
    const every = (ms: number, work: () => Promise<void>): void => {
      this.timers.push(setInterval(() => void work().catch((err: unknown) => this.logger.warn({ err }, 'periodic work failed')), ms));
    };
    every(Math.max(100, this.leaseMs / 3), () => this.leases.renew(this.workerId, [...this.active.keys()]));
    every(Math.max(100, this.leaseMs / 3), () => this.recover());
    every(this.options.timerIntervalMs ?? 1_000, () => this.releaseDueJobs());
    await this.recover();
  }

  /**
   * Claims the jobs of JobQueued events that arrived together: one read of their streams (none for
   * jobs this process submitted), then one statement that appends their JobStarted events and
   * writes their leases, in `tx` or (no tx) on its own. A job someone else wrote to since (a
   * cancellation, say) fails the batch, and each event is then claimed alone.
   */
  private async claimAll(events: readonly RecordedEvent[], tx?: EventStoreTx): Promise<AfterCommit> {
    const { decider, kind } = this.options;
    // In the consumer's transaction, or (JetStream) in the store's own statements.
    const session = tx ? this.options.store.session(tx) : undefined;
    const store = session ?? this.options.store;
    const streamIds = [...new Set(events.map((event) => event.streamId))];
    const known = new Map<string, ClaimedJob<State>>();
    for (const event of events) {
      const jobId = streamEntityId(event.streamId);
      const job = this.submitted.get(jobId);
      this.submitted.delete(jobId);
      if (job && job.version >= event.streamVersion) known.set(event.streamId, job);
    }
    const unknown = streamIds.filter((streamId) => !known.has(streamId));
    const streams = unknown.length > 0 ? await store.readStreams(unknown) : new Map<string, never>();
    const starts: { streamId: string; events: E[]; state: State; expectedVersion: number | 'no_stream' }[] = [];
    for (const streamId of streamIds) {
      const read = streams.get(streamId);
      const job = known.get(streamId);
      const state = job ? job.state : ((read?.events ?? []) as unknown as E[]).reduce(decider.evolve, decider.initialState());
      const version = job ? job.version : read?.currentVersion;
      let decided: E[];
      try {
        decided = decider.decide(this.startJob(), state);
      } catch (error) {
        if (nothingToStart(error)) continue;
        throw error;
      }
      if (decided.length === 0) continue;
      starts.push({ streamId, events: decided, state: decided.reduce(decider.evolve, state), expectedVersion: version || 'no_stream' });
    }
    // Every job of the batch was started or ended already (redeliveries): nothing to write.
    if (starts.length === 0) return () => undefined;
    const metadata = { kind, actor: this.workerId };
    // The leases go in the statement that appends the JobStarted events: one statement for the batch.
    const results = await store.appendToStreams(
      starts.map(({ streamId, events: started, expectedVersion }) => ({ streamId, events: started, expectedVersion, metadata })),
      { alsoWrite: this.leases.claimWithAppend(starts.map(({ streamId }) => streamId), kind, this.workerId) },
    );
    const conflict = results.find((result) => result instanceof Error);
    if (conflict) throw conflict;
    const claimed = starts.map(({ streamId, state }, i) => ({
      jobId: streamEntityId(streamId),
      claimed: { state, version: (results[i] as AppendResult).nextExpectedVersion },
    }));
    return () => {
      session?.committed();
      claimed.forEach(({ jobId, claimed: job }) => this.launch(jobId, 'run', job));
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const check of [...this.finished]) check();
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.consumer?.stop();
    for (const controller of this.active.values()) controller.abort();
    await this.idle();
    await Promise.all(this.releasing);
  }

  /** Resolves when `jobs` more jobs could run here, or the worker is stopping, or after `withinMs`. */
  private roomFor(jobs: number, withinMs?: number): Promise<void> {
    return this.until(() => this.concurrency - this.active.size >= jobs || this.stopping, withinMs);
  }

  /**
   * Room for a job; behind a backlog, also up to BACKLOG_GATHER_MS more for a quarter of the
   * slots, so that one claim transaction starts several jobs. Long jobs cost a freed slot no more
   * than that wait.
   */
  private async ready(backlog: boolean | undefined): Promise<void> {
    await this.roomFor(1);
    if (backlog) await this.roomFor(Math.max(1, Math.floor(this.concurrency / 4)), BACKLOG_GATHER_MS);
  }

  /** Resolves when no job is running here. */
  idle(): Promise<void> {
    return this.until(() => this.active.size === 0);
  }

  /** Resolves once `holds()` is true, checked whenever a job ends and on stop, or after `withinMs`. */
  private until(holds: () => boolean, withinMs?: number): Promise<void> {
    if (holds()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.finished.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const check = (): void => {
        if (holds()) done();
      };
      const timer = withinMs === undefined ? undefined : setTimeout(done, withinMs);
      this.finished.add(check);
    });
  }

  /** Jobs whose worker stopped renewing its lease: take them over and finish them. */
  async recover(): Promise<void> {
    if (this.stopping) return;
    const taken = await this.leases.takeExpired(this.options.kind, this.workerId, this.concurrency - this.active.size);
    for (const jobId of taken) {
      this.logger.warn({ jobId, workerId: this.workerId }, 'taking over a job whose worker stopped');
      this.launch(jobId, 'resume');
    }
  }

  /** Scheduled jobs (first runs and retries) whose time has come go back to the queue. */
  async releaseDueJobs(): Promise<void> {
    const { rows } = await dueJobsStatement(this.options.kind).execute(this.options.db);
    for (const { id } of rows) {
      await handleCommand(this.options.store, jobStreamId(id), { type: 'EnqueueJob', data: { now: now() } }, this.options.decider, {
        metadata: { kind: this.options.kind, actor: this.workerId },
      }).catch((error: unknown) => {
        if (!isDomainError(error)) throw error;
      });
    }
  }

  private startJob(): Extract<JobCommand, { type: 'StartJob' }> {
    return { type: 'StartJob', data: { workerId: this.workerId, now: now() } };
  }

  private async statusOf(jobId: string): Promise<string | undefined> {
    const { rows } = await sql<{ status: string }>`SELECT status FROM jobs WHERE id = ${jobId}`.execute(this.options.db);
    return rows[0]?.status;
  }

  private async failUnexpectedly(jobId: string, message: string): Promise<void> {
    await retryOnVersionConflict(() =>
      this.options.store.transaction(async (session) => {
        const { newEvents, newState } = await handleCommand(
          session,
          jobStreamId(jobId),
          { type: 'FailJob', data: { code: 'INTERNAL', message, retryable: true, now: now() } },
          this.options.decider,
          { metadata: { kind: this.options.kind, actor: this.workerId }, maxAttempts: 1 },
        );
        const ended = newEvents.some((event) => event.type === 'JobFailed');
        if (ended) await this.options.onHostEnded?.(session, jobId, newState);
      }),
    ).catch((error: unknown) => this.logger.warn({ jobId, err: error }, 'could not record the failure'));
  }

  private launch(jobId: string, how: 'run' | 'resume', claimed?: ClaimedJob<State>): void {
    if (this.active.has(jobId)) return;
    const controller = new AbortController();
    this.active.set(jobId, controller);
    const { executor } = this.options;
    const work = how === 'run' ? executor.run(jobId, controller.signal, claimed) : executor.resume(jobId, controller.signal);
    let letGo = false;
    void work
      .then(async (recorded) => {
        if (controller.signal.aborted) return;
        // An executor must end the job; one that returned without doing so must not strand it.
        const status = recorded ?? (await this.statusOf(jobId));
        if (status === 'running') await this.failUnexpectedly(jobId, 'the executor returned without finishing the job');
        // A takeover may find the job ended by a process whose store let no lease go.
        else letGo = how === 'resume';
      })
      .catch(async (error: unknown) => {
        this.logger.error({ jobId, err: error }, 'job execution failed unexpectedly');
        await this.failUnexpectedly(jobId, String(error instanceof Error ? error.message : error));
      })
      .finally(() => {
        this.active.delete(jobId);
        // The event that ended the run let its lease go (jobLeasesProjection). A run whose end was
        // not recorded keeps it, as a stopping worker keeps its leases: whoever takes them over
        // resumes the job.
        if (letGo) this.release(jobId);
        for (const check of [...this.finished]) check();
      });
  }

  /** Lets a resumed run's lease go, after its slot was freed, unless another worker took it over meanwhile. */
  private release(jobId: string): void {
    const released: Promise<void> = this.leases
      .release(jobId, this.workerId)
      .catch((error: unknown) => this.logger.warn({ jobId, err: error }, 'could not let a lease go; it expires'))
      .finally(() => this.releasing.delete(released));
    this.releasing.add(released);
  }
}
