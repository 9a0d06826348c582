import 'reflect-metadata';
import { runServiceProcess } from '@switchyard/platform';
import { createPrintService, printConfigSchema, printerPortsFor } from '@switchyard/print/service';
import { blobStoreFromConfig } from '@switchyard/storage';

// Distributed mode: the print service as its own process on PostgreSQL and NATS.
runServiceProcess('print', printConfigSchema, ({ config, logger, nats, storage, messaging }) => {
  const print = createPrintService({
    store: storage.store,
    db: storage.db,
    blobs: blobStoreFromConfig(process.env, storage.db),
    consumers: messaging.consumers,
    ...printerPortsFor(config),
    config,
    logger,
    ...(config.WORKER_ID ? { workerId: config.WORKER_ID } : {}),
    subjectRoot: nats.subjectRoot,
  });
  return { handlers: print.handlers, workerId: print.worker.workerId, start: () => print.start(), stop: () => print.stop() };
}).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
