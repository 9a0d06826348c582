import type { Principal } from '@switchyard/contracts';
import type { JobState } from './job-state';

/** A member sees the jobs it submitted; curators and admins see every job of their organization. */
export const jobVisibleTo = (principal: Principal, state: JobState): boolean =>
  state.exists &&
  state.orgId === principal.orgId &&
  (principal.role !== 'member' || state.submittedBy === principal.userId);

/** A job as the unified `/v1` API shows it, whatever its kind. */
export interface JobView {
  id: string;
  kind: string;
  status: string;
  progress: number;
  attempts: number;
  priority: number;
  externalId: string | null;
  submittedBy: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  runAt: string | null;
  cancellationRequested: boolean;
  partial: boolean;
  error: { code: string; message: string } | null;
  failedItems: { item: string; code: string; message: string }[];
  outputs: Record<string, unknown>;
  result: unknown;
}

/** What `Date.prototype.toISOString` writes: UTC, with milliseconds. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * An instant as the APIs show it, in the form `toISOString` writes. What the services record is in
 * that form already and is passed as it is (a status read shows up to seven instants; parsing and
 * writing each again was 6 % of the gateway's CPU); anything else is parsed and written anew.
 */
export const isoInstant = (value: string | null): string | null =>
  value === null || ISO_INSTANT.test(value) ? value : new Date(value).toISOString();

export function jobView(state: JobState): JobView {
  return {
    id: state.jobId as string,
    kind: state.kind as string,
    status: state.status as string,
    progress: state.progress,
    attempts: state.attempts,
    priority: state.priority,
    externalId: state.externalId,
    submittedBy: state.submittedBy,
    createdAt: isoInstant(state.submittedAt) as string,
    updatedAt: isoInstant(state.updatedAt ?? state.submittedAt) as string,
    startedAt: isoInstant(state.startedAt),
    finishedAt: isoInstant(state.finishedAt),
    runAt: state.status === 'scheduled' ? isoInstant(state.runAt) : null,
    cancellationRequested: state.cancellation.requested,
    partial: state.partial,
    error: state.error,
    failedItems: [...state.failedItems],
    outputs: { ...state.outputs },
    result: state.result ?? null,
  };
}
