import { DomainError, IPP_JOB_STATES, type IppJobState } from '@switchyard/contracts';
import {
  ippBoolean,
  ippExchange,
  ippInteger,
  ippStrings,
  ippText,
  type IppEndpoint,
  type IppReply,
  type IppRequest,
  type IppTlsOptions,
} from './ipp-wire';
import { parsePrinterUri, type IppPrinterUri } from './printer-uri';

export type { IppJobState } from '@switchyard/contracts';
export type { IppTlsOptions } from './ipp-wire';

export type IppPrinterState = 'idle' | 'processing' | 'stopped';

export interface IppPrinterAttributes {
  state: IppPrinterState;
  stateReasons: string[];
  documentFormats: string[];
  name?: string;
  acceptingJobs: boolean;
}

export interface IppPrintRequest {
  document: Buffer;
  /** IPP document-format: 'application/pdf' or 'application/octet-stream' (raw, printer-detected). */
  format: string;
  /** Also the key findJobByName looks for after a crash: make it unique per job. */
  jobName: string;
  userName?: string;
}

export interface IppSubmittedJob {
  printerJobId: number;
  state: IppJobState;
}

export interface IppJobStatus {
  state: IppJobState;
  stateReasons: string[];
  stateMessage?: string;
  /** When the job reached a terminal state (to the second, from the printer's clock). */
  completedAt?: Date;
}

/** What Cancel-Job did: a job that had already ended is a result, not an error. */
export type IppCancelResult =
  | { outcome: 'canceled' }
  | { outcome: 'already-ended'; state: IppJobState }
  | { outcome: 'not-found' };

export interface IppPrinterOptions {
  /** Deadline of each operation, from connect to the last byte of the reply. Default 5000. */
  timeoutMs?: number;
  /** Deadline of Print-Job, which carries the document. Default max(timeoutMs, 60000). */
  submitTimeoutMs?: number;
  /** requesting-user-name when a call gives none. Default 'switchyard'. */
  userName?: string;
  tls?: IppTlsOptions;
}

export const TERMINAL_IPP_JOB_STATES: readonly IppJobState[] = ['canceled', 'aborted', 'completed'];
export const isTerminalIppJobState = (state: IppJobState): boolean => TERMINAL_IPP_JOB_STATES.includes(state);

const PRINTER_STATES: readonly IppPrinterState[] = ['idle', 'processing', 'stopped'];
const STATUS_NOT_FOUND = 0x0406;
const STATUS_NOT_POSSIBLE = 0x0404;
const STATUS_FORMAT_NOT_SUPPORTED = 0x040a;
const STATUS_ATTRIBUTES_NOT_SUPPORTED = 0x040b;
const STATUS_SERVER_BUSY = 0x0507;
// IPP `name` values are at most 255 octets; printJob and findJobByName must cut names the same way.
const MAX_NAME_BYTES = 255;

/** A printer spoken to over IPP (ipp://, ipps://): Print-Job, Get-Job-Attributes, Get-Jobs, Cancel-Job. */
export class IppPrinter {
  readonly uri: IppPrinterUri;
  private readonly endpoint: IppEndpoint;
  private readonly timeoutMs: number;
  private readonly submitTimeoutMs: number;
  private readonly userName: string;

  constructor(uri: string | IppPrinterUri, options: IppPrinterOptions = {}) {
    const parsed = typeof uri === 'string' ? parsePrinterUri(uri) : uri;
    if (parsed.kind !== 'ipp') {
      throw new DomainError('VALIDATION_FAILED', `not an IPP printer URI: ${parsed.uri}`, { uri: parsed.uri });
    }
    this.uri = parsed;
    this.endpoint = {
      secure: parsed.scheme === 'ipps',
      host: parsed.host,
      port: parsed.port,
      path: parsed.path,
      printerUri: parsed.uri,
      ...(options.tls ? { tls: options.tls } : {}),
    };
    this.timeoutMs = positive(options.timeoutMs ?? 5000, 'timeoutMs');
    this.submitTimeoutMs = positive(options.submitTimeoutMs ?? Math.max(this.timeoutMs, 60_000), 'submitTimeoutMs');
    this.userName = ippName(options.userName ?? 'switchyard');
  }

