import { z } from 'zod';

/** The five kinds of job; each has its own service. */
export const JOB_KINDS = ['print', 'image', 'publish', 'document', 'workflow'] as const;
export const jobKindSchema = z.enum(JOB_KINDS);
export type JobKind = z.infer<typeof jobKindSchema>;

export const JOB_STATUSES = [
  'scheduled',
  'queued',
  'running',
  'blocked',
  'completed',
  'failed',
  'cancelled',
  'expired',
] as const;
export const jobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof jobStatusSchema>;
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled', 'expired'];
export const isTerminalStatus = (status: JobStatus): boolean => TERMINAL_STATUSES.includes(status);

const at = z.iso.datetime({ offset: true });
const code = z.string().min(1).max(100);

export const retryPolicySchema = z.object({
  maxAttempts: z.number().int().min(1).max(100),
  initialBackoffMs: z.number().int().min(0),
  backoffFactor: z.number().min(1).max(10),
  maxBackoffMs: z.number().int().min(0),
});
export type RetryPolicy = z.infer<typeof retryPolicySchema>;
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  initialBackoffMs: 1_000,
  backoffFactor: 2,
  maxBackoffMs: 60_000,
};

// ---- events: facts of the shared lifecycle; a kind adds its own beside them ----

export const jobSubmittedSchema = z.object({
  type: z.literal('JobSubmitted'),
  data: z.object({
    jobId: z.string().min(1),
    kind: jobKindSchema,
    orgId: z.string().min(1),
    submittedBy: z.string().optional(),
    input: z.record(z.string(), z.unknown()),
    externalId: z.string().optional(),
    priority: z.number().int().optional(),
    retry: retryPolicySchema,
    runAt: at.optional(),
    expiresAt: at.optional(),
    at,
  }),
});
export const jobScheduledSchema = z.object({
  type: z.literal('JobScheduled'),
  data: z.object({ runAt: at, at }),
});
export const jobQueuedSchema = z.object({ type: z.literal('JobQueued'), data: z.object({ at }) });
export const jobStartedSchema = z.object({
  type: z.literal('JobStarted'),
  data: z.object({ attempt: z.number().int().min(1), workerId: z.string().optional(), at }),
});
export const jobProgressedSchema = z.object({
  type: z.literal('JobProgressed'),
  data: z.object({ progress: z.number().min(0).max(100), at }),
});
export const jobMessageLoggedSchema = z.object({
  type: z.literal('JobMessageLogged'),
  data: z.object({
    level: z.enum(['info', 'warning', 'error']),
    message: z.string(),
    source: z.string().optional(),
    at,
  }),
});
export const jobOutputAddedSchema = z.object({
  type: z.literal('JobOutputAdded'),
  data: z.object({ name: z.string().min(1), value: z.unknown(), at }),
});
export const jobItemFailedSchema = z.object({
  type: z.literal('JobItemFailed'),
  data: z.object({ item: z.string().min(1), code, message: z.string(), at }),
});
export const jobRetryScheduledSchema = z.object({
  type: z.literal('JobRetryScheduled'),
  data: z.object({ attempt: z.number().int().min(1), retryAt: at, code, message: z.string(), at }),
});
export const jobCancellationRequestedSchema = z.object({
  type: z.literal('JobCancellationRequested'),
  data: z.object({ by: z.string().optional(), reason: z.string().optional(), at }),
});
export const jobCancelledSchema = z.object({
  type: z.literal('JobCancelled'),
  data: z.object({ reason: z.string().optional(), at }),
});
export const jobBlockedSchema = z.object({
  type: z.literal('JobBlocked'),
  data: z.object({ code, reason: z.string(), at }),
});
export const jobResumedSchema = z.object({ type: z.literal('JobResumed'), data: z.object({ at }) });
export const jobCompletedSchema = z.object({
  type: z.literal('JobCompleted'),
  data: z.object({ partial: z.boolean(), result: z.unknown().optional(), at }),
});
export const jobFailedSchema = z.object({
  type: z.literal('JobFailed'),
  data: z.object({ code, message: z.string(), at }),
});
export const jobExpiredSchema = z.object({ type: z.literal('JobExpired'), data: z.object({ at }) });

