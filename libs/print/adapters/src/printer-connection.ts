import { DomainError, type IppJobState } from '@switchyard/contracts';
import { IppPrinter, type IppCancelResult, type IppJobStatus, type IppPrinterOptions } from './ipp-printer';
import { RawSocketPrinter, type RawSocketPrinterOptions } from './raw-socket-printer';
import { parsePrinterUri, type PrinterUri } from './printer-uri';

export interface PrinterReadiness {
  state: 'idle' | 'processing' | 'stopped' | 'unknown';
  stateReasons: string[];
  acceptingJobs: boolean;
  /** 'any' for a raw socket printer: it takes bytes and never says what it understands. */
  documentFormats: string[] | 'any';
  name?: string;
}

export interface PrinterSubmission {
  document: Buffer;
  format: string;
  /** Unique per job: `find` looks for it after a crash. */
  jobName: string;
  userName?: string;
}

export interface PrinterSubmitResult {
  /** The printer's own job id; null for a raw socket printer, which has none. */
  printerJobId: number | null;
  /** A raw socket printer's job is 'completed' on delivery. */
  state: IppJobState;
  /** Bytes handed to the printer (the document's size for IPP). */
  bytesWritten: number;
}

/** After a crash between "delivery started" and "accepted": did the printer get the job? */
export type PrinterJobLookup =
  | { kind: 'found'; printerJobId: number }
  | { kind: 'absent' }
  /** A raw socket printer keeps no job list: whether it printed cannot be known. */
  | { kind: 'unknowable' };

/** One face for both kinds of printer, so the print service needs no branch on the kind. */
export interface PrinterConnection {
  readonly uri: PrinterUri;
  /** Whether the printer gives job ids, states, cancellation (IPP) or only takes bytes (raw socket). */
  readonly tracksJobs: boolean;
  /**
   * Pre-flight: reachable, accepting jobs and, when `format` is given, accepting that format.
   * Throws PRINTER_UNREACHABLE / PRINTER_TIMEOUT / PRINTER_REJECTED (not accepting jobs) / FORMAT_NOT_SUPPORTED.
   */
  probe(format?: string): Promise<PrinterReadiness>;
  submit(submission: PrinterSubmission): Promise<PrinterSubmitResult>;
  /** Only when `tracksJobs`. */
  status(printerJobId: number): Promise<IppJobStatus>;
  /** Only when `tracksJobs`. */
  cancel(printerJobId: number): Promise<IppCancelResult>;
  find(jobName: string): Promise<PrinterJobLookup>;
}

export interface PrinterConnectionOptions extends IppPrinterOptions, RawSocketPrinterOptions {}

/** The connection for a printer URI (ipp://, ipps://, socket://). */
export function printerFor(uri: string | PrinterUri, options: PrinterConnectionOptions = {}): PrinterConnection {
  const parsed = typeof uri === 'string' ? parsePrinterUri(uri) : uri;
  if (parsed.kind === 'ipp') {
    const printer = new IppPrinter(parsed, options);
    return {
      uri: parsed,
      tracksJobs: true,
      async probe(format) {
        const attributes = await printer.getPrinterAttributes();
        if (!attributes.acceptingJobs) {
          throw new DomainError('PRINTER_REJECTED', `the printer ${parsed.uri} is not accepting jobs`, {
            stateReasons: attributes.stateReasons,
          });
        }
        if (format !== undefined && !attributes.documentFormats.includes(format)) {
          throw new DomainError('FORMAT_NOT_SUPPORTED', `the printer ${parsed.uri} does not accept ${format}`, {
            format,
            documentFormats: attributes.documentFormats,
          });
        }
        return attributes;
      },
      async submit(submission) {
        const job = await printer.printJob(submission);
        return { ...job, bytesWritten: submission.document.length };
      },
      status: (printerJobId) => printer.getJob(printerJobId),
      cancel: (printerJobId) => printer.cancelJob(printerJobId),
      async find(jobName) {
        const printerJobId = await printer.findJobByName(jobName);
        return printerJobId === null ? { kind: 'absent' } : { kind: 'found', printerJobId };
      },
    };
  }

  const printer = new RawSocketPrinter(parsed.host, parsed.port, options);
  const noJobs = (): never => {
    throw new TypeError(`a raw socket printer (${parsed.uri}) has no jobs to ask about: check tracksJobs`);
  };
  return {
    uri: parsed,
    tracksJobs: false,
    async probe() {
      await printer.probe();
      return { state: 'unknown', stateReasons: [], acceptingJobs: true, documentFormats: 'any' };
    },
    async submit(submission) {
      const { bytesWritten } = await printer.send(submission.document);
      return { printerJobId: null, state: 'completed', bytesWritten };
    },
    status: async () => noJobs(),
    cancel: async () => noJobs(),
    find: async () => ({ kind: 'unknowable' }),
  };
}
