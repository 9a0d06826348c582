import fc from 'fast-check';
import {
  JOB_EVENT_TYPES,
  isDomainError,
  isTerminalStatus,
  jobEventSchema,
  type JobCommand,
  type JobCommandType,
  type JobEvent,
  type JobEventType,
  type JobStatus,
} from '@switchyard/contracts';
import { jobDecider } from './job-decider';
import type { JobState } from './job-state';

/** Where a job is in its life: its status, or a phase before it has one. */
type Phase = JobStatus | 'none' | 'submitted';

const phaseOf = (state: JobState): Phase => (state.exists ? (state.status ?? 'submitted') : 'none');

/** Every legal step: from a phase, which event may happen and which phase it leads to. */
const TRANSITIONS: Record<Phase, Partial<Record<JobEventType, Phase>>> = {
  none: { JobSubmitted: 'submitted' },
  submitted: { JobScheduled: 'scheduled', JobQueued: 'queued' },
  scheduled: {
    JobQueued: 'queued',
    JobMessageLogged: 'scheduled',
    JobCancellationRequested: 'scheduled',
    JobCancelled: 'cancelled',
    JobExpired: 'expired',
  },
  queued: {
    JobStarted: 'running',
    JobMessageLogged: 'queued',
    JobCancellationRequested: 'queued',
    JobCancelled: 'cancelled',
    JobFailed: 'failed',
    JobExpired: 'expired',
  },
  running: {
    JobProgressed: 'running',
    JobMessageLogged: 'running',
    JobOutputAdded: 'running',
    JobItemFailed: 'running',
    JobCancellationRequested: 'running',
    JobBlocked: 'blocked',
    JobRetryScheduled: 'scheduled',
    JobCompleted: 'completed',
    JobFailed: 'failed',
    JobCancelled: 'cancelled',
    JobExpired: 'expired',
  },
  blocked: {
    JobMessageLogged: 'blocked',
    JobResumed: 'blocked',
    JobQueued: 'queued',
    JobCancellationRequested: 'blocked',
    JobCancelled: 'cancelled',
    JobRetryScheduled: 'scheduled',
    JobFailed: 'failed',
    JobExpired: 'expired',
  },
  completed: {},
  failed: {},
  cancelled: {},
  expired: {},
};

const BASE = Date.parse('2030-01-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const instantNear = (fromS: number, toS: number) => fc.integer({ min: fromS * 1000, max: toS * 1000 }).map((ms) => iso(BASE + ms));
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 3 });

// Commands without their time: the run stamps each with an ever-increasing `now`.
const submitArb: fc.Arbitrary<JobCommand> = fc
  .record({
    runAt: maybe(instantNear(-5, 60)),
    expiresAt: maybe(instantNear(0, 400)),
    retry: maybe(
      fc.record(
        {
          maxAttempts: fc.integer({ min: 1, max: 4 }),
          initialBackoffMs: fc.integer({ min: 0, max: 5_000 }),
          backoffFactor: fc.integer({ min: 1, max: 3 }),
          maxBackoffMs: fc.integer({ min: 0, max: 20_000 }),
        },
        { requiredKeys: [] },
      ),
    ),
  })
  .map(({ runAt, expiresAt, retry }) => ({
    type: 'SubmitJob',
    data: { jobId: 'job_p', kind: 'image', orgId: 'org_p', input: { n: 1 }, runAt, expiresAt, retry, now: '' },
  }));

const code = fc.constantFrom('BOOM', 'PRINTER_UNREACHABLE', 'CORRUPT');

