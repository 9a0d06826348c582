import { DEFAULT_RETRY_POLICY, type JobEvent } from '@switchyard/contracts';
import { backoff, jobDecider } from './job-decider';
import { DeciderSpecification } from './testing';

const spec = DeciderSpecification.for(jobDecider);

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
/** The instant `seconds` after T0, as the ISO string commands and events carry. */
const t = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const submitted = (data: Partial<Extract<JobEvent, { type: 'JobSubmitted' }>['data']> = {}): JobEvent => ({
  type: 'JobSubmitted',
  data: { jobId: 'job_1', kind: 'print', orgId: 'org_1', input: { copies: 1 }, retry: DEFAULT_RETRY_POLICY, at: t(0), ...data },
});
const queuedAt = (s: number): JobEvent => ({ type: 'JobQueued', data: { at: t(s) } });
const startedAt = (s: number, attempt: number): JobEvent => ({ type: 'JobStarted', data: { attempt, at: t(s) } });

const scheduled: JobEvent[] = [
  submitted({ runAt: t(60) }),
  { type: 'JobScheduled', data: { runAt: t(60), at: t(0) } },
];
const queued: JobEvent[] = [submitted(), queuedAt(0)];
const running: JobEvent[] = [...queued, startedAt(1, 1)];
const blocked: JobEvent[] = [...running, { type: 'JobBlocked', data: { code: 'PAPER_OUT', reason: 'tray 1 empty', at: t(2) } }];
const cancelRequested: JobEvent[] = [...running, { type: 'JobCancellationRequested', data: { by: 'user_1', reason: 'typo', at: t(2) } }];
const completed: JobEvent[] = [...running, { type: 'JobCompleted', data: { partial: false, at: t(3) } }];
const failed: JobEvent[] = [...running, { type: 'JobFailed', data: { code: 'BOOM', message: 'broke', at: t(3) } }];
const cancelled: JobEvent[] = [
  ...queued,
  { type: 'JobCancellationRequested', data: { at: t(2) } },
  { type: 'JobCancelled', data: { at: t(2) } },
];
const expiring: JobEvent[] = [submitted({ expiresAt: t(100) }), queuedAt(0)];
const expired: JobEvent[] = [...expiring, { type: 'JobExpired', data: { at: t(100) } }];

const terminals: [string, JobEvent[]][] = [
  ['completed', completed],
  ['failed', failed],
  ['cancelled', cancelled],
  ['expired', expired],
];

