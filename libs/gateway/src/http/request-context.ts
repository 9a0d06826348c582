import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError, type Principal } from '@switchyard/contracts';

/** A request once the API key guard let it through: the caller rides on it. */
export type GatewayRequest = FastifyRequest & { principal?: Principal };

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The correlation id: the client's `X-Request-Id` when it is a sane token, else a fresh one. */
export function requestIdFor(request: { headers: IncomingHttpHeaders }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** A URL with NUL in it (`%00`) names no job, printer or filter value the database could hold. */
export function refuseNulInUrl(url: string): void {
  if (/%00|\0/i.test(url)) throw new DomainError('VALIDATION_FAILED', 'the URL must not contain NUL (%00)');
}

/** The caller the API key guard resolved. */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<GatewayRequest>().principal;
  // Only a route marked public lacks one, and such a route never asks for it.
  if (!principal) throw new DomainError('UNAUTHORIZED', 'an API key is required');
  return principal;
});

/** This request's correlation id (Fastify's request id, taken from `X-Request-Id` when given). */
export const CorrelationId = createParamDecorator(
  (_: unknown, context: ExecutionContext): string => context.switchToHttp().getRequest<FastifyRequest>().id,
);
