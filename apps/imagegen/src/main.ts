import 'reflect-metadata';
import { z } from 'zod';
import { CreditsLedger, retryOnVersionConflict } from '@switchyard/credits';
import { AdRenderPool, TEMPLATES } from '@switchyard/image/render';
import { createImageService, imageConfigSchema } from '@switchyard/image/service';
import { runServiceProcess } from '@switchyard/platform';
import { blobStoreFromConfig } from '@switchyard/storage';

// Distributed mode: the image service as its own process on PostgreSQL and NATS, rendering on its
// own worker threads. The gateway serves what it writes, so both take the same blob store settings.
const configSchema = imageConfigSchema.extend({ HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8082) });

runServiceProcess('image', configSchema, ({ config, logger, nats, storage, messaging }) => {
  const renderer = new AdRenderPool({ workers: config.IMAGE_RENDER_WORKERS, timeoutMs: config.IMAGE_RENDER_TIMEOUT_MS });
  const image = createImageService({
    store: storage.store,
    db: storage.db,
    blobs: blobStoreFromConfig(process.env, storage.db),
    consumers: messaging.consumers,
    renderer,
    templates: TEMPLATES,
    credits: new CreditsLedger(storage.store, storage.db),
    retryOnConflict: (work) => retryOnVersionConflict(work),
    config,
    logger,
    ...(config.WORKER_ID ? { workerId: config.WORKER_ID } : {}),
    subjectRoot: nats.subjectRoot,
  });
  return {
    handlers: image.handlers,
    workerId: image.worker.workerId,
    start: () => image.start(),
    stop: () => image.stop(),
    close: () => renderer.close(),
  };
}).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
