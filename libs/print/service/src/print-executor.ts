import { setTimeout as delay } from 'node:timers/promises';
import { isDomainError, jobStreamId, type IppJobState, type PrintJobInput } from '@switchyard/contracts';
import type { EventStore } from '@switchyard/event-store';
import { handleCommands } from '@switchyard/jobs';
import type { ClaimedJob, ExecutorOutcome, JobExecutor, RuntimeLogger } from '@switchyard/job-runtime';
import {
  checkDocument,
  documentFormatFor,
  evolvePrintJob,
  initialPrintJob,
  printJobDecider,
  type PrintJob,
  type PrintJobCommand,
} from '@switchyard/print/domain';
import type { BlobStore } from '@switchyard/storage';
import type { PrinterConnection } from '@switchyard/print/adapters';
import type { DocumentFetcher, PrinterFactory } from './printer-port';

export interface PrintExecutorOptions {
  store: EventStore;
  blobs: BlobStore;
  printerFor: PrinterFactory;
  fetchDocument: DocumentFetcher;
  /** How often a printer is asked about a job it holds; the gateway's view lags it by no more. */
  followIntervalMs?: number;
  /** How long a printer may stay unreachable while it holds a job before the job fails. */
  unreachableGraceMs?: number;
  /** How long a job waits before offering itself again to a printer that answered busy. */
  busyRetryMs?: number;
  logger?: RuntimeLogger;
}

const now = (): string => new Date().toISOString();
const FINAL_PRINTER_STATES: readonly IppJobState[] = ['completed', 'aborted', 'canceled'];

/** The job's printer-side name: how it is found on the printer again after a crash. */
export const printerJobName = (jobId: string): string => jobId;

/** A failure to report on the job: a DomainError's code and message, or INTERNAL. */
const failureOf = (error: unknown): { code: string; message: string } =>
  isDomainError(error) ? { code: error.code, message: error.message } : { code: 'INTERNAL', message: String(error) };

/**
 * Prints a job: fetches or loads its document, pre-flights the printer, records that delivery
 * starts, sends it, and follows the printer's state until the job ends, cancelling at the printer
 * when the job's cancellation is requested. After a crash, `resume` never sends a job the printer
 * may already hold.
 */
export class PrintExecutor implements JobExecutor<PrintJob> {
  private readonly followIntervalMs: number;
  private readonly unreachableGraceMs: number;
  private readonly busyRetryMs: number;
  /** Each running job's stream as this executor last read or wrote it: its next decision reads nothing. */
  private readonly known = new Map<string, { state: PrintJob; version: number }>();

  constructor(private readonly options: PrintExecutorOptions) {
    this.followIntervalMs = options.followIntervalMs ?? 250;
    this.unreachableGraceMs = options.unreachableGraceMs ?? 30_000;
    this.busyRetryMs = options.busyRetryMs ?? 500;
  }

  async run(jobId: string, signal: AbortSignal, claimed?: ClaimedJob<PrintJob>): Promise<ExecutorOutcome> {
    try {
      if (claimed) this.known.set(jobId, claimed);
      const job = claimed?.state ?? (await this.load(jobId));
      if (job.lifecycle.status !== 'running') return job.lifecycle.status;
      await this.deliver(jobId, job, signal);
      return this.known.get(jobId)?.state.lifecycle.status;
    } finally {
      this.known.delete(jobId);
    }
  }

  async resume(jobId: string, signal: AbortSignal): Promise<ExecutorOutcome> {
    try {
      await this.takeOver(jobId, signal);
      return this.known.get(jobId)?.state.lifecycle.status;
    } finally {
      this.known.delete(jobId);
    }
  }

  private async takeOver(jobId: string, signal: AbortSignal): Promise<void> {
    const job = await this.load(jobId);
    if (job.lifecycle.status !== 'running') return;
    const input = job.lifecycle.input as unknown as PrintJobInput;
    const printer = this.options.printerFor(input.printerUri);
    if (job.print.accepted) {
      if (!printer.tracksJobs) return this.decide(jobId, { type: 'CompleteJob', data: { now: now() } });
      return this.follow(jobId, printer, signal);
    }
    if (!job.print.deliveryStarted) return this.deliver(jobId, job, signal);
    // Sent, but was it taken? Ask the printer before sending it again.
    const lookup = await printer.find(printerJobName(jobId));
    switch (lookup.kind) {
      case 'absent':
        return this.deliver(jobId, job, signal, { resend: true });
      case 'found':
        await this.decide(jobId, { type: 'RecordPrinterAcceptance', data: { printerJobId: String(lookup.printerJobId), now: now() } });
        return this.follow(jobId, printer, signal);
      case 'unknowable':
        return this.fail(jobId, 'DELIVERY_UNCERTAIN', 'the print service stopped while sending to the printer; not sent again, so that nothing prints twice');
    }
  }