  async getPrinterAttributes(): Promise<IppPrinterAttributes> {
    const reply = await this.call({
      operation: 'Get-Printer-Attributes',
      attributes: {
        'requested-attributes': [
          'printer-state',
          'printer-state-reasons',
          'document-format-supported',
          'printer-name',
          'printer-is-accepting-jobs',
        ],
      },
    });
    const printer = reply.printerAttributes;
    const rawState = printer['printer-state'];
    const name = ippText(printer['printer-name']);
    return {
      state: PRINTER_STATES.find((state) => state === rawState) ?? 'stopped',
      stateReasons: reasons(printer['printer-state-reasons']),
      documentFormats: ippStrings(printer['document-format-supported']),
      ...(name !== undefined ? { name } : {}),
      // Absent means the printer did not say; only an explicit false stops us.
      acceptingJobs: ippBoolean(printer['printer-is-accepting-jobs']) ?? true,
    };
  }

  /**
   * Print-Job. A PRINTER_TIMEOUT whose details say `requestSent: true` leaves it open whether the printer
   * took the job: ask findJobByName before sending it again.
   */
  async printJob(request: IppPrintRequest): Promise<IppSubmittedJob> {
    if (request.document.length === 0) throw new DomainError('INVALID_CONTENT', 'the document is empty');
    const reply = await this.call(
      {
        operation: 'Print-Job',
        attributes: {
          'requesting-user-name': request.userName !== undefined ? ippName(request.userName) : this.userName,
          'job-name': ippName(request.jobName),
          'document-format': request.format,
        },
        document: request.document,
      },
      this.submitTimeoutMs,
    );
    const job = reply.jobs[0] ?? {};
    const printerJobId = ippInteger(job['job-id']);
    if (printerJobId === undefined) {
      throw new DomainError('PRINTER_REJECTED', 'the printer accepted Print-Job but sent no job-id', {
        ippStatus: reply.statusName,
      });
    }
    return { printerJobId, state: jobState(job['job-state']) ?? 'pending' };
  }

  async getJob(printerJobId: number): Promise<IppJobStatus> {
    const reply = await this.call({
      operation: 'Get-Job-Attributes',
      attributes: {
        'job-id': jobId(printerJobId),
        'requested-attributes': [
          'job-state',
          'job-state-reasons',
          'job-state-message',
          'time-at-completed',
          'job-printer-up-time',
        ],
      },
    });
    const job = reply.jobs[0] ?? {};
    const state = jobState(job['job-state']);
    if (state === undefined) {
      throw new DomainError('PRINTER_REJECTED', `the printer sent no job-state for job ${printerJobId}`);
    }
    const stateMessage = ippText(job['job-state-message']);
    const completedAt = isTerminalIppJobState(state) ? completionDate(job) : undefined;
    return {
      state,
      stateReasons: reasons(job['job-state-reasons']),
      ...(stateMessage ? { stateMessage } : {}),
      ...(completedAt ? { completedAt } : {}),
    };
  }

  async cancelJob(printerJobId: number): Promise<IppCancelResult> {
    const reply = await this.call(
      {
        operation: 'Cancel-Job',
        attributes: { 'job-id': jobId(printerJobId), 'requesting-user-name': this.userName },
      },
      this.timeoutMs,
      [STATUS_NOT_FOUND, STATUS_NOT_POSSIBLE],
    );
    if (reply.successful) return { outcome: 'canceled' };
    if (reply.status === STATUS_NOT_FOUND) return { outcome: 'not-found' };
    // not-possible: the job has ended (or cannot be canceled); its state tells which.
    const { state } = await this.getJob(printerJobId);
    if (isTerminalIppJobState(state)) return { outcome: 'already-ended', state };
    throw rejected(reply, 'Cancel-Job');
  }

