import {
  DEFAULT_RETRY_POLICY,
  DomainError,
  isTerminalStatus,
  type JobCommand,
  type JobEvent,
  type JobStatus,
  type RetryPolicy,
} from '@switchyard/contracts';
import type { Decider } from './command-handler';
import { evolveJob, initialJobState, type JobState } from './job-state';

type CommandOf<T extends JobCommand['type']> = Extract<JobCommand, { type: T }>;

/** Milliseconds to wait before retrying after `attempt` failed: exponential, capped. */
export const backoff = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.backoffFactor ** (attempt - 1));

const instant = (iso: string): number => Date.parse(iso);

const addMs = (iso: string, ms: number): string => new Date(instant(iso) + ms).toISOString();

const withRetryDefaults = (partial: Partial<RetryPolicy> | undefined): RetryPolicy => {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  // Skip keys present but undefined, so they cannot erase a default.
  for (const [key, value] of Object.entries(partial ?? {}) as [keyof RetryPolicy, number | undefined][]) {
    if (value !== undefined) policy[key] = value;
  }
  return policy;
};

const illegal = (command: JobCommand, state: JobState, why?: string): DomainError =>
  new DomainError(
    'ILLEGAL_TRANSITION',
    `${command.type} is not allowed on a ${state.status ?? 'unscheduled'} job${why ? `: ${why}` : ''}`,
    { jobId: state.jobId, status: state.status, command: command.type },
  );

const requireStatus = (command: JobCommand, state: JobState, allowed: readonly JobStatus[]): void => {
  if (state.status === null || !allowed.includes(state.status)) throw illegal(command, state);
};

/**
 * Repeats a retrying client or an at-least-once timer would send: they answer [] instead of an error.
 * RequestCancellation once requested or cancelled, ConfirmCancellation once cancelled, ExpireJob once
 * expired, EnqueueJob once queued.
 */
const isRepeat = (command: JobCommand, state: JobState): boolean => {
  switch (command.type) {
    case 'RequestCancellation':
      return (
        state.status === 'cancelled' ||
        (state.cancellation.requested && state.status !== null && !isTerminalStatus(state.status))
      );
    case 'ConfirmCancellation':
      return state.status === 'cancelled';
    case 'ExpireJob':
      return state.status === 'expired';
    case 'EnqueueJob':
      return state.status === 'queued';
    default:
      return false;
  }
};

function submit(command: CommandOf<'SubmitJob'>, state: JobState): JobEvent[] {
  if (state.exists) {
    throw new DomainError('JOB_ALREADY_EXISTS', `job ${state.jobId} already exists`, { jobId: state.jobId });
  }
  const { now, retry, ...data } = command.data;
  const submitted: JobEvent = { type: 'JobSubmitted', data: { ...data, retry: withRetryDefaults(retry), at: now } };
  const runAt = data.runAt;
  if (runAt !== undefined && instant(runAt) > instant(now)) {
    return [submitted, { type: 'JobScheduled', data: { runAt, at: now } }];
  }
  return [submitted, { type: 'JobQueued', data: { at: now } }];
}

function fail(command: CommandOf<'FailJob'>, state: JobState): JobEvent[] {
  requireStatus(command, state, ['queued', 'running', 'blocked']);
  const { code, message, retryable, now } = command.data;
  // Only a started attempt is retried: a failure while queued is a pre-flight rejection, and retrying it
  // would loop without ever spending an attempt.
  const retries =
    retryable === true &&
    state.status !== 'queued' &&
    state.attempts < state.retry.maxAttempts &&
    !state.cancellation.requested;
  if (!retries) return [{ type: 'JobFailed', data: { code, message, at: now } }];
  const attempt = state.attempts;
  return [
    {
      type: 'JobRetryScheduled',
      data: { attempt, retryAt: addMs(now, backoff(state.retry, attempt)), code, message, at: now },
    },
  ];
}

/**
 * The shared lifecycle's decisions. Pure: `now` comes in the command; refusals are DomainErrors with
 * JOB_NOT_FOUND, JOB_ALREADY_EXISTS, JOB_FINISHED, ILLEGAL_TRANSITION or PROGRESS_OUT_OF_RANGE.
 */
