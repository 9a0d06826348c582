import 'reflect-metadata';
import { z } from 'zod';
import { AccountsStore } from '@switchyard/accounts';
import { CreditsLedger } from '@switchyard/credits';
import { createGatewayApp } from '@switchyard/gateway';
import { blobStoreFromConfig, SignedUrls, signingSecretFromEnv } from '@switchyard/storage';
import { NatsCommandBus, natsConfigFromEnv } from '@switchyard/messaging';
import {
  checkpointLag,
  configFrom,
  createLogger,
  databaseReachable,
  openPlatformStorage,
  platformConfigSchema,
  stopOnSignals,
} from '@switchyard/platform';

// Distributed mode: the gateway alone; commands go to the services over NATS request/reply, reads
// come from the read models in PostgreSQL.
const configSchema = platformConfigSchema.extend({
  COMMAND_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});

async function main(): Promise<void> {
  const config = configFrom(configSchema);
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const nats = natsConfigFromEnv();
  const storage = await openPlatformStorage(config, { logger });
  const commands = new NatsCommandBus({
    servers: nats.servers,
    commandRoot: nats.commandRoot,
    timeoutMs: config.COMMAND_TIMEOUT_MS,
    name: `gateway-${process.pid}`,
  });
  await commands.connect();
  let natsUp = true;
  const accounts = new AccountsStore(storage.db as never);
  if (config.SWITCHYARD_BOOTSTRAP_KEY) await accounts.ensureBootstrapAdmin(config.SWITCHYARD_BOOTSTRAP_KEY);

  const app = await createGatewayApp({
    db: storage.db,
    store: storage.store,
    commands,
    authenticate: (key) => accounts.authenticate(key),
    accounts,
    credits: new CreditsLedger(storage.store, storage.db),
    // Every gateway replica must sign with the same secret: no generated fallback here.
    urlSigner: new SignedUrls(signingSecretFromEnv(process.env, { allowGenerated: false })),
    blobs: blobStoreFromConfig(process.env, storage.db),
    config: { authCacheTtlMs: config.AUTH_CACHE_TTL_MS },
    readiness: async () => ({ database: await databaseReachable(storage.db), nats: natsUp }),
    metrics: { relayLag: () => checkpointLag(storage.db, 'relay:jetstream') },
  });
  await app.listen(config.PORT, config.HOST);
  logger.info({ port: config.PORT }, 'gateway ready');

  stopOnSignals(logger, [() => (natsUp = false), () => app.close(), () => commands.close(), () => storage.close()]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