  private async deliver(jobId: string, job: PrintJob, signal: AbortSignal, { resend = false } = {}): Promise<void> {
    if (job.lifecycle.cancellation.requested) return this.decide(jobId, { type: 'ConfirmCancellation', data: { now: now() } });
    const input = job.lifecycle.input as unknown as PrintJobInput;
    const format = documentFormatFor(input.contentType);
    const printer = this.options.printerFor(input.printerUri);
    let document: Buffer;
    try {
      document = await this.document(jobId, job, input);
      checkDocument(input.contentType, document);
      await printer.probe(format);
    } catch (error) {
      const { code, message } = failureOf(error);
      return this.fail(jobId, code, message);
    }
    if (signal.aborted) return;
    if (!resend) await this.decide(jobId, { type: 'StartDelivery', data: { now: now() } });
    let printerJobId: string | null;
    for (;;) {
      try {
        const submitted = await printer.submit({ document, format, jobName: printerJobName(jobId) });
        printerJobId = submitted.printerJobId === null ? null : String(submitted.printerJobId);
        break;
      } catch (error) {
        if (!isDomainError(error, 'PRINTER_BUSY')) {
          const { code, message } = failureOf(error);
          return this.fail(jobId, code, message);
        }
      }
      // A printer that holds one job at a time: the job waits its turn (still queued), unless cancelled.
      await delay(this.busyRetryMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      if ((await this.load(jobId)).lifecycle.cancellation.requested) {
        return this.decide(jobId, { type: 'ConfirmCancellation', data: { now: now() } });
      }
    }
    // A raw socket printer took every byte: that is its completion. It keeps no job of its own, so
    // there is no acceptance to record beside it.
    if (!printer.tracksJobs || printerJobId === null) return this.decide(jobId, { type: 'CompleteJob', data: { now: now() } });
    await this.decide(jobId, { type: 'RecordPrinterAcceptance', data: { printerJobId, now: now() } });
    return this.follow(jobId, printer, signal);
  }

  private async document(jobId: string, job: PrintJob, input: PrintJobInput): Promise<Buffer> {
    if (input.document !== undefined) return Buffer.from(input.document, 'base64');
    const key = job.print.documentKey ?? input.documentKey;
    if (key) {
      const blob = await this.options.blobs.get(key);
      if (!blob) throw new Error(`document ${key} of job ${jobId} is missing`);
      return blob.bytes;
    }
    const { bytes } = await this.options.fetchDocument(input.url as string);
    const documentKey = await this.options.blobs.put(bytes, documentFormatFor(input.contentType));
    await this.decide(jobId, { type: 'RecordDocumentFetched', data: { size: bytes.length, documentKey, now: now() } });
    return bytes;
  }

  /** Follows the printer until the job ends there; cancels it there when asked to. */
  private async follow(jobId: string, printer: PrinterConnection, signal: AbortSignal): Promise<void> {
    const printerJobId = Number((await this.load(jobId)).print.printerJobId);
    let unreachableSince: number | null = null;
    let cancelSent = false;
    while (!signal.aborted) {
      const job = await this.load(jobId);
      if (job.lifecycle.status !== 'running') return;
      if (job.lifecycle.cancellation.requested && !cancelSent) {
        cancelSent = true;
        await printer.cancel(printerJobId).catch((error: unknown) => this.options.logger?.warn({ jobId, err: error }, 'cancel at the printer failed'));
      }
      let report: { state: IppJobState; message?: string };
      try {
        const status = await printer.status(printerJobId);
        report = status.stateMessage === undefined ? { state: status.state } : { state: status.state, message: status.stateMessage };
        unreachableSince = null;
      } catch (error) {
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > this.unreachableGraceMs) {
          const { code, message } = failureOf(error);
          return this.fail(jobId, code, message);
        }
        await delay(this.followIntervalMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      await this.decide(jobId, {
        type: 'RecordPrinterState',
        data: report.message === undefined ? { printerState: report.state, now: now() } : { printerState: report.state, message: report.message, now: now() },
      });
      if (FINAL_PRINTER_STATES.includes(report.state)) return this.finish(jobId, job, report);
      await delay(this.followIntervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  private finish(jobId: string, job: PrintJob, report: { state: IppJobState; message?: string }): Promise<void> {
    if (report.state === 'completed') return this.decide(jobId, { type: 'CompleteJob', data: { now: now() } });
    if (report.state === 'canceled' && job.lifecycle.cancellation.requested) {
      return this.decide(jobId, { type: 'ConfirmCancellation', data: { now: now() } });
    }
    const message = report.message ?? (report.state === 'canceled' ? 'the job was canceled at the printer' : 'the printer aborted the job');
    return this.fail(jobId, 'PRINTER_REJECTED', message);
  }

  private fail(jobId: string, code: string, message: string): Promise<void> {
    return this.decide(jobId, { type: 'FailJob', data: { code, message, now: now() } });
  }

  private async load(jobId: string): Promise<PrintJob> {
    const { events, currentVersion } = await this.options.store.readStream(jobStreamId(jobId));
    const state = events.reduce(evolvePrintJob, initialPrintJob());
    this.known.set(jobId, { state, version: currentVersion });
    return state;
  }

  /** Records what happened, all of it in one append. */
  private async decide(jobId: string, ...commands: PrintJobCommand[]): Promise<void> {
    const known = this.known.get(jobId);
    try {
      const result = await handleCommands(this.options.store, jobStreamId(jobId), commands, printJobDecider, {
        metadata: { kind: 'print' },
        ...(known ? { known } : {}),
      });
      this.known.set(jobId, { state: result.newState, version: result.nextExpectedVersion });
    } catch (error) {
      this.known.delete(jobId);
      // The job ended meanwhile (cancelled, say): what we meant to record no longer applies.
      if (isDomainError(error, 'JOB_FINISHED')) return;
      throw error;
    }
  }
}