describe('decideJob', () => {
  describe('SubmitJob', () => {
    const submit = { jobId: 'job_1', kind: 'print', orgId: 'org_1', input: { copies: 1 } } as const;

    it('submits and queues a job that should run now', () => {
      spec
        .given([])
        .when({ type: 'SubmitJob', data: { ...submit, now: t(0) } })
        .then([submitted(), queuedAt(0)]);
    });

    it('queues a job whose runAt has already passed', () => {
      spec
        .given([])
        .when({ type: 'SubmitJob', data: { ...submit, runAt: t(-5), now: t(0) } })
        .then([submitted({ runAt: t(-5) }), queuedAt(0)]);
    });

    it('schedules a job whose runAt is in the future', () => {
      spec
        .given([])
        .when({ type: 'SubmitJob', data: { ...submit, runAt: t(60), now: t(0) } })
        .then(scheduled);
    });

    it('merges a partial retry policy over the default', () => {
      spec
        .given([])
        .when({ type: 'SubmitJob', data: { ...submit, retry: { maxAttempts: 5, maxBackoffMs: undefined }, now: t(0) } })
        .then([submitted({ retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 5 } }), queuedAt(0)]);
    });

    it('refuses a job id that exists', () => {
      spec.given(queued).when({ type: 'SubmitJob', data: { ...submit, now: t(1) } }).thenThrows('JOB_ALREADY_EXISTS');
    });

    it('refuses a job id that exists even when the job is finished', () => {
      spec.given(completed).when({ type: 'SubmitJob', data: { ...submit, now: t(9) } }).thenThrows('JOB_ALREADY_EXISTS');
    });
  });

  describe('on a job that does not exist', () => {
    it.each([
      { type: 'EnqueueJob', data: { now: t(0) } },
      { type: 'StartJob', data: { now: t(0) } },
      { type: 'RequestCancellation', data: { now: t(0) } },
      { type: 'ExpireJob', data: { now: t(0) } },
      { type: 'LogMessage', data: { level: 'info', message: 'hi', now: t(0) } },
    ] as const)('$type is JOB_NOT_FOUND', (command) => {
      spec.given([]).when(command).thenThrows('JOB_NOT_FOUND');
    });
  });

  describe('on a finished job', () => {
    it.each(terminals)('refuses every ordinary command on a %s job with JOB_FINISHED', (_status, events) => {
      for (const command of [
        { type: 'EnqueueJob', data: { now: t(200) } },
        { type: 'StartJob', data: { now: t(200) } },
        { type: 'ReportProgress', data: { progress: 50, now: t(200) } },
        { type: 'LogMessage', data: { level: 'info', message: 'late', now: t(200) } },
        { type: 'AddOutput', data: { name: 'x', value: 1, now: t(200) } },
        { type: 'FailItem', data: { item: 'p1', code: 'BAD', message: 'bad', now: t(200) } },
        { type: 'CompleteJob', data: { now: t(200) } },
        { type: 'FailJob', data: { code: 'BOOM', message: 'late', now: t(200) } },
        { type: 'BlockJob', data: { code: 'X', reason: 'x', now: t(200) } },
        { type: 'ResumeJob', data: { now: t(200) } },
      ] as const) {
        spec.given(events).when(command).thenThrows('JOB_FINISHED');
      }
    });

    it.each([
      ['completed', completed],
      ['failed', failed],
      ['expired', expired],
    ] as const)('refuses RequestCancellation on a %s job', (_status, events) => {
      spec.given(events).when({ type: 'RequestCancellation', data: { now: t(200) } }).thenThrows('JOB_FINISHED');
    });

    it.each([
      ['completed', completed],
      ['failed', failed],
      ['cancelled', cancelled],
    ] as const)('refuses ExpireJob on a %s job', (_status, events) => {
      spec.given(events).when({ type: 'ExpireJob', data: { now: t(200) } }).thenThrows('JOB_FINISHED');
    });
  });

  describe('EnqueueJob', () => {
    it('queues a scheduled job that is due', () => {
      spec.given(scheduled).when({ type: 'EnqueueJob', data: { now: t(60) } }).then(queuedAt(60));
    });

    it('refuses a timer that fires early', () => {
      spec.given(scheduled).when({ type: 'EnqueueJob', data: { now: t(59) } }).thenThrows('ILLEGAL_TRANSITION');
    });

    it('is a no-op on a job already queued (a timer fired twice)', () => {
      spec.given(queued).when({ type: 'EnqueueJob', data: { now: t(1) } }).thenNothing();
    });

    it('refuses a running job', () => {
      spec.given(running).when({ type: 'EnqueueJob', data: { now: t(5) } }).thenThrows('ILLEGAL_TRANSITION');
    });

    it('releases a retry once its backoff has passed', () => {
      const retrying: JobEvent[] = [
        ...running,
        { type: 'JobRetryScheduled', data: { attempt: 1, retryAt: t(3), code: 'X', message: 'x', at: t(2) } },
      ];
      spec.given(retrying).when({ type: 'EnqueueJob', data: { now: t(2.5) } }).thenThrows('ILLEGAL_TRANSITION');
      spec.given(retrying).when({ type: 'EnqueueJob', data: { now: t(3) } }).then(queuedAt(3));
    });
  });

  describe('StartJob', () => {
    it('starts a queued job as attempt 1', () => {
      spec
        .given(queued)
        .when({ type: 'StartJob', data: { workerId: 'w1', now: t(1) } })
        .then({ type: 'JobStarted', data: { attempt: 1, workerId: 'w1', at: t(1) } });
    });

    it('starts a retried job as the next attempt', () => {
      spec
        .given([
          ...running,
          { type: 'JobRetryScheduled', data: { attempt: 1, retryAt: t(3), code: 'X', message: 'x', at: t(2) } },
          queuedAt(3),
        ])
        .when({ type: 'StartJob', data: { now: t(4) } })
        .then(startedAt(4, 2));
    });

    it('continues the blocked attempt after a resume', () => {
      spec
        .given([...blocked, { type: 'JobResumed', data: { at: t(3) } }, queuedAt(3)])
        .when({ type: 'StartJob', data: { now: t(4) } })
        .then(startedAt(4, 1));
    });

    it.each([
      ['scheduled', scheduled],
      ['running', running],
      ['blocked', blocked],
    ] as const)('refuses a %s job', (_status, events) => {
      spec.given(events).when({ type: 'StartJob', data: { now: t(100) } }).thenThrows('ILLEGAL_TRANSITION');
    });

    it('refuses a queued job whose cancellation was requested', () => {
      // Unreachable through decideJob (cancelling a queued job ends it at once), so built by hand.
      spec
        .given([...queued, { type: 'JobCancellationRequested', data: { at: t(1) } }])
        .when({ type: 'StartJob', data: { now: t(2) } })
        .thenThrows('ILLEGAL_TRANSITION');
    });
  });

  describe('ReportProgress', () => {
    const at40: JobEvent[] = [...running, { type: 'JobProgressed', data: { progress: 40, at: t(2) } }];

    it('records progress forward', () => {
      spec
        .given(at40)
        .when({ type: 'ReportProgress', data: { progress: 41.5, now: t(3) } })
        .then({ type: 'JobProgressed', data: { progress: 41.5, at: t(3) } });
    });

    it.each([40, 12, 0])('drops a report of %d that does not move forward', (progress) => {
      spec.given(at40).when({ type: 'ReportProgress', data: { progress, now: t(3) } }).thenNothing();
    });

    it.each([-1, 100.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %d', (progress) => {
      spec.given(at40).when({ type: 'ReportProgress', data: { progress, now: t(3) } }).thenThrows('PROGRESS_OUT_OF_RANGE');
    });

    it.each([
      ['queued', queued],
      ['blocked', blocked],
    ] as const)('refuses a %s job', (_status, events) => {
      spec.given(events).when({ type: 'ReportProgress', data: { progress: 50, now: t(3) } }).thenThrows('ILLEGAL_TRANSITION');
    });
  });

  describe('LogMessage, AddOutput, FailItem', () => {
    it.each([
      ['scheduled', scheduled],
      ['queued', queued],
      ['running', running],
      ['blocked', blocked],
    ] as const)('logs a message on a %s job', (_status, events) => {
      spec
        .given(events)
        .when({ type: 'LogMessage', data: { level: 'warning', message: 'toner low', source: 'printer', now: t(5) } })
        .then({ type: 'JobMessageLogged', data: { level: 'warning', message: 'toner low', source: 'printer', at: t(5) } });
    });

    it('adds an output while running', () => {
      spec
        .given(running)
        .when({ type: 'AddOutput', data: { name: 'pdf', value: { url: 's3://x' }, now: t(5) } })
        .then({ type: 'JobOutputAdded', data: { name: 'pdf', value: { url: 's3://x' }, at: t(5) } });
    });

    it('fails an item while running', () => {
      spec
        .given(running)
        .when({ type: 'FailItem', data: { item: 'page-3', code: 'CORRUPT', message: 'bad xref', now: t(5) } })
        .then({ type: 'JobItemFailed', data: { item: 'page-3', code: 'CORRUPT', message: 'bad xref', at: t(5) } });
    });

    it.each([
      ['queued', queued],
      ['blocked', blocked],
    ] as const)('refuses outputs and item failures on a %s job', (_status, events) => {
      spec.given(events).when({ type: 'AddOutput', data: { name: 'x', value: 1, now: t(5) } }).thenThrows('ILLEGAL_TRANSITION');
      spec
        .given(events)
        .when({ type: 'FailItem', data: { item: 'a', code: 'B', message: 'c', now: t(5) } })
        .thenThrows('ILLEGAL_TRANSITION');
    });
  });

  describe('CompleteJob', () => {
    it('completes a running job, whole when no item failed', () => {
      spec
        .given(running)
        .when({ type: 'CompleteJob', data: { result: { pages: 3 }, now: t(5) } })
        .then({ type: 'JobCompleted', data: { partial: false, result: { pages: 3 }, at: t(5) } });
    });

    it('completes partially when an item failed', () => {
      spec
        .given([...running, { type: 'JobItemFailed', data: { item: 'p2', code: 'X', message: 'x', at: t(2) } }])
        .when({ type: 'CompleteJob', data: { now: t(5) } })
        .then({ type: 'JobCompleted', data: { partial: true, at: t(5) } });
    });

    it('lets the command override the partial flag', () => {
      spec
        .given([...running, { type: 'JobItemFailed', data: { item: 'p2', code: 'X', message: 'x', at: t(2) } }])
        .when({ type: 'CompleteJob', data: { partial: false, now: t(5) } })
        .then({ type: 'JobCompleted', data: { partial: false, at: t(5) } });
    });

    it('wins the race against a pending cancellation', () => {
      spec
        .given(cancelRequested)
        .when({ type: 'CompleteJob', data: { now: t(5) } })
        .then({ type: 'JobCompleted', data: { partial: false, at: t(5) } });
    });

    it.each([
      ['queued', queued],
      ['blocked', blocked],
      ['scheduled', scheduled],
    ] as const)('refuses a %s job', (_status, events) => {
      spec.given(events).when({ type: 'CompleteJob', data: { now: t(5) } }).thenThrows('ILLEGAL_TRANSITION');
    });
  });

  describe('FailJob', () => {
    const failure = { code: 'PRINTER_UNREACHABLE', message: 'no route' } as const;

    it('fails a running job that is not retryable', () => {
      spec
        .given(running)
        .when({ type: 'FailJob', data: { ...failure, now: t(5) } })
        .then({ type: 'JobFailed', data: { ...failure, at: t(5) } });
    });

    it('schedules a retry with backoff for a retryable failure', () => {
      spec
        .given(running)
        .when({ type: 'FailJob', data: { ...failure, retryable: true, now: t(5) } })
        .then({ type: 'JobRetryScheduled', data: { attempt: 1, retryAt: t(6), ...failure, at: t(5) } });
    });

    it('backs off exponentially on later attempts', () => {
      spec
        .given([
          ...running,
          { type: 'JobRetryScheduled', data: { attempt: 1, retryAt: t(3), code: 'X', message: 'x', at: t(2) } },
          queuedAt(3),
          startedAt(4, 2),
        ])
        .when({ type: 'FailJob', data: { ...failure, retryable: true, now: t(10) } })
        .then({ type: 'JobRetryScheduled', data: { attempt: 2, retryAt: t(12), ...failure, at: t(10) } });
    });

    it('fails for good once the attempts are used up', () => {
      spec
        .given([submitted({ retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 } }), queuedAt(0), startedAt(1, 1)])
        .when({ type: 'FailJob', data: { ...failure, retryable: true, now: t(5) } })
        .then({ type: 'JobFailed', data: { ...failure, at: t(5) } });
    });

    it('does not retry a job whose cancellation was requested', () => {
      spec
        .given(cancelRequested)
        .when({ type: 'FailJob', data: { ...failure, retryable: true, now: t(5) } })
        .then({ type: 'JobFailed', data: { ...failure, at: t(5) } });
    });

    it('retries a blocked job that gives up', () => {
      spec
        .given(blocked)
        .when({ type: 'FailJob', data: { ...failure, retryable: true, now: t(5) } })
        .then({ type: 'JobRetryScheduled', data: { attempt: 1, retryAt: t(6), ...failure, at: t(5) } });
    });

    it('fails a queued job (a pre-flight rejection) without retrying', () => {
      spec
        .given(queued)
        .when({ type: 'FailJob', data: { ...failure, retryable: true, now: t(5) } })
        .then({ type: 'JobFailed', data: { ...failure, at: t(5) } });
    });

    it('refuses a scheduled job', () => {
      spec.given(scheduled).when({ type: 'FailJob', data: { ...failure, now: t(5) } }).thenThrows('ILLEGAL_TRANSITION');
    });
  });

  describe('backoff', () => {
    it('grows by the factor from the initial delay and stops at the cap', () => {
      const policy = { maxAttempts: 10, initialBackoffMs: 1_000, backoffFactor: 3, maxBackoffMs: 20_000 };
      expect([1, 2, 3, 4, 5].map((attempt) => backoff(policy, attempt))).toEqual([1_000, 3_000, 9_000, 20_000, 20_000]);
    });
  });

  describe('RequestCancellation', () => {
    it.each([
      ['scheduled', scheduled],
      ['queued', queued],
      ['blocked', blocked],
    ] as const)('cancels a %s job at once', (_status, events) => {
      spec
        .given(events)
        .when({ type: 'RequestCancellation', data: { by: 'user_1', reason: 'typo', now: t(5) } })
        .then([
          { type: 'JobCancellationRequested', data: { by: 'user_1', reason: 'typo', at: t(5) } },
          { type: 'JobCancelled', data: { reason: 'typo', at: t(5) } },
        ]);
    });

    it('only requests cancellation of a running job: its worker confirms', () => {
      spec
        .given(running)
        .when({ type: 'RequestCancellation', data: { by: 'user_1', now: t(5) } })
        .then({ type: 'JobCancellationRequested', data: { by: 'user_1', at: t(5) } });
    });

    it('is a no-op once requested', () => {
      spec.given(cancelRequested).when({ type: 'RequestCancellation', data: { now: t(6) } }).thenNothing();
    });

    it('is a no-op once cancelled', () => {
      spec.given(cancelled).when({ type: 'RequestCancellation', data: { now: t(6) } }).thenNothing();
    });
  });

  describe('ConfirmCancellation', () => {
    it('cancels a running job whose cancellation was requested, with its reason', () => {
      spec
        .given(cancelRequested)
        .when({ type: 'ConfirmCancellation', data: { now: t(6) } })
        .then({ type: 'JobCancelled', data: { reason: 'typo', at: t(6) } });
    });

    it('refuses when no cancellation was requested', () => {
      spec.given(running).when({ type: 'ConfirmCancellation', data: { now: t(6) } }).thenThrows('ILLEGAL_TRANSITION');
    });

    it('refuses a job that is not running', () => {
      spec.given(queued).when({ type: 'ConfirmCancellation', data: { now: t(6) } }).thenThrows('ILLEGAL_TRANSITION');
    });

    it('is a no-op once cancelled (a worker confirming twice)', () => {
      spec.given(cancelled).when({ type: 'ConfirmCancellation', data: { now: t(6) } }).thenNothing();
    });

    it('refuses a job that completed first', () => {
      spec
        .given([...cancelRequested, { type: 'JobCompleted', data: { partial: false, at: t(5) } }])
        .when({ type: 'ConfirmCancellation', data: { now: t(6) } })
        .thenThrows('JOB_FINISHED');
    });
  });

  describe('BlockJob and ResumeJob', () => {
    it('blocks a running job', () => {
      spec
        .given(running)
        .when({ type: 'BlockJob', data: { code: 'PAPER_OUT', reason: 'tray 1 empty', now: t(2) } })
        .then({ type: 'JobBlocked', data: { code: 'PAPER_OUT', reason: 'tray 1 empty', at: t(2) } });
    });

    it('refuses to block a job that is not running', () => {
      spec.given(queued).when({ type: 'BlockJob', data: { code: 'X', reason: 'x', now: t(2) } }).thenThrows('ILLEGAL_TRANSITION');
      spec.given(blocked).when({ type: 'BlockJob', data: { code: 'X', reason: 'x', now: t(3) } }).thenThrows('ILLEGAL_TRANSITION');
    });

    it('refuses to block a job whose cancellation was requested', () => {
      spec
        .given(cancelRequested)
        .when({ type: 'BlockJob', data: { code: 'X', reason: 'x', now: t(3) } })
        .thenThrows('ILLEGAL_TRANSITION');
    });

    it('resumes a blocked job back to the queue', () => {
      spec
        .given(blocked)
        .when({ type: 'ResumeJob', data: { now: t(3) } })
        .then([
          { type: 'JobResumed', data: { at: t(3) } },
          { type: 'JobQueued', data: { at: t(3) } },
        ]);
    });

    it.each([
      ['queued', queued],
      ['running', running],
      ['scheduled', scheduled],
    ] as const)('refuses to resume a %s job', (_status, events) => {
      spec.given(events).when({ type: 'ResumeJob', data: { now: t(3) } }).thenThrows('ILLEGAL_TRANSITION');
    });
  });

  describe('ExpireJob', () => {
    it('expires a job at its expiry', () => {
      spec.given(expiring).when({ type: 'ExpireJob', data: { now: t(100) } }).then({ type: 'JobExpired', data: { at: t(100) } });
    });

    it('expires a running job too', () => {
      spec
        .given([...expiring, startedAt(10, 1)])
        .when({ type: 'ExpireJob', data: { now: t(150) } })
        .then({ type: 'JobExpired', data: { at: t(150) } });
    });

    it('refuses before the expiry', () => {
      spec.given(expiring).when({ type: 'ExpireJob', data: { now: t(99) } }).thenThrows('ILLEGAL_TRANSITION');
    });

    it('refuses a job without an expiry', () => {
      spec.given(queued).when({ type: 'ExpireJob', data: { now: t(1000) } }).thenThrows('ILLEGAL_TRANSITION');
    });

    it('is a no-op once expired', () => {
      spec.given(expired).when({ type: 'ExpireJob', data: { now: t(101) } }).thenNothing();
    });
  });

  describe('the specification helper', () => {
    it('fails thenThrows when the decider decides instead of refusing', () => {
      expect(() => spec.given(queued).when({ type: 'StartJob', data: { now: t(1) } }).thenThrows()).toThrow(/expected a DomainError/);
    });

    it('fails thenThrows on the wrong code', () => {
      expect(() => spec.given([]).when({ type: 'StartJob', data: { now: t(1) } }).thenThrows('JOB_FINISHED')).toThrow();
    });
  });
});
