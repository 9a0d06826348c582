import { DomainError, type JobKind, type Principal } from '@switchyard/contracts';
import { jobView, jobVisibleTo, type JobView } from '@switchyard/jobs';
import type { JobReader, JobRecord } from '@switchyard/jobs-read-model';
import { printDetails } from '@switchyard/print/service';
import type { PrintJobContent } from '@switchyard/print/domain';

/** The service that owns each kind: commands go to `cmd.<service>.<command>`. */
export const SERVICE_FOR_KIND: Readonly<Record<JobKind, string>> = {
  print: 'print',
  image: 'image',
  publish: 'publish',
  document: 'document',
  workflow: 'workflow',
};

export const jobNotFound = (jobId: string): DomainError =>
  new DomainError('JOB_NOT_FOUND', `No job with ID: ${jobId}`, { jobId });

/** The job if the caller may see it; another organization's job, or another member's, is not found. */
export async function visibleJob(jobs: JobReader, principal: Principal, jobId: string): Promise<JobRecord> {
  const record = await jobs.find(jobId);
  if (!record || !jobVisibleTo(principal, record.lifecycle)) throw jobNotFound(jobId);
  return record;
}

/** A job in the unified API: the lifecycle view, and the kind's own view beside it. */
export interface JobResponse {
  job: JobView;
  print?: PrintJobContent;
}

export function jobResponse(record: JobRecord): JobResponse {
  if (record.lifecycle.kind === 'print') return printDetails(record);
  return { job: jobView(record.lifecycle) };
}

/** A service's answer to submit/cancel/resume: `{job, <kind>?}` as print answers, or a bare JobView. */
export function asJobResponse(value: unknown): JobResponse {
  if (typeof value === 'object' && value !== null && 'job' in value) {
    // Only the views the unified API shows; a service may answer more (the image job's state).
    const { job, print } = value as JobResponse;
    return print === undefined ? { job } : { job, print };
  }
  return { job: value as JobView };
}
