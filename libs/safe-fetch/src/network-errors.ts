import { DomainError } from '@switchyard/contracts';

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);
const CLOSED = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** The system error code of a failure; with several addresses tried (happy eyeballs), the first one's. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const inner = (error as { errors?: unknown }).errors;
  return Array.isArray(inner) ? errorCode(inner[0]) : undefined;
}

export interface NetworkFailureContext {
  what: string;
  host: string;
  port: number;
  /** Whether the whole request had gone out: then the peer may have acted on it. */
  afterRequestSent?: boolean;
}

/** Maps a socket or TLS error to PRINTER_UNREACHABLE, PRINTER_TIMEOUT or PRINTER_REJECTED. */
export function networkFailure(error: unknown, context: NetworkFailureContext): DomainError {
  if (error instanceof DomainError) return error;
  const code = errorCode(error);
  const reason = error instanceof Error && error.message ? error.message : (code ?? String(error));
  const where = `${context.what} at ${context.host}:${context.port}`;
  const details = { cause: code ?? reason, requestSent: context.afterRequestSent ?? false };
  if (code && UNREACHABLE.has(code)) return new DomainError('PRINTER_UNREACHABLE', `${where} is unreachable (${code})`, details);
  if (code === 'ETIMEDOUT') return new DomainError('PRINTER_TIMEOUT', `${where} timed out (${code})`, details);
  if (code && CLOSED.has(code)) {
    return new DomainError('PRINTER_REJECTED', `${where} closed the connection (${code})`, details);
  }
  // What is left is mostly TLS (certificate not trusted, handshake failure): we never got to talk.
  return new DomainError('PRINTER_UNREACHABLE', `cannot talk to ${where}: ${reason}`, details);
}