/** One candidate of each command type; a step picks one of them. */
const candidatesArb = fc.record({
  SubmitJob: submitArb,
  EnqueueJob: fc.constant<JobCommand>({ type: 'EnqueueJob', data: { now: '' } }),
  StartJob: fc.constant<JobCommand>({ type: 'StartJob', data: { workerId: 'w', now: '' } }),
  ReportProgress: fc
    .oneof(fc.integer({ min: -5, max: 105 }), fc.double({ min: 0, max: 100, noNaN: true }))
    .map((progress): JobCommand => ({ type: 'ReportProgress', data: { progress, now: '' } })),
  LogMessage: fc
    .constantFrom('info', 'warning', 'error')
    .map((level): JobCommand => ({ type: 'LogMessage', data: { level, message: 'm', now: '' } })),
  AddOutput: fc
    .tuple(fc.constantFrom('a', 'b'), fc.constantFrom(1, 'x', { url: 'u' }))
    .map(([name, value]): JobCommand => ({ type: 'AddOutput', data: { name, value, now: '' } })),
  FailItem: fc
    .tuple(fc.constantFrom('p1', 'p2'), code)
    .map(([item, failure]): JobCommand => ({ type: 'FailItem', data: { item, code: failure, message: 'm', now: '' } })),
  CompleteJob: maybe(fc.boolean()).map((partial): JobCommand => ({ type: 'CompleteJob', data: { partial, now: '' } })),
  FailJob: fc
    .tuple(code, maybe(fc.boolean()))
    .map(([failure, retryable]): JobCommand => ({ type: 'FailJob', data: { code: failure, message: 'm', retryable, now: '' } })),
  RequestCancellation: maybe(fc.constantFrom('typo', 'duplicate')).map(
    (reason): JobCommand => ({ type: 'RequestCancellation', data: { by: 'u', reason, now: '' } }),
  ),
  ConfirmCancellation: fc.constant<JobCommand>({ type: 'ConfirmCancellation', data: { now: '' } }),
  BlockJob: fc.constant<JobCommand>({ type: 'BlockJob', data: { code: 'PAPER_OUT', reason: 'r', now: '' } }),
  ResumeJob: fc.constant<JobCommand>({ type: 'ResumeJob', data: { now: '' } }),
  ExpireJob: fc.constant<JobCommand>({ type: 'ExpireJob', data: { now: '' } }),
});

const ANY_COMMAND: readonly JobCommandType[] = [
  'SubmitJob',
  'EnqueueJob',
  'StartJob',
  'ReportProgress',
  'LogMessage',
  'AddOutput',
  'FailItem',
  'CompleteJob',
  'FailJob',
  'RequestCancellation',
  'ConfirmCancellation',
  'BlockJob',
  'ResumeJob',
  'ExpireJob',
];

// Commands that usually make sense in each phase: steering by them reaches long lives (retries,
// block/resume cycles) that uniformly random commands, mostly refused, rarely would.
const PLAUSIBLE: Record<Phase, readonly JobCommandType[]> = {
  none: ['SubmitJob'],
  submitted: ANY_COMMAND,
  scheduled: ['EnqueueJob', 'EnqueueJob', 'RequestCancellation', 'ExpireJob', 'LogMessage'],
  queued: ['StartJob', 'StartJob', 'StartJob', 'FailJob', 'RequestCancellation', 'ExpireJob', 'LogMessage'],
  running: [
    'ReportProgress',
    'ReportProgress',
    'FailJob',
    'FailJob',
    'CompleteJob',
    'BlockJob',
    'BlockJob',
    'RequestCancellation',
    'ConfirmCancellation',
    'AddOutput',
    'FailItem',
    'ExpireJob',
  ],
  blocked: ['ResumeJob', 'ResumeJob', 'FailJob', 'RequestCancellation', 'ExpireJob'],
  completed: ANY_COMMAND,
  failed: ANY_COMMAND,
  cancelled: ANY_COMMAND,
  expired: ANY_COMMAND,
};

const stepArb = fc.record({
  candidates: candidatesArb,
  pick: fc.nat(),
  steered: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
  elapsedMs: fc.integer({ min: 0, max: 20_000 }),
});

const historyArb = fc.array(stepArb, { maxLength: 40 });

