import { Controller, Get, Inject, Logger, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps';
import { PublicRoute } from '../http/api-key.guard';
import { GatewayMetrics } from './gateway-metrics';

/** Probes and metrics: public, for Kubernetes and Prometheus. */
@ApiTags('operations')
@PublicRoute()
@Controller()
export class OperationsController {
  private readonly logger = new Logger('Gateway');

  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    private readonly metrics: GatewayMetrics,
  ) {}

  @Get('healthz')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<Record<string, boolean>> {
    let checks: Record<string, boolean>;
    try {
      checks = await this.deps.readiness();
    } catch (error) {
      this.logger.warn(`readiness check failed: ${error instanceof Error ? error.message : String(error)}`);
      checks = { readiness: false };
    }
    void reply.status(Object.values(checks).every(Boolean) ? 200 : 503);
    return checks;
  }

  @Get('metrics')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.metrics.registry.metrics();
    void reply.header('content-type', this.metrics.registry.contentType);
    return text;
  }
}