export function decideJob(command: JobCommand, state: JobState): JobEvent[] {
  if (command.type === 'SubmitJob') return submit(command, state);
  if (!state.exists) throw new DomainError('JOB_NOT_FOUND', `${command.type}: the job does not exist`);
  if (isRepeat(command, state)) return [];
  if (state.status !== null && isTerminalStatus(state.status)) {
    throw new DomainError('JOB_FINISHED', `${command.type}: the job is already ${state.status}`, {
      jobId: state.jobId,
      status: state.status,
      command: command.type,
    });
  }

  const at = command.data.now;
  switch (command.type) {
    case 'EnqueueJob': {
      requireStatus(command, state, ['scheduled']);
      // A timer that fires early must not release the job.
      if (state.runAt !== null && instant(at) < instant(state.runAt)) {
        throw illegal(command, state, `it is due at ${state.runAt}`);
      }
      return [{ type: 'JobQueued', data: { at } }];
    }
    case 'StartJob': {
      requireStatus(command, state, ['queued']);
      if (state.cancellation.requested) throw illegal(command, state, 'cancellation was requested');
      const attempt = state.resuming ? state.attempts : state.attempts + 1;
      const { workerId } = command.data;
      return [{ type: 'JobStarted', data: { attempt, ...(workerId === undefined ? {} : { workerId }), at } }];
    }
    case 'ReportProgress': {
      requireStatus(command, state, ['running']);
      const { progress } = command.data;
      if (!(progress >= 0 && progress <= 100)) {
        throw new DomainError('PROGRESS_OUT_OF_RANGE', `progress ${progress} is outside 0..100`, { progress });
      }
      // Progress never goes back: a late or repeated report is dropped.
      if (progress <= state.progress) return [];
      return [{ type: 'JobProgressed', data: { progress, at } }];
    }
    case 'LogMessage': {
      // Services also log while a job waits (a preflight warning, a printer out of paper).
      requireStatus(command, state, ['scheduled', 'queued', 'running', 'blocked']);
      const { level, message, source } = command.data;
      return [{ type: 'JobMessageLogged', data: { level, message, ...(source === undefined ? {} : { source }), at } }];
    }
    case 'AddOutput': {
      requireStatus(command, state, ['running']);
      return [{ type: 'JobOutputAdded', data: { name: command.data.name, value: command.data.value, at } }];
    }
    case 'FailItem': {
      requireStatus(command, state, ['running']);
      const { item, code, message } = command.data;
      return [{ type: 'JobItemFailed', data: { item, code, message, at } }];
    }
    case 'CompleteJob': {
      // A cancellation requested while the worker was finishing loses the race: the work is done.
      requireStatus(command, state, ['running']);
      const { partial, result } = command.data;
      return [
        {
          type: 'JobCompleted',
          data: {
            partial: partial ?? state.failedItems.length > 0,
            ...(result === undefined ? {} : { result }),
            at,
          },
        },
      ];
    }
    case 'FailJob':
      return fail(command, state);
    case 'RequestCancellation': {
      requireStatus(command, state, ['scheduled', 'queued', 'running', 'blocked']);
      const { by, reason } = command.data;
      const requested: JobEvent = {
        type: 'JobCancellationRequested',
        data: { ...(by === undefined ? {} : { by }), ...(reason === undefined ? {} : { reason }), at },
      };
      // Only a running attempt has a worker that must stop first and confirm.
      if (state.status === 'running') return [requested];
      return [requested, { type: 'JobCancelled', data: { ...(reason === undefined ? {} : { reason }), at } }];
    }
    case 'ConfirmCancellation': {
      requireStatus(command, state, ['running']);
      if (!state.cancellation.requested) throw illegal(command, state, 'no cancellation was requested');
      const { reason } = state.cancellation;
      return [{ type: 'JobCancelled', data: { ...(reason === undefined ? {} : { reason }), at } }];
    }
    case 'BlockJob': {
      requireStatus(command, state, ['running']);
      // A blocked job has no worker left to confirm a pending cancellation, so it would never end.
      if (state.cancellation.requested) throw illegal(command, state, 'cancellation was requested');
      return [{ type: 'JobBlocked', data: { code: command.data.code, reason: command.data.reason, at } }];
    }
    case 'ResumeJob': {
      requireStatus(command, state, ['blocked']);
      return [
        { type: 'JobResumed', data: { at } },
        { type: 'JobQueued', data: { at } },
      ];
    }
    case 'ExpireJob': {
      if (state.expiresAt === null) throw illegal(command, state, 'it has no expiry');
      if (instant(at) < instant(state.expiresAt)) throw illegal(command, state, `it expires at ${state.expiresAt}`);
      return [{ type: 'JobExpired', data: { at } }];
    }
  }
}

export const jobDecider: Decider<JobCommand, JobEvent, JobState> = {
  decide: decideJob,
  evolve: evolveJob,
  initialState: initialJobState,
};
