import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  DomainError,
  jobStreamId,
  parsePrintRequest,
  printRequestSchema,
  registerPrinterSchema,
  type CommandEnvelope,
  type JobCommand,
  type Principal,
  type PrinterView,
  type PrintJobInput,
} from '@switchyard/contracts';
import type { EventStore, EventStoreSession } from '@switchyard/event-store';
import { handleCommand, jobVisibleTo, jobView, type JobView } from '@switchyard/jobs';
import { findJob, type JobRecord } from '@switchyard/jobs-read-model';
import { submitJob, type ClaimedJob } from '@switchyard/job-runtime';
import {
  checkDocument,
  decodeBase64Document,
  documentFormatFor,
  INLINE_DOCUMENT_MAX_BYTES,
  isUrlContent,
  printJobDecider,
  printJobView,
  type PrintJob,
  type PrintJobContent,
  type PrintJobState,
} from '@switchyard/print/domain';
import type { BlobStore } from '@switchyard/storage';
import type { PrinterRegistry, RegisteredPrinter } from './printers';

/** `pj_` and 8 hex digits, as print-jobs.txt shows; a taken id is replaced at submission. */
export const newPrintJobId = (): string => `pj_${randomBytes(4).toString('hex')}`;

export interface PrintJobDetails {
  job: JobView;
  print: PrintJobContent;
}

export const printDetails = (record: JobRecord): PrintJobDetails => ({
  job: jobView(record.lifecycle),
  print: printJobView(record.lifecycle, record.kindState as PrintJobState),
});

export interface PrintJobsOptions {
  store: EventStore;
  db: Kysely<unknown>;
  blobs: BlobStore;
  printers: PrinterRegistry;
  /** Refuses a URL the service must not fetch (private, loopback, link-local, unless configured). */
  checkUrl: (url: string) => Promise<void>;
  maxDocumentBytes: number;
  /** Told of each job a request created, as its submission decided it (the worker claims it without a read). */
  onSubmitted?: (jobId: string, job: ClaimedJob<PrintJob>) => void;
}

export interface SubmitPrint {
  target: string;
  request: unknown;
}

const validation = (message: string, details?: Record<string, unknown>): DomainError =>
  new DomainError('VALIDATION_FAILED', message, details);

/** The print service's commands: what the gateway sends over NATS (or calls in process). */
export class PrintJobs {
  constructor(private readonly options: PrintJobsOptions) {}

  async submit({ principal, payload, idempotencyKey, correlationId }: CommandEnvelope<SubmitPrint>): Promise<PrintJobDetails> {
    const request = parsePrintRequest(printRequestSchema, payload.request);
    const printer = await this.options.printers.resolve(principal.orgId, payload.target);

    let document: Buffer | undefined;
    if (isUrlContent(request.contentType)) {
      await this.options.checkUrl(request.content);
    } else {
      document = decodeBase64Document(request.content);
      if (document.length > this.options.maxDocumentBytes) {
        throw new DomainError('PAYLOAD_TOO_LARGE', `the document is larger than ${this.options.maxDocumentBytes} bytes`);
      }
      checkDocument(request.contentType, document);
    }

    const inline = document !== undefined && document.length <= INLINE_DOCUMENT_MAX_BYTES ? document.toString('base64') : undefined;
    const input = (documentKey: string | undefined): PrintJobInput => ({
      target: payload.target,
      printer: printer.path,
      printerUri: printer.uri,
      title: request.title ?? 'Untitled',
      source: request.source ?? null,
      contentType: request.contentType,
      size: document?.length ?? 0,
      ...(documentKey ? { documentKey } : {}),
      ...(inline === undefined ? {} : { document: inline }),
      ...(document ? {} : { url: request.content }),
    });
    let documentKey: string | undefined;
    const submitted = await submitJob({
      store: this.options.store,
      decider: printJobDecider,
      orgId: principal.orgId,
      newJobId: newPrintJobId,
      submitCommand: (id): Extract<JobCommand, { type: 'SubmitJob' }> => ({
        type: 'SubmitJob',
        data: {
          jobId: id,
          kind: 'print',
          orgId: principal.orgId,
          submittedBy: principal.userId,
          input: input(documentKey) as unknown as Record<string, unknown>,
          // A printer that cannot be reached is a failure to report, not to retry behind the client's back.
          retry: { maxAttempts: 1 },
          now: new Date().toISOString(),
        },
      }),
      metadata: { orgId: principal.orgId, actor: principal.userId, kind: 'print', correlationId },
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      requestFingerprint: { target: payload.target, request: payload.request },
      ...(document && inline === undefined
        ? {
            beforeSubmit: async (session: EventStoreSession) => {
              documentKey = await this.options.blobs.put(document, documentFormatFor(request.contentType), session.tx);
            },
          }
        : {}),
    });
    // The job as its submission left it, which its row holds too; a replay reads what it is now.
    if (!submitted.created) return this.view(principal, submitted.jobId);
    this.options.onSubmitted?.(submitted.jobId, { state: submitted.state, version: submitted.version });
    return printDetails({ lifecycle: submitted.state.lifecycle, kindState: submitted.state.print, version: submitted.version });
  }

  async cancel({ principal, payload, correlationId }: CommandEnvelope<{ jobId: string }>): Promise<PrintJobDetails> {
    await this.visibleJob(principal, payload.jobId);
    await handleCommand(
      this.options.store,
      jobStreamId(payload.jobId),
      { type: 'RequestCancellation', data: { by: principal.userId, now: new Date().toISOString() } },
      printJobDecider,
      { metadata: { orgId: principal.orgId, actor: principal.userId, kind: 'print', correlationId } },
    );
    return this.view(principal, payload.jobId);
  }

  async registerPrinter({ principal, payload }: CommandEnvelope<unknown>): Promise<PrinterView> {
    const parsed = registerPrinterSchema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw validation(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
    }
    return publicPrinter(await this.options.printers.register(principal, parsed.data));
  }

  async listPrinters({ principal }: CommandEnvelope<unknown>): Promise<PrinterView[]> {
    return (await this.options.printers.list(principal.orgId)).map(publicPrinter);
  }

  async view(principal: Principal, jobId: string): Promise<PrintJobDetails> {
    return printDetails(await this.visibleJob(principal, jobId));
  }

  private async visibleJob(principal: Principal, jobId: string): Promise<JobRecord> {
    const record = await findJob(this.options.db, jobId);
    if (!record || record.lifecycle.kind !== 'print' || !jobVisibleTo(principal, record.lifecycle)) {
      throw new DomainError('JOB_NOT_FOUND', `No job with ID: ${jobId}`, { jobId });
    }
    return record;
  }
}

const publicPrinter = ({ name, path, uri, tags, createdAt }: RegisteredPrinter): PrinterView => ({ name, path, uri, tags, createdAt });

/** The print service's command handlers, served over NATS or in process alike. */
export const printCommandHandlers = (jobs: PrintJobs) => ({
  submit: (envelope: CommandEnvelope<never>) => jobs.submit(envelope as CommandEnvelope<SubmitPrint>),
  cancel: (envelope: CommandEnvelope<never>) => jobs.cancel(envelope as CommandEnvelope<{ jobId: string }>),
  'register-printer': (envelope: CommandEnvelope<never>) => jobs.registerPrinter(envelope),
  'list-printers': (envelope: CommandEnvelope<never>) => jobs.listPrinters(envelope),
});
