import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { EventStore } from '@switchyard/event-store';
import { JobWorkerHost, type RuntimeLogger } from '@switchyard/job-runtime';
import type { CommandHandlers, EventConsumers } from '@switchyard/messaging';
import { imageJobDecider, refundDue, type ImageJob, type ImageJobEvent } from '@switchyard/image/domain';
import { checkDocumentUrl, fetchDocument } from '@switchyard/safe-fetch';
import type { BlobStore } from '@switchyard/storage';
import { ImageExecutor } from './image-executor';
import { imageCommandHandlers, ImageJobs } from './image-jobs';
import type { AdRenderer, CreditsPort, RetryOnConflict } from './ports';

const flag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

/** The image service's settings, from the environment, with defaults that run the embedded mode. */
export const imageConfigSchema = z.object({
  IMAGE_CREDITS_PER_IMAGE: z.coerce.number().int().min(0).default(1),
  IMAGE_RENDER_WORKERS: z.coerce.number().int().min(1).max(32).default(2),
  IMAGE_RENDER_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  IMAGE_MAX_PHOTO_BYTES: z.coerce.number().int().positive().default(10 * 1024 * 1024),
  IMAGE_PHOTO_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  /** Jobs this worker runs at once; each renders its variants on the shared worker threads. */
  IMAGE_CONCURRENCY: z.coerce.number().int().positive().default(4),
  IMAGE_ALLOW_PRIVATE_URLS: flag.default(false),
  IMAGE_ALLOWED_URL_RANGES: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((range) => range.trim()).filter(Boolean)),
  IMAGE_LEASE_MS: z.coerce.number().int().positive().default(30_000),
  /** How long a generated image's signed link works after its job completed. */
  IMAGE_PREVIEW_TTL_MS: z.coerce.number().int().positive().default(7 * 24 * 60 * 60 * 1000),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

export interface ImageServiceDeps {
  store: EventStore;
  db: Kysely<unknown>;
  blobs: BlobStore;
  consumers: EventConsumers;
  renderer: AdRenderer;
  templates: readonly string[];
  credits: CreditsPort;
  retryOnConflict: RetryOnConflict;
  config: ImageConfig;
  workerId?: string;
  subjectRoot?: string;
  logger?: RuntimeLogger;
}

export interface ImageService {
  jobs: ImageJobs;
  handlers: CommandHandlers;
  worker: JobWorkerHost<ImageJobEvent, ImageJob>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The image service's parts, wired the same way in both run modes. */
export function createImageService(deps: ImageServiceDeps): ImageService {
  const { config } = deps;
  const policy = { allowPrivateNetworks: config.IMAGE_ALLOW_PRIVATE_URLS, allowAddresses: config.IMAGE_ALLOWED_URL_RANGES };
  const jobs = new ImageJobs({
    store: deps.store,
    db: deps.db,
    blobs: deps.blobs,
    credits: deps.credits,
    retryOnConflict: deps.retryOnConflict,
    checkUrl: (url) => checkDocumentUrl(url, policy),
    templates: deps.templates,
    creditsPerImage: config.IMAGE_CREDITS_PER_IMAGE,
    maxPhotoBytes: config.IMAGE_MAX_PHOTO_BYTES,
  });
  const executor = new ImageExecutor({
    store: deps.store,
    blobs: deps.blobs,
    renderer: deps.renderer,
    fetchPhoto: async (url) =>
      (await fetchDocument(url, { ...policy, maxBytes: config.IMAGE_MAX_PHOTO_BYTES, timeoutMs: config.IMAGE_PHOTO_TIMEOUT_MS })).bytes,
    credits: deps.credits,
    retryOnConflict: deps.retryOnConflict,
    concurrency: config.IMAGE_RENDER_WORKERS,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  const worker = new JobWorkerHost({
    kind: 'image',
    store: deps.store,
    db: deps.db,
    consumers: deps.consumers,
    decider: imageJobDecider,
    executor,
    concurrency: config.IMAGE_CONCURRENCY,
    leaseMs: config.IMAGE_LEASE_MS,
    // A job that failed for good outside the executor (its last attempt threw) still owes back
    // what it did not render, in the transaction that ended it.
    onHostEnded: async (session, jobId, job) => {
      const amount = refundDue(job);
      if (amount > 0) await deps.credits.refund(session, job.lifecycle.orgId as string, jobId, amount, 'job failed');
    },
    ...(deps.workerId ? { workerId: deps.workerId } : {}),
    ...(deps.subjectRoot ? { subjectRoot: deps.subjectRoot } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  return {
    jobs,
    handlers: imageCommandHandlers(jobs),
    worker,
    start: () => worker.start(),
    stop: () => worker.stop(),
  };
}
