import 'reflect-metadata';
import { AccountsStore } from '@switchyard/accounts';
import { createGatewayApp } from '@switchyard/gateway';
import { InProcessCommandBus } from '@switchyard/messaging';
import {
  checkpointLag,
  configFrom,
  createLogger,
  databaseReachable,
  openPlatformStorage,
  platformConfigSchema,
  startInProcessMessaging,
  stopOnSignals,
} from '@switchyard/platform';
import { createPrintService, printConfigSchema, printerPortsFor } from '@switchyard/print/service';
import { CreditsLedger, retryOnVersionConflict } from '@switchyard/credits';
import { AdRenderPool, TEMPLATES } from '@switchyard/image/render';
import { createImageService, imageConfigSchema } from '@switchyard/image/service';
import { blobStoreFromConfig, SignedUrls, signingSecretFromEnv } from '@switchyard/storage';

// Embedded mode (`npm start`): every service in this one process, PGlite in ./data, commands as
// calls and consumers fed from the log itself. The same libs as the distributed apps.
async function main(): Promise<void> {
  const config = configFrom(platformConfigSchema.extend(printConfigSchema.shape).extend(imageConfigSchema.shape));
  const logger = createLogger('switchyard', config.LOG_LEVEL);
  const storage = await openPlatformStorage(config, { logger });
  const messaging = startInProcessMessaging(storage, logger);
  const blobs = blobStoreFromConfig(process.env, storage.db);
  const credits = new CreditsLedger(storage.store, storage.db);
  const renderer = new AdRenderPool({ workers: config.IMAGE_RENDER_WORKERS, timeoutMs: config.IMAGE_RENDER_TIMEOUT_MS });
  const print = createPrintService({
    store: storage.store,
    db: storage.db,
    blobs,
    consumers: messaging.consumers,
    ...printerPortsFor(config),
    config,
    logger,
  });
  const image = createImageService({
    store: storage.store,
    db: storage.db,
    blobs,
    consumers: messaging.consumers,
    renderer,
    templates: TEMPLATES,
    credits,
    retryOnConflict: (work) => retryOnVersionConflict(work),
    config,
    logger,
  });
  const commands = new InProcessCommandBus().register('print', print.handlers).register('image', image.handlers);

  const accounts = new AccountsStore(storage.db as never);
  if (config.SWITCHYARD_BOOTSTRAP_KEY) {
    await accounts.ensureBootstrapAdmin(config.SWITCHYARD_BOOTSTRAP_KEY);
  } else if (!(await accounts.hasAdmin())) {
    const key = accounts.generateBootstrapKey();
    await accounts.ensureBootstrapAdmin(key);
    // Shown once: it is stored only as a hash.
    process.stdout.write(`\nSwitchyard admin API key (shown once, keep it): ${key}\n\n`);
  }

  const app = await createGatewayApp({
    db: storage.db,
    jobCache: storage.jobCache,
    store: storage.store,
    commands,
    authenticate: (key) => accounts.authenticate(key),
    accounts,
    credits,
    urlSigner: new SignedUrls(signingSecretFromEnv()),
    blobs,
    config: { previewTtlMs: config.IMAGE_PREVIEW_TTL_MS, authCacheTtlMs: config.AUTH_CACHE_TTL_MS },
    readiness: async () => ({ database: await databaseReachable(storage.db) }),
    metrics: { projectionLag: () => checkpointLag(storage.db, 'worker:print') },
  });
  await app.listen(config.PORT, config.HOST);
  await print.start();
  await image.start();
  logger.info({ port: config.PORT, database: config.DATABASE_URL }, 'Switchyard (embedded) ready');

  stopOnSignals(logger, [
    () => app.close(),
    () => print.stop(),
    () => image.stop(),
    () => renderer.close(),
    () => messaging.close(),
    () => storage.close(),
  ]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