  /** Every job the printer still remembers: its id and name. */
  async jobs(): Promise<Array<{ printerJobId: number; name: string }>> {
    let jobs: Array<Record<string, unknown>>;
    try {
      jobs = await this.getJobs('all');
    } catch (error) {
      // 'all' is optional in IPP/1.1; every printer knows 'completed' and 'not-completed'.
      if (!(error instanceof DomainError) || error.details?.['ippStatusCode'] !== STATUS_ATTRIBUTES_NOT_SUPPORTED) throw error;
      jobs = [...(await this.getJobs('not-completed')), ...(await this.getJobs('completed'))];
    }
    return jobs.flatMap((job) => {
      const printerJobId = ippInteger(job['job-id']);
      return printerJobId === undefined ? [] : [{ printerJobId, name: ippText(job['job-name']) ?? '' }];
    });
  }

  /** The newest job of that name the printer still remembers, or null. */
  async findJobByName(jobName: string): Promise<number | null> {
    const wanted = ippName(jobName);
    let found: number | null = null;
    for (const job of await this.jobs()) {
      if (job.name === wanted && (found === null || job.printerJobId > found)) found = job.printerJobId;
    }
    return found;
  }

  private async getJobs(which: 'all' | 'completed' | 'not-completed'): Promise<Array<Record<string, unknown>>> {
    const reply = await this.call({
      operation: 'Get-Jobs',
      attributes: {
        'requesting-user-name': this.userName,
        'which-jobs': which,
        'requested-attributes': ['job-id', 'job-name'],
      },
    });
    return reply.jobs;
  }

  private async call(request: IppRequest, timeoutMs = this.timeoutMs, tolerated: number[] = []): Promise<IppReply> {
    const reply = await ippExchange(this.endpoint, request, timeoutMs);
    if (reply.successful || tolerated.includes(reply.status)) return reply;
    throw rejected(reply, request.operation);
  }
}

function rejected(reply: IppReply, operation: string): DomainError {
  const message = reply.statusMessage ?? `${operation} failed: ${reply.statusName}`;
  const details = { ippStatus: reply.statusName, ippStatusCode: reply.status, operation };
  // Printers answer a format they do not take with either status; the second names the attribute.
  const formatRefused =
    reply.status === STATUS_FORMAT_NOT_SUPPORTED ||
    (reply.status === STATUS_ATTRIBUTES_NOT_SUPPORTED &&
      ('document-format' in reply.unsupportedAttributes || /document-format/i.test(reply.statusMessage ?? '')));
  if (formatRefused) return new DomainError('FORMAT_NOT_SUPPORTED', message, details);
  // server-error-busy: a printer that holds one job at a time asks us to come back later.
  if (reply.status === STATUS_SERVER_BUSY) return new DomainError('PRINTER_BUSY', message, details);
  return new DomainError('PRINTER_REJECTED', message, details);
}

const jobState = (value: unknown): IppJobState | undefined => IPP_JOB_STATES.find((state) => state === value);

/** printer-state-reasons / job-state-reasons, without the 'none' that means "no reasons". */
const reasons = (value: unknown): string[] => ippStrings(value).filter((reason) => reason !== 'none');

// ipp decodes IPP dateTime a month off; time-at-completed and job-printer-up-time are plain seconds
// on the printer's uptime clock, so their difference is how long ago the job ended.
function completionDate(job: Record<string, unknown>): Date | undefined {
  const completed = ippInteger(job['time-at-completed']);
  const now = ippInteger(job['job-printer-up-time']);
  // ippeveprinter counts from 0, so a job done in its first second has time-at-completed 0.
  if (completed === undefined || now === undefined || completed < 0 || completed > now) return undefined;
  return new Date(Date.now() - (now - completed) * 1000);
}

function jobId(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) throw new RangeError(`not an IPP job-id: ${value}`);
  return value;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of ms`);
  return value;
}

/** A valid IPP name: no control characters (ipp would pick the with-language form on \u001e), ≤ 255 octets. */
export function ippName(value: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, ' ');
  if (Buffer.byteLength(clean) <= MAX_NAME_BYTES) return clean;
  let name = '';
  let bytes = 0;
  for (const char of clean) {
    bytes += Buffer.byteLength(char);
    if (bytes > MAX_NAME_BYTES) break;
    name += char;
  }
  return name;
}
