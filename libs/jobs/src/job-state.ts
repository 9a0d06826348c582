import {
  DEFAULT_RETRY_POLICY,
  isJobEvent,
  type Event,
  type JobEvent,
  type JobKind,
  type JobStatus,
  type RetryPolicy,
} from '@switchyard/contracts';

export interface JobCancellation {
  readonly requested: boolean;
  readonly by?: string;
  readonly reason?: string;
  readonly at?: string;
}

export interface JobBlock {
  readonly code: string;
  readonly reason: string;
}

export interface JobError {
  readonly code: string;
  readonly message: string;
}

export interface FailedItem {
  readonly item: string;
  readonly code: string;
  readonly message: string;
}

/** Everything the shared lifecycle knows about one job; every view is a function of it. */
export interface JobState {
  readonly exists: boolean;
  readonly jobId: string | null;
  readonly kind: JobKind | null;
  readonly orgId: string | null;
  readonly submittedBy: string | null;
  readonly input: Readonly<Record<string, unknown>>;
  readonly externalId: string | null;
  /** 0 unless the submitter chose one; higher runs first. */
  readonly priority: number;
  /** Null before submission, and between JobSubmitted and the JobScheduled/JobQueued appended with it. */
  readonly status: JobStatus | null;
  readonly progress: number;
  /** Attempts begun; a start after a resume continues the blocked attempt instead of beginning one. */
  readonly attempts: number;
  /** True between JobResumed and the next JobStarted: that start continues the attempt that blocked. */
  readonly resuming: boolean;
  readonly retry: RetryPolicy;
  /** When a scheduled job (first run or retry) is due. */
  readonly runAt: string | null;
  readonly expiresAt: string | null;
  readonly cancellation: JobCancellation;
  /** Non-null exactly while the status is 'blocked'. */
  readonly blocked: JobBlock | null;
  readonly partial: boolean;
  readonly result: unknown;
  /** Why the job failed, or why the last attempt failed while a retry waits; cleared on completion. */
  readonly error: JobError | null;
  readonly failedItems: readonly FailedItem[];
  /** Named outputs; adding a name again replaces its value. */
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly messages: number;
  readonly submittedAt: string | null;
  /** The first start; retries do not move it. */
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string | null;
}

export const initialJobState = (): JobState => ({
  exists: false,
  jobId: null,
  kind: null,
  orgId: null,
  submittedBy: null,
  input: {},
  externalId: null,
  priority: 0,
  status: null,
  progress: 0,
  attempts: 0,
  resuming: false,
  retry: DEFAULT_RETRY_POLICY,
  runAt: null,
  expiresAt: null,
  cancellation: { requested: false },
  blocked: null,
  partial: false,
  result: null,
  error: null,
  failedItems: [],
  outputs: {},
  messages: 0,
  submittedAt: null,
  startedAt: null,
  finishedAt: null,
  updatedAt: null,
});

/**
 * Applies one lifecycle fact. Any other event (a kind's own, like 'PrinterJobAccepted') returns the
 * state untouched, so a kind's evolve can delegate here and handle its own events beside it.
 */
export function evolveJob(state: JobState, event: JobEvent | Event): JobState {
  if (!isJobEvent(event)) return state;
  const touched = { ...state, updatedAt: event.data.at };

  switch (event.type) {
    case 'JobSubmitted': {
      const { data } = event;
      return {
        ...touched,
        exists: true,
        jobId: data.jobId,
        kind: data.kind,
        orgId: data.orgId,
        submittedBy: data.submittedBy ?? null,
        input: data.input,
        externalId: data.externalId ?? null,
        priority: data.priority ?? 0,
        retry: data.retry,
        runAt: data.runAt ?? null,
        expiresAt: data.expiresAt ?? null,
        submittedAt: data.at,
      };
    }
    case 'JobScheduled':
      return { ...touched, status: 'scheduled', runAt: event.data.runAt };
    case 'JobQueued':
      return { ...touched, status: 'queued', blocked: null };
    case 'JobStarted':
      return {
        ...touched,
        status: 'running',
        attempts: event.data.attempt,
        resuming: false,
        startedAt: state.startedAt ?? event.data.at,
      };
    case 'JobProgressed':
      return { ...touched, progress: event.data.progress };
    case 'JobMessageLogged':
      return { ...touched, messages: state.messages + 1 };
    case 'JobOutputAdded':
      return { ...touched, outputs: { ...state.outputs, [event.data.name]: event.data.value } };
    case 'JobItemFailed': {
      const { item, code, message } = event.data;
      return { ...touched, failedItems: [...state.failedItems, { item, code, message }] };
    }
    case 'JobRetryScheduled': {
      const { retryAt, code, message } = event.data;
      return {
        ...touched,
        status: 'scheduled',
        runAt: retryAt,
        resuming: false,
        blocked: null,
        error: { code, message },
      };
    }
    case 'JobCancellationRequested': {
      const { by, reason, at } = event.data;
      return {
        ...touched,
        cancellation: {
          requested: true,
          ...(by === undefined ? {} : { by }),
          ...(reason === undefined ? {} : { reason }),
          at,
        },
      };
    }
    case 'JobCancelled':
      return { ...touched, status: 'cancelled', blocked: null, finishedAt: event.data.at };
    case 'JobBlocked':
      return { ...touched, status: 'blocked', blocked: { code: event.data.code, reason: event.data.reason } };
    case 'JobResumed':
      // The status moves with the JobQueued appended beside it; this fact only marks the attempt as continuing.
      return { ...touched, resuming: true };
    case 'JobCompleted':
      return {
        ...touched,
        status: 'completed',
        progress: 100,
        partial: event.data.partial,
        result: event.data.result ?? null,
        error: null,
        blocked: null,
        finishedAt: event.data.at,
      };
    case 'JobFailed':
      return {
        ...touched,
        status: 'failed',
        error: { code: event.data.code, message: event.data.message },
        blocked: null,
        finishedAt: event.data.at,
      };
    case 'JobExpired':
      return { ...touched, status: 'expired', blocked: null, finishedAt: event.data.at };
  }
}
