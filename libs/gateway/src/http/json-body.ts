import type { FastifyInstance } from 'fastify';
import { DomainError } from '@switchyard/contracts';

// PostgreSQL stores no NUL in text or jsonb: refused here, it can never reach a service as a 500.
const NUL_REFUSED = 'strings in the body must not contain NUL (\\u0000)';

/** Iterative: a body may nest deeper than the call stack goes. */
function containsNul(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (value.includes('\0')) return true;
    } else if (Array.isArray(value)) {
      pending.push(...value);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\0')) return true;
        pending.push(item);
      }
    }
  }
  return false;
}

type JsonParser = (request: unknown, body: string, done: (error: Error | null, value?: unknown) => void) => void;

/**
 * JSON bodies through Fastify's own safe parser (prototype poisoning refused), but failing with
 * our INVALID_JSON instead of Fastify's error; an empty body is no body. Other content types are
 * refused by Fastify (415), which the exception filter maps like every other error.
 */
export function acceptJsonBodies(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error') as JsonParser;
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body !== 'string' || body.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, body, (error, value) => {
      if (error) done(new DomainError('INVALID_JSON', 'the request body is not valid JSON'), undefined);
      else if (containsNul(value)) done(new DomainError('VALIDATION_FAILED', NUL_REFUSED), undefined);
      else done(null, value);
    });
  });
}
