import type { ErrorCode } from '@switchyard/contracts';
import type { ApiFailure } from './api-failure';

/** The unified `/v1` API: HTTP status per error code. */
export const UNIFIED_HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  INVALID_CONTENT: 400,
  UNSUPPORTED_CONTENT_TYPE: 400,
  URL_NOT_ALLOWED: 400,
  PROGRESS_OUT_OF_RANGE: 400,
  FORMAT_NOT_SUPPORTED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  JOB_NOT_FOUND: 404,
  NOT_FOUND: 404,
  UNKNOWN_TARGET: 404,
  PRINTER_NOT_FOUND: 404,
  STREAM_NOT_FOUND: 404,
  JOB_FINISHED: 409,
  ILLEGAL_TRANSITION: 409,
  PRINTER_ALREADY_EXISTS: 409,
  JOB_ALREADY_EXISTS: 409,
  VERSION_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  URL_TOO_LARGE: 413,
  IDEMPOTENCY_KEY_REUSED: 422,
  INTERNAL: 500,
  PRINTER_UNREACHABLE: 502,
  PRINTER_REJECTED: 502,
  PRINTER_BUSY: 503,
  INSUFFICIENT_CREDITS: 402,
  REFUND_EXCEEDS_DEBIT: 409,
  IMAGE_FETCH_FAILED: 502,
  IMAGE_DECODE_FAILED: 400,
  RENDER_TIMEOUT: 504,
  RENDER_FAILED: 500,
  UNKNOWN_TEMPLATE: 400,
  SIGNATURE_INVALID: 403,
  LINK_EXPIRED: 403,
  DELIVERY_UNCERTAIN: 502,
  URL_FETCH_FAILED: 502,
  SERVICE_UNAVAILABLE: 503,
  CONSUMER_BUSY: 503,
  PRINTER_TIMEOUT: 504,
  URL_TIMEOUT: 504,
};

/** The print dialect (print-jobs.txt): HTTP status and the envelope's `result.message` per code. */
export const PRINT_ERRORS: Readonly<Record<ErrorCode, readonly [status: number, message: string]>> = {
  VALIDATION_FAILED: [400, 'Invalid request'],
  INVALID_JSON: [400, 'Invalid JSON'],
  INVALID_CONTENT: [400, 'Invalid content'],
  UNSUPPORTED_CONTENT_TYPE: [400, 'Unsupported content type'],
  URL_NOT_ALLOWED: [400, 'URL not allowed'],
  PROGRESS_OUT_OF_RANGE: [400, 'Invalid request'],
  FORMAT_NOT_SUPPORTED: [400, 'Format not supported'],
  UNAUTHORIZED: [401, 'Unauthorized'],
  FORBIDDEN: [403, 'Forbidden'],
  JOB_NOT_FOUND: [404, 'Job not found'],
  NOT_FOUND: [404, 'Not found'],
  UNKNOWN_TARGET: [404, 'Unknown target'],
  PRINTER_NOT_FOUND: [404, 'Printer not found'],
  STREAM_NOT_FOUND: [404, 'Not found'],
  JOB_FINISHED: [409, 'Job already finished'],
  ILLEGAL_TRANSITION: [409, 'Conflict'],
  PRINTER_ALREADY_EXISTS: [409, 'Printer already exists'],
  JOB_ALREADY_EXISTS: [409, 'Conflict'],
  VERSION_CONFLICT: [409, 'Conflict'],
  PAYLOAD_TOO_LARGE: [413, 'Payload too large'],
  URL_TOO_LARGE: [413, 'Document too large'],
  IDEMPOTENCY_KEY_REUSED: [422, 'Idempotency key reused'],
  INTERNAL: [500, 'Internal error'],
  PRINTER_UNREACHABLE: [502, 'Printer unreachable'],
  PRINTER_REJECTED: [502, 'Printer rejected the job'],
  PRINTER_BUSY: [503, 'Printer busy'],
  INSUFFICIENT_CREDITS: [402, 'Insufficient credits'],
  REFUND_EXCEEDS_DEBIT: [409, 'Refund exceeds debit'],
  IMAGE_FETCH_FAILED: [502, 'Image fetch failed'],
  IMAGE_DECODE_FAILED: [400, 'Image decode failed'],
  RENDER_TIMEOUT: [504, 'Render timed out'],
  RENDER_FAILED: [500, 'Render failed'],
  UNKNOWN_TEMPLATE: [400, 'Unknown template'],
  SIGNATURE_INVALID: [403, 'Forbidden'],
  LINK_EXPIRED: [403, 'Forbidden'],
  DELIVERY_UNCERTAIN: [502, 'Delivery uncertain'],
  URL_FETCH_FAILED: [502, 'URL fetch failed'],
  SERVICE_UNAVAILABLE: [503, 'Service unavailable'],
  CONSUMER_BUSY: [503, 'Service unavailable'],
  PRINTER_TIMEOUT: [504, 'Printer timeout'],
  URL_TIMEOUT: [504, 'URL timeout'],
};

export interface RenderedFailure {
  status: number;
  body: unknown;
}

/** How one route family writes its errors. */
export interface ErrorDialect {
  readonly name: string;
  /** Whether a request path (no query) belongs to this dialect. */
  owns(path: string): boolean;
  render(failure: ApiFailure, path: string): RenderedFailure;
}

export const unifiedDialect: ErrorDialect = {
  name: 'unified',
  owns: () => true,
  render: ({ code, message, details }) => ({
    status: UNIFIED_HTTP_STATUS[code],
    body: { error: { code, message, ...(details ? { details } : {}) } },
  }),
};

export const PRINT_PREFIX = '/api/v1';

/** The envelope's `module`: the path below `/api/v1` (`/print/tag_LABELS`, `/jobs/pj_a8f3e1b2`). */
export const printModule = (path: string): string => {
  const below = path.slice(PRINT_PREFIX.length) || '/';
  try {
    const decoded = decodeURIComponent(below);
    return decoded.includes('\0') ? below : decoded;
  } catch {
    return below;
  }
};

export const printDialect: ErrorDialect = {
  name: 'print',
  owns: (path) => path === PRINT_PREFIX || path.startsWith(`${PRINT_PREFIX}/`),
  render: ({ code, message, details }, path) => {
    const [status, title] = PRINT_ERRORS[code];
    // print-jobs.txt shows the 404 body exactly, with no code in it.
    const content =
      code === 'JOB_NOT_FOUND'
        ? { message: typeof details?.['jobId'] === 'string' ? `No job with ID: ${details['jobId']}` : message }
        : { message, code };
    return { status, body: { status: 'error', statusCode: status, result: { module: printModule(path), message: title, content } } };
  },
};

/** First match wins; the unified dialect takes whatever no dialect owns. */
export const ERROR_DIALECTS: readonly ErrorDialect[] = [printDialect, unifiedDialect];

export const dialectFor = (path: string): ErrorDialect =>
  ERROR_DIALECTS.find((dialect) => dialect.owns(path)) ?? unifiedDialect;