const choose = (step: { candidates: Record<JobCommandType, JobCommand>; pick: number; steered: boolean }, phase: Phase): JobCommand => {
  const types = step.steered ? PLAUSIBLE[phase] : ANY_COMMAND;
  return step.candidates[types[step.pick % types.length] ?? 'SubmitJob'];
};

const stamp = (command: JobCommand, now: string): JobCommand => ({ ...command, data: { ...command.data, now } }) as JobCommand;

const fold = (events: readonly JobEvent[]): JobState => events.reduce(jobDecider.evolve, jobDecider.initialState());

const fail = (message: string, context: unknown): never => {
  throw new Error(`${message}: ${JSON.stringify(context)}`);
};

describe('the job decider, on any history of commands', () => {
  it('keeps every lifecycle invariant', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(historyArb, (steps) => {
        let state = jobDecider.initialState();
        let clock = BASE;
        const emitted: JobEvent[] = [];

        for (const step of steps) {
          clock += step.elapsedMs;
          const now = iso(clock);
          const command = stamp(choose(step, phaseOf(state)), now);
          const before = state;

          let decided: JobEvent[];
          try {
            decided = jobDecider.decide(command, before);
          } catch (error) {
            // A refusal is fine as long as it is a decision with a code, not a crash.
            if (!isDomainError(error)) throw error;
            seen.add(error.code);
            continue;
          }

          // (c) once terminal, only [] comes back.
          if (before.status !== null && isTerminalStatus(before.status) && decided.length > 0) {
            fail('a finished job decided new events', { before: before.status, command, decided });
          }

          for (const [index, event] of decided.entries()) {
            seen.add(event.type);
            jobEventSchema.parse(event);
            if (event.data.at !== now) fail('an event is not stamped with the command time', { command, event });

            // (a) each step is in the table, and lands where the table says.
            const from = phaseOf(state);
            const to = TRANSITIONS[from][event.type];
            if (to === undefined) fail(`illegal ${event.type} from ${from}`, { command, decided });
            if (event.type === 'JobQueued' && from === 'blocked' && decided[index - 1]?.type !== 'JobResumed') {
              fail('a blocked job was queued without a resume', { command, decided });
            }
            const next = jobDecider.evolve(state, event);
            if (phaseOf(next) !== to) fail(`${event.type} from ${from} led to ${phaseOf(next)}, not ${to}`, { command });

            // (b) progress never decreases.
            if (next.progress < state.progress) fail('progress went back', { from: state.progress, to: next.progress });
            // (e) attempts stay within the policy.
            if (next.attempts > next.retry.maxAttempts) fail('too many attempts', { attempts: next.attempts, retry: next.retry });
            state = next;
          }

          // Nothing left to confirm a cancellation unless a worker is running.
          if (state.cancellation.requested && state.status !== null && !isTerminalStatus(state.status) && state.status !== 'running') {
            fail('a pending cancellation outside a running job', { state });
          }
          if (state.status === 'blocked' ? state.blocked === null : state.blocked !== null) {
            fail('blocked details out of step with the status', { state });
          }
          // (c) a terminal status never changes.
          if (before.status !== null && isTerminalStatus(before.status) && state.status !== before.status) {
            fail('a terminal status changed', { before: before.status, after: state.status });
          }
          emitted.push(...decided);
        }

        // (d) the state is nothing but the fold of what was decided, even after a trip through JSON.
        expect(fold(emitted)).toEqual(state);
        expect(fold(JSON.parse(JSON.stringify(emitted)) as JobEvent[])).toEqual(state);
      }),
      { numRuns: 2_500 },
    );

    // The histories must have reached every event and refusal, or the checks above prove little.
    for (const type of JOB_EVENT_TYPES) expect(seen).toContain(type);
    for (const errorCode of ['JOB_NOT_FOUND', 'JOB_ALREADY_EXISTS', 'JOB_FINISHED', 'ILLEGAL_TRANSITION', 'PROGRESS_OUT_OF_RANGE']) {
      expect(seen).toContain(errorCode);
    }
  });
});
