import {
  DomainError,
  isJobEvent,
  isTerminalStatus,
  type Event,
  type ImageEvent,
  type ImageJobInput,
  type JobCommand,
  type JobEvent,
} from '@switchyard/contracts';
import { decideJob, evolveJob, initialJobState, type Decider, type JobState } from '@switchyard/jobs';

export type VariantOutcome =
  | { status: 'pending' }
  | { status: 'rendered'; outputKey: string; width: number; height: number }
  | { status: 'failed'; code: string; message: string };

/** An image job: the shared lifecycle and one outcome per variant. */
export interface ImageJob {
  readonly lifecycle: JobState;
  readonly variants: readonly VariantOutcome[];
}

export type ImageCommand =
  | { type: 'RecordVariantRendered'; data: { index: number; outputKey: string; width: number; height: number; now: string } }
  | { type: 'RecordVariantFailed'; data: { index: number; code: string; message: string; now: string } }
  /** Ends a running job once every variant has an outcome: completed (partial if some failed), or failed if all did. */
  | { type: 'FinishImageJob'; data: { now: string } };

export type ImageJobCommand = JobCommand | ImageCommand;
export type ImageJobEvent = JobEvent | ImageEvent;

const IMAGE_EVENT_TYPES: readonly string[] = ['ImageVariantRendered', 'ImageVariantFailed'];
const IMAGE_COMMAND_TYPES: readonly string[] = ['RecordVariantRendered', 'RecordVariantFailed', 'FinishImageJob'];

export const inputOf = (job: ImageJob): ImageJobInput => job.lifecycle.input as unknown as ImageJobInput;

export const initialImageJob = (): ImageJob => ({ lifecycle: initialJobState(), variants: [] });

export function evolveImageJob(job: ImageJob, event: Event): ImageJob {
  if (isJobEvent(event)) {
    const lifecycle = evolveJob(job.lifecycle, event);
    if (event.type !== 'JobSubmitted') return { ...job, lifecycle };
    const count = (event.data.input as unknown as ImageJobInput).variants.length;
    return { lifecycle, variants: Array.from({ length: count }, (): VariantOutcome => ({ status: 'pending' })) };
  }
  return { ...job, variants: applyVariantEvent(job.variants, event) };
}

/** One variant's outcome, from image's own events; other events change nothing. */
export function applyVariantEvent(variants: readonly VariantOutcome[], event: Event): readonly VariantOutcome[] {
  if (!IMAGE_EVENT_TYPES.includes(event.type)) return variants;
  const fact = event as ImageEvent;
  const next = [...variants];
  next[fact.data.index] =
    fact.type === 'ImageVariantRendered'
      ? { status: 'rendered', outputKey: fact.data.outputKey, width: fact.data.width, height: fact.data.height }
      : { status: 'failed', code: fact.data.code, message: fact.data.message };
  return next;
}

/** A job from the read model's row: the lifecycle, and the variant outcomes the kind model kept. */
export function imageJobFromRecord(lifecycle: JobState, kindState: unknown): ImageJob {
  const outcomes = Array.isArray(kindState) ? (kindState as (VariantOutcome | null)[]) : [];
  const count = (lifecycle.input as unknown as Partial<ImageJobInput>).variants?.length ?? 0;
  return { lifecycle, variants: Array.from({ length: count }, (_, i): VariantOutcome => outcomes[i] ?? { status: 'pending' }) };
}

export const settled = (job: ImageJob): boolean => job.variants.every((variant) => variant.status !== 'pending');
export const renderedCount = (job: ImageJob): number => job.variants.filter((variant) => variant.status === 'rendered').length;

/**
 * Credits given back when the job ends: every variant that did not render (failed, or never made
 * because the job was cancelled, failed or expired). The ledger refunds exactly this, in the same
 * transaction as the end of the job, and the dialect shows it as credits_refunded.
 */
export function refundDue(job: ImageJob): number {
  const status = job.lifecycle.status;
  if (status === null || !isTerminalStatus(status)) return 0;
  return (job.variants.length - renderedCount(job)) * inputOf(job).creditsPerImage;
}

function decideImage(command: ImageCommand, job: ImageJob): ImageJobEvent[] {
  if (!job.lifecycle.exists) throw new DomainError('JOB_NOT_FOUND', `${command.type}: the job does not exist`);
  if (job.lifecycle.status !== 'running') {
    if (job.lifecycle.status !== null && isTerminalStatus(job.lifecycle.status)) {
      throw new DomainError('JOB_FINISHED', `${command.type}: the job is already ${job.lifecycle.status}`);
    }
    throw new DomainError('ILLEGAL_TRANSITION', `${command.type} is not allowed on a ${job.lifecycle.status} job`);
  }
  const now = command.data.now;
  if (command.type === 'FinishImageJob') {
    if (!settled(job)) throw new DomainError('ILLEGAL_TRANSITION', 'some variants have no outcome yet');
    const failures = job.variants.filter((variant): variant is Extract<VariantOutcome, { status: 'failed' }> => variant.status === 'failed');
    if (failures.length === job.variants.length) {
      const first = failures[0] as { code: string; message: string };
      return decideJob({ type: 'FailJob', data: { code: first.code, message: first.message, now } }, job.lifecycle);
    }
    return decideJob({ type: 'CompleteJob', data: { partial: failures.length > 0, now } }, job.lifecycle);
  }
  const { index } = command.data;
  if (!Number.isInteger(index) || index < 0 || index >= job.variants.length) {
    throw new DomainError('VALIDATION_FAILED', `variant ${index} does not exist`, { index });
  }
  // A variant's outcome is decided once; a redelivered report of it changes nothing.
  if (job.variants[index]?.status !== 'pending') return [];
  if (command.type === 'RecordVariantRendered') {
    const { outputKey, width, height } = command.data;
    return [{ type: 'ImageVariantRendered', data: { index, outputKey, width, height, at: now } }];
  }
  const { code, message } = command.data;
  return [{ type: 'ImageVariantFailed', data: { index, code, message, at: now } }];
}

export const decideImageJob = (command: ImageJobCommand, job: ImageJob): ImageJobEvent[] =>
  IMAGE_COMMAND_TYPES.includes(command.type) ? decideImage(command as ImageCommand, job) : decideJob(command as JobCommand, job.lifecycle);

export const imageJobDecider: Decider<ImageJobCommand, ImageJobEvent, ImageJob> = {
  decide: decideImageJob,
  evolve: evolveImageJob,
  initialState: initialImageJob,
};

/** The image kind's model for the jobs read model (structurally a JobKindModel). */
export const imageKindModel = {
  kind: 'image' as const,
  eventTypes: IMAGE_EVENT_TYPES,
  initialState: (): readonly VariantOutcome[] => [],
  evolve: (variants: unknown, event: Event): readonly VariantOutcome[] =>
    applyVariantEvent(Array.isArray(variants) ? (variants as VariantOutcome[]) : [], event),
};
