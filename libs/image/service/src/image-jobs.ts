import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  AD_SIZE_NAMES,
  decodeBase64,
  DomainError,
  imageRequestSchema,
  jobStreamId,
  type CommandEnvelope,
  type ImageJobInput,
  type ImageJobType,
  type ImageRequest,
  type JobCommand,
  type PhotoSource,
  type Principal,
} from '@switchyard/contracts';
import type { EventStore, EventStoreSession } from '@switchyard/event-store';
import { handleCommand, jobView, jobVisibleTo, type JobView } from '@switchyard/jobs';
import { findJob, listJobs } from '@switchyard/jobs-read-model';
import { submitJob } from '@switchyard/job-runtime';
import { imageJobDecider, imageJobFromRecord, refundDue, type ImageJob } from '@switchyard/image/domain';
import type { BlobStore } from '@switchyard/storage';
import type { CreditsPort, RetryOnConflict } from './ports';

export const newImageJobId = (): string => `img_${randomBytes(8).toString('hex')}`;

/** What the image service answers: the unified view, and the image job the dialect renders. */
export interface ImageJobDetails {
  job: JobView;
  imageJob: ImageJob;
}

const details = (imageJob: ImageJob): ImageJobDetails => ({ job: jobView(imageJob.lifecycle), imageJob });

export interface ImageJobsOptions {
  store: EventStore;
  db: Kysely<unknown>;
  blobs: BlobStore;
  credits: CreditsPort;
  retryOnConflict: RetryOnConflict;
  checkUrl: (url: string) => Promise<void>;
  templates: readonly string[];
  creditsPerImage: number;
  maxPhotoBytes: number;
}

export interface SubmitImages {
  jobType: ImageJobType;
  request: unknown;
}

type AdSizeName = (typeof AD_SIZE_NAMES)[number];

const SIZES: Record<AdSizeName, [number, number]> = { '1080x1080': [1080, 1080], '1200x628': [1200, 628], '1080x1920': [1080, 1920] };
const DEFAULT_IMAGES = 4;