export const jobEventSchema = z.discriminatedUnion('type', [
  jobSubmittedSchema,
  jobScheduledSchema,
  jobQueuedSchema,
  jobStartedSchema,
  jobProgressedSchema,
  jobMessageLoggedSchema,
  jobOutputAddedSchema,
  jobItemFailedSchema,
  jobRetryScheduledSchema,
  jobCancellationRequestedSchema,
  jobCancelledSchema,
  jobBlockedSchema,
  jobResumedSchema,
  jobCompletedSchema,
  jobFailedSchema,
  jobExpiredSchema,
]);
export type JobEvent = z.infer<typeof jobEventSchema>;
export type JobEventType = JobEvent['type'];
export const JOB_EVENT_TYPES = jobEventSchema.options.map((option) => option.shape.type.value);
export const isJobEvent = (event: { type: string }): event is JobEvent =>
  (JOB_EVENT_TYPES as readonly string[]).includes(event.type);

// ---- commands: requests the lifecycle decider accepts or refuses; `now` keeps it pure ----

export const submitJobSchema = z.object({
  type: z.literal('SubmitJob'),
  data: z.object({
    jobId: z.string().min(1),
    kind: jobKindSchema,
    orgId: z.string().min(1),
    submittedBy: z.string().optional(),
    input: z.record(z.string(), z.unknown()),
    externalId: z.string().optional(),
    priority: z.number().int().optional(),
    retry: retryPolicySchema.partial().optional(),
    runAt: at.optional(),
    expiresAt: at.optional(),
    now: at,
  }),
});
export const enqueueJobSchema = z.object({ type: z.literal('EnqueueJob'), data: z.object({ now: at }) });
export const startJobSchema = z.object({
  type: z.literal('StartJob'),
  data: z.object({ workerId: z.string().optional(), now: at }),
});
export const reportProgressSchema = z.object({
  type: z.literal('ReportProgress'),
  data: z.object({ progress: z.number(), now: at }),
});
export const logMessageSchema = z.object({
  type: z.literal('LogMessage'),
  data: z.object({
    level: z.enum(['info', 'warning', 'error']),
    message: z.string(),
    source: z.string().optional(),
    now: at,
  }),
});
export const addOutputSchema = z.object({
  type: z.literal('AddOutput'),
  data: z.object({ name: z.string().min(1), value: z.unknown(), now: at }),
});
export const failItemSchema = z.object({
  type: z.literal('FailItem'),
  data: z.object({ item: z.string().min(1), code, message: z.string(), now: at }),
});
export const completeJobSchema = z.object({
  type: z.literal('CompleteJob'),
  data: z.object({ partial: z.boolean().optional(), result: z.unknown().optional(), now: at }),
});
export const failJobSchema = z.object({
  type: z.literal('FailJob'),
  data: z.object({ code, message: z.string(), retryable: z.boolean().optional(), now: at }),
});
export const requestCancellationSchema = z.object({
  type: z.literal('RequestCancellation'),
  data: z.object({ by: z.string().optional(), reason: z.string().optional(), now: at }),
});
export const confirmCancellationSchema = z.object({
  type: z.literal('ConfirmCancellation'),
  data: z.object({ now: at }),
});
export const blockJobSchema = z.object({
  type: z.literal('BlockJob'),
  data: z.object({ code, reason: z.string(), now: at }),
});
export const resumeJobSchema = z.object({ type: z.literal('ResumeJob'), data: z.object({ now: at }) });
export const expireJobSchema = z.object({ type: z.literal('ExpireJob'), data: z.object({ now: at }) });

export const jobCommandSchema = z.discriminatedUnion('type', [
  submitJobSchema,
  enqueueJobSchema,
  startJobSchema,
  reportProgressSchema,
  logMessageSchema,
  addOutputSchema,
  failItemSchema,
  completeJobSchema,
  failJobSchema,
  requestCancellationSchema,
  confirmCancellationSchema,
  blockJobSchema,
  resumeJobSchema,
  expireJobSchema,
]);
export type JobCommand = z.infer<typeof jobCommandSchema>;
export type JobCommandType = JobCommand['type'];
