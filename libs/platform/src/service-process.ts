import { z } from 'zod';
import type { CommandHandlers } from '@switchyard/messaging';
import { natsConfigFromEnv, startCommandServer, type NatsConfig } from '@switchyard/messaging';
import {
  configFrom,
  createLogger,
  databaseReachable,
  openPlatformStorage,
  platformConfigSchema,
  startHealthServer,
  startJetStreamMessaging,
  stopOnSignals,
  type PlatformMessaging,
  type PlatformStorage,
} from './platform';

/** The settings every service process has, beside its own. */
export const serviceProcessConfigSchema = platformConfigSchema.extend({
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  WORKER_ID: z.string().optional(),
});

export interface ServiceContext<C> {
  config: C;
  logger: ReturnType<typeof createLogger>;
  nats: NatsConfig;
  storage: PlatformStorage;
  messaging: PlatformMessaging;
}

/** What a kind's service gives its process: commands to answer, a worker to run. */
export interface ServiceParts {
  handlers: CommandHandlers;
  workerId: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Released after the worker stopped (render threads, printer connections). */
  close?(): Promise<void>;
}

/**
 * A kind's service as its own process in the distributed mode: storage and JetStream, its
 * commands on NATS in its queue group, its worker, a health server, and an orderly stop.
 */
export async function runServiceProcess<S extends z.ZodObject>(
  kind: string,
  schema: S,
  build: (context: ServiceContext<z.infer<S> & z.infer<typeof serviceProcessConfigSchema>>) => ServiceParts | Promise<ServiceParts>,
): Promise<void> {
  const config = configFrom(serviceProcessConfigSchema.extend(schema.shape)) as z.infer<S> & z.infer<typeof serviceProcessConfigSchema>;
  const logger = createLogger(kind, config.LOG_LEVEL);
  const nats = natsConfigFromEnv();
  const storage = await openPlatformStorage(config, { logger });
  const messaging = await startJetStreamMessaging(storage, nats, logger);
  const service = await build({ config, logger, nats, storage, messaging });
  const commands = await startCommandServer({ kind, handlers: service.handlers, servers: nats.servers, commandRoot: nats.commandRoot });
  await service.start();
  const health = await startHealthServer(config.HEALTH_PORT, async () => ({
    database: await databaseReachable(storage.db),
    nats: messaging.ready(),
  }));
  logger.info({ workerId: service.workerId, healthPort: config.HEALTH_PORT }, `${kind} service ready`);

  stopOnSignals(logger, [
    () => health.close(),
    () => service.stop(),
    () => commands.close(),
    () => service.close?.(),
    () => messaging.close(),
    () => storage.close(),
  ]);
}