function parseRequest(body: unknown): ImageRequest {
  const parsed = imageRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new DomainError('VALIDATION_FAILED', `${issue?.path.map(String).join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
}

/** The image service's commands: submit (debits the credits it costs), cancel, and reads. */
export class ImageJobs {
  constructor(private readonly options: ImageJobsOptions) {}

  async submit({ principal, payload, idempotencyKey, correlationId }: CommandEnvelope<SubmitImages>): Promise<ImageJobDetails> {
    const request = parseRequest(payload.request);
    const variants = this.variantsOf(payload.jobType, request);
    const photos = new Map<string, Buffer>();
    const source = async (url: string | undefined, base64: string | undefined, field: string): Promise<PhotoSource | undefined> => {
      if (base64 !== undefined) {
        const bytes = decodeBase64(base64);
        if (bytes.length > this.options.maxPhotoBytes) throw new DomainError('PAYLOAD_TOO_LARGE', `${field} is larger than ${this.options.maxPhotoBytes} bytes`);
        const key = `pending-${photos.size}`;
        photos.set(key, bytes);
        return { blobKey: key };
      }
      if (url !== undefined) {
        await this.options.checkUrl(url);
        return { url };
      }
      return undefined;
    };
    const productPhoto = await source(request.image_url, request.image_base64, 'image');
    const resolved: ImageJobInput['variants'] = [];
    for (const [index, variant] of variants.entries()) {
      const photo = (await source(variant.image_url, variant.image_base64, `variants.${index}.image`)) ?? productPhoto;
      if (!photo) throw new DomainError('VALIDATION_FAILED', `variants.${index}: no photo for this variant and none for the product`);
      const [width, height] = SIZES[variant.size] as [number, number];
      resolved.push({ template: variant.template, width, height, photo });
    }
    const creditsPerImage = this.options.creditsPerImage;
    const creditCost = resolved.length * creditsPerImage;

    const submit = () => {
      const stored = new Map<string, string>();
      return submitJob({
        store: this.options.store,
        decider: imageJobDecider,
        orgId: principal.orgId,
        newJobId: newImageJobId,
        submitCommand: (jobId): Extract<JobCommand, { type: 'SubmitJob' }> => {
          const input: ImageJobInput = {
            jobType: payload.jobType,
            asin: request.asin,
            title: request.title,
            bulletPoints: request.bullet_points,
            brandColors: request.brand_colors,
            variants: resolved.map((variant) =>
              'blobKey' in variant.photo ? { ...variant, photo: { blobKey: stored.get(variant.photo.blobKey) as string } } : variant,
            ),
            creditsPerImage,
            creditCost,
          };
          return {
            type: 'SubmitJob',
            data: {
              jobId,
              kind: 'image',
              orgId: principal.orgId,
              submittedBy: principal.userId,
              // Listing by ASIN is listing by the job's external id.
              externalId: request.asin,
              input: input as unknown as Record<string, unknown>,
              now: new Date().toISOString(),
            },
          };
        },
        metadata: { orgId: principal.orgId, actor: principal.userId, kind: 'image', correlationId },
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        requestFingerprint: payload,
        beforeSubmit: async (session: EventStoreSession) => {
          for (const [key, bytes] of photos) stored.set(key, await this.options.blobs.put(bytes, 'application/octet-stream', session.tx));
        },
        // The debit commits with the job, or neither does; nothing is debited for a refused job.
        afterSubmit: (session, jobId) =>
          creditCost > 0 ? this.options.credits.debit(session, principal.orgId, jobId, creditCost) : Promise.resolve(),
      });
    };
    // Concurrent submissions race on the organization's credits stream: the loser re-reads and re-decides.
    const { jobId } = await this.options.retryOnConflict(submit);
    return details(await this.visibleJob(principal, jobId));
  }

  async cancel({ principal, payload, correlationId }: CommandEnvelope<{ jobId: string }>): Promise<ImageJobDetails> {
    const job = await this.visibleJob(principal, payload.jobId);
    await this.options.retryOnConflict(() =>
      this.options.store.transaction(async (session) => {
        const { newState } = await handleCommand(
          session,
          jobStreamId(payload.jobId),
          { type: 'RequestCancellation', data: { by: principal.userId, now: new Date().toISOString() } },
          imageJobDecider,
          { metadata: { orgId: principal.orgId, actor: principal.userId, kind: 'image', correlationId }, maxAttempts: 1 },
        );
        // Cancelled before it ran: everything it cost comes back now, with the cancellation.
        if (newState.lifecycle.status === 'cancelled' && job.lifecycle.status !== 'cancelled') {
          const amount = refundDue(newState);
          if (amount > 0) await this.options.credits.refund(session, principal.orgId, payload.jobId, amount, 'cancelled');
        }
      }),
    );
    return details(await this.visibleJob(principal, payload.jobId));
  }

  async view(principal: Principal, jobId: string): Promise<ImageJob> {
    return this.visibleJob(principal, jobId);
  }

  async listByAsin(principal: Principal, asin: string): Promise<ImageJob[]> {
    const page = await listJobs(this.options.db, { principal, kind: 'image', externalId: asin, limit: 200 });
    return page.jobs.map((record) => imageJobFromRecord(record.lifecycle, record.kindState));
  }

  private variantsOf(jobType: ImageJobType, request: ImageRequest): ImageRequest['variants'] & object {
    const templates = this.options.templates;
    const variants =
      request.variants ??
      Array.from({ length: request.number_of_images ?? DEFAULT_IMAGES }, (_, i) => ({
        template: templates[i % templates.length] as string,
        // Scale makes the sizes a listing needs; Listing Builder varies the design at the square size.
        size: jobType === 'Scale' ? (AD_SIZE_NAMES[i % AD_SIZE_NAMES.length] as AdSizeName) : ('1080x1080' as const),
      }));
    for (const [index, variant] of variants.entries()) {
      if (!templates.includes(variant.template)) {
        throw new DomainError('UNKNOWN_TEMPLATE', `variants.${index}.template: ${variant.template} is not one of ${templates.join(', ')}`);
      }
    }
    return variants;
  }

  private async visibleJob(principal: Principal, jobId: string): Promise<ImageJob> {
    const record = await findJob(this.options.db, jobId);
    if (!record || record.lifecycle.kind !== 'image' || !jobVisibleTo(principal, record.lifecycle)) {
      throw new DomainError('JOB_NOT_FOUND', `Job ${jobId} not found`, { jobId });
    }
    return imageJobFromRecord(record.lifecycle, record.kindState);
  }
}

/** The image service's command handlers, served over NATS or in process alike. */
export const imageCommandHandlers = (jobs: ImageJobs) => ({
  submit: (envelope: CommandEnvelope<never>) => jobs.submit(envelope as CommandEnvelope<SubmitImages>),
  cancel: (envelope: CommandEnvelope<never>) => jobs.cancel(envelope as CommandEnvelope<{ jobId: string }>),
});
