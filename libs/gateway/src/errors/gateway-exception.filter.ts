import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toApiFailure, type ApiFailure } from './api-failure';
import { dialectFor } from './dialects';

const logger = new Logger('Gateway');

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

/** Writes a failure in the dialect of the request's path; logs what was not a chosen failure. */
export function sendFailure(request: FastifyRequest, reply: FastifyReply, failure: ApiFailure): void {
  if (failure.cause !== undefined) {
    const line = `${request.method} ${request.url} (request ${request.id}): ${describe(failure.cause)}`;
    if (failure.code === 'INTERNAL') logger.error(`failed: ${line}`, failure.cause instanceof Error ? failure.cause.stack : undefined);
    else logger.warn(`refused as ${failure.code}: ${line}`);
  }
  // A stream already under way (server-sent events) has its status on the wire: just end it.
  if (reply.sent || reply.raw.headersSent) {
    if (!reply.raw.writableEnded) reply.raw.end();
    return;
  }
  const path = request.url.split('?')[0] ?? request.url;
  const { status, body } = dialectFor(path).render(failure, path);
  void reply.status(status).header('x-request-id', request.id).header('content-type', 'application/json; charset=utf-8').send(body);
}

/**
 * Every error of every route, and Fastify's own (bad JSON, body too large, no route), rendered in
 * the dialect of the path it happened on. Nothing unexpected leaks: it is logged and becomes 500.
 */
@Catch()
export class GatewayExceptionFilter implements ExceptionFilter {
  constructor(private readonly bodyLimitBytes: number) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendFailure(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), toApiFailure(exception, this.bodyLimitBytes));
  }
}
