import { z } from 'zod';
import { DomainError } from './errors';

// PostgreSQL holds no NUL in text or jsonb: refused here, it never reaches a database as a failure.
const text = (max: number) => z.string().max(max).refine((value) => !value.includes('\u0000'), 'must not contain NUL');

export const PRINT_CONTENT_TYPES = ['pdf_base64', 'raw_base64', 'pdf_url', 'raw_url'] as const;
export const printContentTypeSchema = z.enum(PRINT_CONTENT_TYPES);
export type PrintContentType = z.infer<typeof printContentTypeSchema>;

/** The print dialect's states (print-jobs.txt). */
export const PRINT_STATES = ['queued', 'printing', 'completed', 'failed'] as const;
export type PrintState = (typeof PRINT_STATES)[number];

/** `POST /api/v1/print/{target}` body, as print-jobs.txt shows it. */
export const printRequestSchema = z.object({
  content: z.string().min(1, 'content must not be empty').refine((value) => !value.includes('\u0000'), 'must not contain NUL'),
  contentType: printContentTypeSchema,
  title: text(255).optional(),
  source: text(255).optional(),
  wait: z.boolean().optional(),
});
export type PrintRequest = z.infer<typeof printRequestSchema>;

/**
 * A print request's body, or the error for it, with the same code whichever side of the wire
 * refuses it: UNSUPPORTED_CONTENT_TYPE, INVALID_CONTENT (empty content) or VALIDATION_FAILED.
 */
export function parsePrintRequest<Schema extends z.ZodType>(schema: Schema, body: unknown): z.infer<Schema> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') ?? '';
  if (field === 'contentType') {
    throw new DomainError('UNSUPPORTED_CONTENT_TYPE', 'contentType must be pdf_base64, raw_base64, pdf_url or raw_url');
  }
  if (field === 'content' && issue?.code === 'too_small') throw new DomainError('INVALID_CONTENT', 'content must not be empty');
  throw new DomainError('VALIDATION_FAILED', `${field || 'body'}: ${issue?.message ?? 'invalid'}`, {
    issues: parsed.error.issues.map(({ path, message }) => ({ path: path.map(String).join('.'), message })),
  });
}

/** What a print job's JobSubmitted carries as `input`. */
export const printJobInputSchema = z.object({
  /** The target the client asked for: a printer path or `tag_<TAG>`. */
  target: z.string(),
  /** The printer path that receives the job. */
  printer: z.string(),
  printerUri: z.string(),
  title: z.string(),
  source: z.string().nullable(),
  contentType: printContentTypeSchema,
  /** Bytes of the document; for a URL, 0 until it is fetched. */
  size: z.number().int().min(0),
  /** The stored document (base64 content decoded at submission). */
  documentKey: z.string().optional(),
  /** A small document itself, base64, carried by the event instead of stored apart (see INLINE_DOCUMENT_MAX_BYTES). */
  document: z.string().optional(),
  /** The document's URL (pdf_url, raw_url): fetched when the job runs. */
  url: z.string().optional(),
});
export type PrintJobInput = z.infer<typeof printJobInputSchema>;

const at = z.iso.datetime({ offset: true });

export const IPP_JOB_STATES = [
  'pending',
  'pending-held',
  'processing',
  'processing-stopped',
  'canceled',
  'aborted',
  'completed',
] as const;
export type IppJobState = (typeof IPP_JOB_STATES)[number];

// ---- print's own events, on top of the shared lifecycle ----

export const printDocumentFetchedSchema = z.object({
  type: z.literal('PrintDocumentFetched'),
  data: z.object({ size: z.number().int().min(0), documentKey: z.string(), at }),
});
/** About to send to the printer: after a crash, a job without this was certainly not sent. */
export const printerDeliveryStartedSchema = z.object({
  type: z.literal('PrinterDeliveryStarted'),
  data: z.object({ at }),
});
/** The printer took the job; `printerJobId` is its own id (IPP job-id), null for a raw socket. */
export const printerJobAcceptedSchema = z.object({
  type: z.literal('PrinterJobAccepted'),
  data: z.object({ printerJobId: z.string().nullable(), at }),
});
export const printerJobStateChangedSchema = z.object({
  type: z.literal('PrinterJobStateChanged'),
  data: z.object({ printerState: z.enum(IPP_JOB_STATES), message: z.string().optional(), at }),
});

export const printEventSchema = z.discriminatedUnion('type', [
  printDocumentFetchedSchema,
  printerDeliveryStartedSchema,
  printerJobAcceptedSchema,
  printerJobStateChangedSchema,
]);
export type PrintEvent = z.infer<typeof printEventSchema>;
export const PRINT_EVENT_TYPES = printEventSchema.options.map((option) => option.shape.type.value);

/** A printer registered by a curator: `POST /v1/printers`. */
export const registerPrinterSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'name: letters, digits, _ . - only'),
  uri: z.string().regex(/^(ipps?|socket):\/\//, 'uri must start with ipp://, ipps:// or socket://'),
  tags: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/)).max(16).default([]),
});
export type RegisterPrinter = z.infer<typeof registerPrinterSchema>;

export interface PrinterView {
  name: string;
  path: string;
  uri: string;
  tags: string[];
  createdAt: string;
}
