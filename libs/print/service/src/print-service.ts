import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { EventStore } from '@switchyard/event-store';
import { JobWorkerHost, type RuntimeLogger } from '@switchyard/job-runtime';
import type { CommandHandlers, EventConsumers } from '@switchyard/messaging';
import { printJobDecider, type PrintJob, type PrintJobEvent } from '@switchyard/print/domain';
import type { BlobStore } from '@switchyard/storage';
import { PrintExecutor } from './print-executor';
import { PrintJobs, printCommandHandlers } from './print-jobs';
import type { DocumentFetcher, PrinterFactory } from './printer-port';
import { PrinterRegistry } from './printers';

const flag = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

/** The print service's settings, from the environment, with defaults that run the embedded mode. */
export const printConfigSchema = z.object({
  PRINT_MAX_DOCUMENT_BYTES: z.coerce.number().int().positive().default(10 * 1024 * 1024),
  PRINT_URL_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  /** Let pdf_url/raw_url reach private, loopback and link-local addresses (a print server on a LAN). */
  PRINT_ALLOW_PRIVATE_URLS: flag.default(false),
  /** CIDR ranges pdf_url/raw_url may reach even though private, comma-separated (`10.1.2.0/24`). */
  PRINT_ALLOWED_URL_RANGES: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((range) => range.trim()).filter(Boolean)),
  PRINT_CONCURRENCY: z.coerce.number().int().positive().default(16),
  PRINT_FOLLOW_INTERVAL_MS: z.coerce.number().int().positive().default(250),
  PRINT_PRINTER_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  PRINT_LEASE_MS: z.coerce.number().int().positive().default(15_000),
});
export type PrintConfig = z.infer<typeof printConfigSchema>;

export const printConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): PrintConfig => printConfigSchema.parse(env);

export interface PrintServiceDeps {
  store: EventStore;
  db: Kysely<unknown>;
  blobs: BlobStore;
  consumers: EventConsumers;
  printerFor: PrinterFactory;
  fetchDocument: DocumentFetcher;
  checkUrl: (url: string) => Promise<void>;
  config: PrintConfig;
  workerId?: string;
  subjectRoot?: string;
  logger?: RuntimeLogger;
}

export interface PrintService {
  jobs: PrintJobs;
  handlers: CommandHandlers;
  worker: JobWorkerHost<PrintJobEvent, PrintJob>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The print service's parts, wired the same way in both run modes. */
export function createPrintService(deps: PrintServiceDeps): PrintService {
  const jobs = new PrintJobs({
    store: deps.store,
    db: deps.db,
    blobs: deps.blobs,
    printers: new PrinterRegistry(deps.db),
    checkUrl: deps.checkUrl,
    maxDocumentBytes: deps.config.PRINT_MAX_DOCUMENT_BYTES,
    onSubmitted: (jobId, job) => worker.submittedHere(jobId, job),
  });
  const executor = new PrintExecutor({
    store: deps.store,
    blobs: deps.blobs,
    printerFor: deps.printerFor,
    fetchDocument: deps.fetchDocument,
    followIntervalMs: deps.config.PRINT_FOLLOW_INTERVAL_MS,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  const worker = new JobWorkerHost({
    kind: 'print',
    store: deps.store,
    db: deps.db,
    consumers: deps.consumers,
    decider: printJobDecider,
    executor,
    concurrency: deps.config.PRINT_CONCURRENCY,
    leaseMs: deps.config.PRINT_LEASE_MS,
    ...(deps.workerId ? { workerId: deps.workerId } : {}),
    ...(deps.subjectRoot ? { subjectRoot: deps.subjectRoot } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  return {
    jobs,
    handlers: printCommandHandlers(jobs),
    worker,
    start: () => worker.start(),
    stop: () => worker.stop(),
  };
}
