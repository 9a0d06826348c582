import type { ImageJobType } from '@switchyard/contracts';
import { isoInstant } from '@switchyard/jobs';
import { inputOf, refundDue, type ImageJob } from './image-job';

/** GET /v1/api/jobs/{job_id}, field for field as image-generation-jobs.txt lists them. */
export interface ImageJobView {
  id: string;
  job_type: ImageJobType;
  status: 'pending' | 'processing' | 'completed' | 'failed';
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  credit_cost: number;
  credits_refunded: number;
  output: { ads: { preview_url: string | null; error: { code: string; message: string } | null }[] } | null;
  error_code: string | null;
}

function statusOf(job: ImageJob): ImageJobView['status'] {
  switch (job.lifecycle.status) {
    case 'completed':
      return 'completed';
    case 'failed':
    case 'cancelled':
    case 'expired':
      return 'failed';
    case 'running':
    case 'blocked':
      return 'processing';
    default:
      return 'pending';
  }
}

const errorCodeOf = (job: ImageJob): string | null => {
  switch (job.lifecycle.status) {
    case 'failed':
      return job.lifecycle.error?.code ?? 'RENDER_FAILED';
    case 'cancelled':
      return 'CANCELLED';
    case 'expired':
      return 'EXPIRED';
    default:
      return null;
  }
};

/**
 * The image dialect's job. `previewUrl` signs the link to one rendered image; the link lives
 * until 7 days after completion (the caller decides the expiry from `completed_at`).
 */
export function imageJobView(job: ImageJob, previewUrl: (index: number) => string): ImageJobView {
  const status = statusOf(job);
  const input = inputOf(job);
  return {
    id: job.lifecycle.jobId as string,
    job_type: input.jobType,
    status,
    created_at: isoInstant(job.lifecycle.submittedAt) as string,
    started_at: isoInstant(job.lifecycle.startedAt),
    completed_at: isoInstant(job.lifecycle.finishedAt),
    credit_cost: input.creditCost,
    credits_refunded: refundDue(job),
    output:
      status === 'completed'
        ? {
            ads: job.variants.map((variant, index) => ({
              preview_url: variant.status === 'rendered' ? previewUrl(index) : null,
              error: variant.status === 'failed' ? { code: variant.code, message: variant.message } : null,
            })),
          }
        : null,
    error_code: errorCodeOf(job),
  };
}
