import { isoInstant, type JobState } from '@switchyard/jobs';
import type { PrintContentType, PrintJobInput, PrintState } from '@switchyard/contracts';
import type { PrintJobState } from './print-state';

/** `result.content` of `GET /api/v1/jobs/{jobId}`, field for field as print-jobs.txt shows it. */
export interface PrintJobContent {
  jobId: string;
  printer: string;
  target: string;
  title: string;
  source: string | null;
  contentType: PrintContentType;
  size: number;
  state: PrintState;
  error: string | null;
  createdAt: string;
  completedAt: string | null;
  cupsJobId: string | null;
}

const WAITING_AT_PRINTER: readonly (string | null)[] = [null, 'pending', 'pending-held'];

/**
 * The printer is working on it: a raw socket is being written, or an IPP printer reports any state
 * past waiting (including the final one it reports just before the job itself is recorded ended).
 */
const printing = (print: PrintJobState, rawSocket: boolean): boolean =>
  rawSocket ? print.deliveryStarted : print.accepted && !WAITING_AT_PRINTER.includes(print.printerState);

/**
 * The dialect's four states from the lifecycle and the printer's side: waiting anywhere before the
 * printer works on it is `queued`; a cancelled or expired job reads as `failed` with its reason.
 */
export function printStateOf(lifecycle: JobState, print: PrintJobState, rawSocket: boolean): PrintState {
  switch (lifecycle.status) {
    case 'completed':
      return 'completed';
    case 'failed':
    case 'cancelled':
    case 'expired':
      return 'failed';
    case 'running':
      return printing(print, rawSocket) ? 'printing' : 'queued';
    default:
      return 'queued';
  }
}

function errorOf(lifecycle: JobState): string | null {
  switch (lifecycle.status) {
    case 'failed':
      return lifecycle.error?.message ?? 'Print failed';
    case 'cancelled':
      return 'Job was cancelled';
    case 'expired':
      return 'Job expired before it could print';
    default:
      return null;
  }
}

export function printJobView(lifecycle: JobState, print: PrintJobState): PrintJobContent {
  const input = lifecycle.input as unknown as PrintJobInput;
  const rawSocket = input.printerUri?.startsWith('socket://') ?? false;
  return {
    jobId: lifecycle.jobId as string,
    printer: input.printer,
    target: input.target,
    title: input.title,
    source: input.source ?? null,
    contentType: input.contentType,
    size: print.fetchedSize ?? input.size,
    state: printStateOf(lifecycle, print, rawSocket),
    error: errorOf(lifecycle),
    createdAt: isoInstant(lifecycle.submittedAt) as string,
    completedAt: isoInstant(lifecycle.finishedAt),
    // CUPS names a job <printer>-<id> (print-jobs.txt: "ProxyBox_Labels-42").
    cupsJobId: print.printerJobId === null ? null : `${input.printer}-${print.printerJobId}`,
  };
}
