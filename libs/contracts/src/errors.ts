// Errors are values with a code; each dialect maps codes to its own body and HTTP status in one table.
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'JOB_NOT_FOUND',
  'JOB_ALREADY_EXISTS',
  'JOB_FINISHED',
  'ILLEGAL_TRANSITION',
  'PROGRESS_OUT_OF_RANGE',
  'VERSION_CONFLICT',
  'STREAM_NOT_FOUND',
  'CONSUMER_BUSY',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'INVALID_JSON',
  'INVALID_CONTENT',
  'UNSUPPORTED_CONTENT_TYPE',
  'UNKNOWN_TARGET',
  'PRINTER_NOT_FOUND',
  'PRINTER_ALREADY_EXISTS',
  'PRINTER_UNREACHABLE',
  'PRINTER_REJECTED',
  'PRINTER_BUSY',
  'PRINTER_TIMEOUT',
  'FORMAT_NOT_SUPPORTED',
  'DELIVERY_UNCERTAIN',
  'URL_NOT_ALLOWED',
  'URL_FETCH_FAILED',
  'URL_TOO_LARGE',
  'URL_TIMEOUT',
  'IDEMPOTENCY_KEY_REUSED',
  'INSUFFICIENT_CREDITS',
  'REFUND_EXCEEDS_DEBIT',
  'IMAGE_FETCH_FAILED',
  'IMAGE_DECODE_FAILED',
  'RENDER_TIMEOUT',
  'RENDER_FAILED',
  'UNKNOWN_TEMPLATE',
  'SIGNATURE_INVALID',
  'LINK_EXPIRED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A failure the domain chose, with a stable code; never a bug. */
export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const isDomainError = (error: unknown, code?: ErrorCode): error is DomainError =>
  error instanceof DomainError && (code === undefined || error.code === code);
