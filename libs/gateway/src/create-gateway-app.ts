import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayExceptionFilter, sendFailure } from './errors/gateway-exception.filter';
import { gatewayConfig, type GatewayDeps } from './gateway-deps';
import { GatewayModule } from './gateway.module';
import { acceptJsonBodies } from './http/json-body';
import { refuseNulInUrl, requestIdFor } from './http/request-context';
import { serveOpenApi } from './openapi';
import { GatewayMetrics } from './operations/gateway-metrics';

export interface GatewayAppOptions {
  /** Nest's own logger; false silences it (tests). */
  logger?: boolean;
}

/**
 * The gateway as a Nest app on Fastify, configured and initialized but not listening: the
 * composition root calls `listen`, a test may call `inject`. Both run modes build it here.
 */
export async function createGatewayApp(deps: GatewayDeps, options: GatewayAppOptions = {}): Promise<NestFastifyApplication> {
  const config = gatewayConfig(deps.config);
  const app = await NestFactory.create<NestFastifyApplication>(
    GatewayModule.register(deps, config),
    new FastifyAdapter({
      bodyLimit: config.bodyLimitBytes,
      genReqId: requestIdFor,
      logger: false,
      // A URL Fastify cannot even route (bad percent-encoding) never reaches Nest: render it here.
      frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
        sendFailure(request, reply, { code: 'VALIDATION_FAILED', message: `the URL is not valid (${error.code})` });
      },
    }),
    { bodyParser: false, abortOnError: false, ...(options.logger === false ? { logger: false } : {}) },
  );
  const metrics = app.get(GatewayMetrics);
  const fastify = app.getHttpAdapter().getInstance();
  acceptJsonBodies(fastify);
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    refuseNulInUrl(request.url);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  app.useGlobalFilters(new GatewayExceptionFilter(config.bodyLimitBytes));
  serveOpenApi(app);
  await app.init();
  return app;
}
