import { HttpException } from '@nestjs/common';
import { z } from 'zod';
import { ERROR_CODES, isDomainError, type ErrorCode } from '@switchyard/contracts';
import { issuesOf } from '../http/validation';

/** An error as every dialect renders it: a code from contracts, a message safe to show, details. */
export interface ApiFailure {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  /** What really happened, when it was not a failure the domain chose: logged, never shown. */
  cause?: unknown;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

const internal = (cause: unknown): ApiFailure => ({ code: 'INTERNAL', message: 'internal error', cause });

/**
 * PostgreSQL's class 22 (data exception: a malformed timestamp, a value out of range) raised by a
 * value the client chose, e.g. inside a forged cursor. Other validation should catch these first;
 * this keeps a miss a 400 rather than a 500, and the filter logs it.
 */
const isDataException = (error: unknown): boolean => {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code) && typeof severity === 'string';
};

/**
 * What Nest and Fastify raise on their own (no route, a body over the limit, a content type
 * nobody parses) arrives as an HttpException carrying only a status: the status picks the code.
 */
function frameworkFailure(exception: HttpException, bodyLimitBytes: number): ApiFailure {
  const status = exception.getStatus();
  switch (status) {
    case 401:
      return { code: 'UNAUTHORIZED', message: 'an API key is required' };
    case 403:
      return { code: 'FORBIDDEN', message: 'not allowed' };
    case 404:
    case 405:
      return { code: 'NOT_FOUND', message: exception.message || 'no such route' };
    case 413:
      return { code: 'PAYLOAD_TOO_LARGE', message: `the request body is larger than ${bodyLimitBytes} bytes` };
    case 415:
      return { code: 'VALIDATION_FAILED', message: 'unsupported Content-Type: send application/json' };
    default:
      if (status >= 400 && status < 500) return { code: 'VALIDATION_FAILED', message: exception.message || 'bad request' };
      return internal(exception);
  }
}

/** Any exception as an ApiFailure; whatever was not chosen on purpose becomes INTERNAL. */
export function toApiFailure(exception: unknown, bodyLimitBytes: number): ApiFailure {
  if (isDomainError(exception)) {
    // Codes cross the wire from services as strings: one this gateway does not know is a bug there.
    if (!KNOWN_CODES.has(exception.code)) return internal(exception);
    return {
      code: exception.code,
      message: exception.message,
      ...(exception.details ? { details: exception.details } : {}),
    };
  }
  if (exception instanceof z.ZodError) {
    return { code: 'VALIDATION_FAILED', message: 'the request is not valid', details: { issues: issuesOf(exception) } };
  }
  if (exception instanceof HttpException) return frameworkFailure(exception, bodyLimitBytes);
  if (isDataException(exception)) {
    return { code: 'VALIDATION_FAILED', message: 'a value in the request is malformed or out of range', cause: exception };
  }
  return internal(exception);
}
