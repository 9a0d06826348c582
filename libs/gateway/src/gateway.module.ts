import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CachedAuthenticator } from '@switchyard/accounts';
import { JobReader } from '@switchyard/jobs-read-model';
import { AdminController } from './admin/admin.controller';
import { CreditsController } from './credits/credits.controller';
import { ImageDialectController } from './image-dialect/image-dialect.controller';
import { GATEWAY_CONFIG, GATEWAY_DEPS, gatewayConfig, type GatewayConfig, type GatewayDeps } from './gateway-deps';
import { ApiKeyGuard } from './http/api-key.guard';
import { AppShutdown } from './http/app-shutdown';
import { GatewayMetrics } from './operations/gateway-metrics';
import { OperationsController } from './operations/operations.controller';
import { PrintDialectController } from './print-dialect/print-dialect.controller';
import { JobEventStreams } from './unified/job-event-streams';
import { JobsController } from './unified/jobs.controller';
import { PrintersController } from './unified/printers.controller';

/** The gateway's routes; its dependencies come from the composition root through `register`. */
@Module({})
export class GatewayModule {
  static register(deps: GatewayDeps, config: GatewayConfig = gatewayConfig(deps.config)): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [
        OperationsController,
        JobsController,
        PrintersController,
        PrintDialectController,
        ImageDialectController,
        CreditsController,
        AdminController,
      ],
      providers: [
        { provide: GATEWAY_DEPS, useValue: deps },
        { provide: GATEWAY_CONFIG, useValue: config },
        {
          provide: CachedAuthenticator,
          useValue: new CachedAuthenticator((key) => deps.authenticate(key), { ttlMs: config.authCacheTtlMs }),
        },
        // Every job read by id goes through one reader, so reads that arrive together share a query.
        { provide: JobReader, useValue: new JobReader(deps.db, { cache: deps.jobCache }) },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        AppShutdown,
        GatewayMetrics,
        JobEventStreams,
      ],
    };
  }
}
