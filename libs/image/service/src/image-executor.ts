import { isDomainError, jobStreamId, type PhotoSource } from '@switchyard/contracts';
import type { EventStore } from '@switchyard/event-store';
import { handleCommand } from '@switchyard/jobs';
import type { JobExecutor, RuntimeLogger } from '@switchyard/job-runtime';
import {
  evolveImageJob,
  imageJobDecider,
  initialImageJob,
  inputOf,
  refundDue,
  type ImageJob,
  type ImageJobCommand,
} from '@switchyard/image/domain';
import type { BlobStore } from '@switchyard/storage';
import type { AdRenderer, CreditsPort, PhotoFetcher, RetryOnConflict } from './ports';

export interface ImageExecutorOptions {
  store: EventStore;
  blobs: BlobStore;
  renderer: AdRenderer;
  fetchPhoto: PhotoFetcher;
  credits: CreditsPort;
  retryOnConflict: RetryOnConflict;
  /** Variants of one job rendered at once (the renderer's own pool bounds the work). */
  concurrency?: number;
  logger?: RuntimeLogger;
}

const now = (): string => new Date().toISOString();
const RENDER_CODES = ['IMAGE_DECODE_FAILED', 'RENDER_TIMEOUT', 'RENDER_FAILED', 'UNKNOWN_TEMPLATE', 'VALIDATION_FAILED'];

/** Why a variant failed, as its `error {code, message}` shows it. */
function variantFailure(error: unknown, stage: 'fetch' | 'render'): { code: string; message: string } {
  if (stage === 'fetch') {
    return { code: 'IMAGE_FETCH_FAILED', message: isDomainError(error) ? error.message : 'the photo could not be fetched' };
  }
  if (!isDomainError(error)) return { code: 'RENDER_FAILED', message: 'the image could not be rendered' };
  return RENDER_CODES.includes(error.code) ? { code: error.code, message: error.message } : { code: 'RENDER_FAILED', message: error.message };
}

/**
 * Renders a job's variants, each failing alone; ends the job once every variant has an outcome and
 * refunds, in that same transaction, what did not render. A resumed job renders only what has no
 * outcome yet: nothing is rendered, debited or refunded twice.
 */
export class ImageExecutor implements JobExecutor {
  constructor(private readonly options: ImageExecutorOptions) {}

  run(jobId: string, signal: AbortSignal): Promise<void> {
    return this.process(jobId, signal);
  }

  resume(jobId: string, signal: AbortSignal): Promise<void> {
    return this.process(jobId, signal);
  }

  private async process(jobId: string, signal: AbortSignal): Promise<void> {
    const job = await this.load(jobId);
    if (job.lifecycle.status !== 'running') return;
    if (job.lifecycle.cancellation.requested) return this.end(jobId, { type: 'ConfirmCancellation', data: { now: now() } });
    const input = inputOf(job);
    const photos = new Map<string, Promise<Buffer>>();
    const photoFor = (source: PhotoSource): Promise<Buffer> => {
      const key = 'blobKey' in source ? `blob:${source.blobKey}` : `url:${source.url}`;
      let photo = photos.get(key);
      if (!photo) {
        photo = 'blobKey' in source ? this.blob(source.blobKey) : this.options.fetchPhoto(source.url);
        photos.set(key, photo);
      }
      return photo;
    };
    const queue = job.variants.flatMap((variant, index) => (variant.status === 'pending' ? [index] : []));
    let settled = job.variants.length - queue.length;
    const renderNext = async (): Promise<void> => {
      for (let index = queue.shift(); index !== undefined && !signal.aborted; index = queue.shift()) {
        const variant = input.variants[index] as (typeof input.variants)[number];
        let photo: Buffer;
        try {
          photo = await photoFor(variant.photo);
        } catch (error) {
          await this.record(jobId, { type: 'RecordVariantFailed', data: { index, ...variantFailure(error, 'fetch'), now: now() } });
          continue;
        }
        try {
          const png = await this.options.renderer.render({
            template: variant.template,
            width: variant.width,
            height: variant.height,
            title: input.title,
            bullets: input.bulletPoints,
            brandColors: input.brandColors,
            photo,
          });
          const outputKey = await this.options.blobs.put(png, 'image/png');
          await this.record(jobId, {
            type: 'RecordVariantRendered',
            data: { index, outputKey, width: variant.width, height: variant.height, now: now() },
          });
        } catch (error) {
          await this.record(jobId, { type: 'RecordVariantFailed', data: { index, ...variantFailure(error, 'render'), now: now() } });
        }
        settled += 1;
        const progress = Math.min(99, Math.floor((settled / input.variants.length) * 100));
        await this.record(jobId, { type: 'ReportProgress', data: { progress, now: now() } });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.concurrency ?? 2) }, renderNext));
    if (signal.aborted) return;
    const after = await this.load(jobId);
    if (after.lifecycle.cancellation.requested) return this.end(jobId, { type: 'ConfirmCancellation', data: { now: now() } });
    return this.end(jobId, { type: 'FinishImageJob', data: { now: now() } });
  }

  /** Ends the job and refunds what did not render, in one transaction: both or neither. */
  private async end(jobId: string, command: ImageJobCommand): Promise<void> {
    await this.options.retryOnConflict(() =>
      this.options.store.transaction(async (session) => {
        const { newEvents, newState } = await handleCommand(session, jobStreamId(jobId), command, imageJobDecider, {
          metadata: { kind: 'image' },
          maxAttempts: 1,
        });
        // Only the transaction that ended the job refunds; a retry finds it ended and refunds nothing.
        const amount = newEvents.length > 0 ? refundDue(newState) : 0;
        if (amount > 0) {
          await this.options.credits.refund(session, newState.lifecycle.orgId as string, jobId, amount, 'images not rendered');
        }
      }),
    ).catch((error: unknown) => {
      if (!isDomainError(error, 'JOB_FINISHED')) throw error;
    });
  }

  private async record(jobId: string, command: ImageJobCommand): Promise<void> {
    await handleCommand(this.options.store, jobStreamId(jobId), command, imageJobDecider, { metadata: { kind: 'image' } }).catch(
      (error: unknown) => {
        // Cancelled meanwhile: the outcome of this variant no longer matters.
        if (!isDomainError(error, 'JOB_FINISHED') && !isDomainError(error, 'ILLEGAL_TRANSITION')) throw error;
      },
    );
  }

  private async blob(key: string): Promise<Buffer> {
    const blob = await this.options.blobs.get(key);
    if (!blob) throw new Error(`photo ${key} is missing from storage`);
    return blob.bytes;
  }

  private async load(jobId: string): Promise<ImageJob> {
    const { events } = await this.options.store.readStream(jobStreamId(jobId));
    return events.reduce(evolveImageJob, initialImageJob());
  }
}
