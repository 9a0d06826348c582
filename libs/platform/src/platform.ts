import { createServer, type Server } from 'node:http';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { accountsMigrations } from '@switchyard/accounts';
import { creditsMigrations, creditsProjection } from '@switchyard/credits';
import { imageKindModel } from '@switchyard/image/domain';
import { Autovacuum, migrateToLatest, openDatabase, parseDatabaseUrl, PostgresEventStore, type DatabaseConfig, type EventStoreDb } from '@switchyard/event-store';
import { jobLeasesProjection, jobRuntimeMigrations } from '@switchyard/job-runtime';
import { createJobsProjection, JobCache, jobsReadModelMigrations } from '@switchyard/jobs-read-model';
import {
  connectNats,
  ensureEventsStream,
  InProcessEventConsumers,
  JetStreamEventConsumers,
  messagingMigrations,
  RELAY_CONSUMER,
  startRelay,
  type EventConsumers,
  type NatsConfig,
  type Relay,
} from '@switchyard/messaging';
import { printKindModel } from '@switchyard/print/domain';
import { printMigrations } from '@switchyard/print/service';
import { storageMigrations } from '@switchyard/storage';

/**
 * Every table of the platform, in one ordered history: each process migrates to the same schema
 * (kysely refuses a database whose history holds a migration it was not given).
 */
export const switchyardMigrations = (extra: Record<string, Migration> = {}): Record<string, Migration> => ({
  ...accountsMigrations,
  ...jobsReadModelMigrations,
  ...jobRuntimeMigrations,
  ...storageMigrations,
  ...messagingMigrations,
  ...printMigrations,
  ...creditsMigrations,
  ...extra,
});

/** What every process reads from its environment; defaults run the embedded mode. */
export const platformConfigSchema = z.object({
  DATABASE_URL: z.string().default('pglite://./data/switchyard'),
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(20),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SWITCHYARD_BOOTSTRAP_KEY: z.string().min(24).optional(),
  /** How long the gateway trusts a key that authenticated before looking it up again; 0: always look. */
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).default(5_000),
  /** Appends committed together at most (group commit); 1 writes each append alone. */
  APPEND_GROUP_MAX: z.coerce.number().int().positive().default(64),
  /** Embedded mode: what the jobs kept for status reads may take, as stored in the table; 0: keep none. */
  JOB_CACHE_MAX_BYTES: z.coerce.number().int().min(0).default(16 * 1024 * 1024),
});
export type PlatformConfig = z.infer<typeof platformConfigSchema>;

/** Validates the environment at start; a bad value stops the process with a readable message. */
export function configFrom<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  throw new Error(`invalid configuration: ${problems}`);
}

export const createLogger = (service: string, level: string): Logger => pino({ name: service, level });

export interface PlatformStorage {
  /** PGlite (embedded, this process alone) or PostgreSQL (shared with other processes). */
  driver: DatabaseConfig['driver'];
  db: Kysely<unknown>;
  store: PostgresEventStore;
  /** Jobs kept between status reads: embedded only, where this process alone writes the database. */
  jobCache: JobCache | undefined;
  close(): Promise<void>;
}

/**
 * Between two autovacuum rounds on the embedded database; PostgreSQL's own default is a minute. The
 * embedded mode appends ~3,000 events/s flat out, and until the first ANALYZE of a growing log the
 * planner scans it whole: over a 20,000-job drain, a minute apart held it to 332 jobs/s (a poll
 * took 13.6 ms), 10 s apart to 577 jobs/s (1.25 ms).
 */
const EMBEDDED_AUTOVACUUM_NAPTIME_MS = 10_000;

export interface PlatformStorageOptions {
  /** Where the embedded database's upkeep reports a failure. */
  logger?: Logger;
  /** Migrations beyond the platform's own. */
  migrations?: Record<string, Migration>;
}

/**
 * A PostgreSQL whose autovacuum is off never vacuums nor analyzes the event log, the jobs table or
 * the leases unless someone does it on a schedule, and Switchyard slows down as they grow: in the
 * queue bench, after 60,000 jobs, PostgreSQL spent 0.46 ms of CPU per status read and 3.0 ms per
 * job, against 0.12 and 2.3 with the same tables vacuumed by autovacuum's rules. It may be meant
 * (scheduled VACUUMs instead), so the process says so at start and goes on.
 */
async function warnWithoutAutovacuum(db: Kysely<unknown>, logger: Logger | undefined): Promise<void> {
  const { rows } = await sql<{ autovacuum: string }>`SELECT current_setting('autovacuum') AS autovacuum`.execute(db);
  if (rows[0]?.autovacuum !== 'off') return;
  logger?.warn(
    { autovacuum: 'off' },
    "autovacuum is off on this PostgreSQL: nothing vacuums or analyzes Switchyard's tables, which slows it down as they grow; turn it on, or run VACUUM (ANALYZE) on a schedule",
  );
}

/**
 * Opens the database, brings it to the latest schema, and the event store with its read models.
 * PGlite has no autovacuum daemon: this process does its rounds while the storage is open. On a
 * PostgreSQL server with autovacuum off, it warns (see warnWithoutAutovacuum).
 */
export async function openPlatformStorage(config: PlatformConfig, options: PlatformStorageOptions = {}): Promise<PlatformStorage> {
  const database = parseDatabaseUrl(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const db = await openDatabase<unknown>(database);
  await migrateToLatest(db, switchyardMigrations(options.migrations ?? {}));
  const { logger } = options;
  if (database.driver !== 'pglite') await warnWithoutAutovacuum(db, logger);
  const autovacuum =
    database.driver === 'pglite'
      ? new Autovacuum(db, { naptimeMs: EMBEDDED_AUTOVACUUM_NAPTIME_MS, onError: (err) => logger?.warn({ err }, 'embedded database upkeep failed') })
      : undefined;
  autovacuum?.start();
  // Another process may write a shared PostgreSQL, and none would tell this one.
  const jobCache = database.driver === 'pglite' && config.JOB_CACHE_MAX_BYTES > 0 ? new JobCache({ maxBytes: config.JOB_CACHE_MAX_BYTES }) : undefined;
  const store = new PostgresEventStore(db as unknown as EventStoreDb, {
    projections: [createJobsProjection([printKindModel, imageKindModel], { cache: jobCache }), creditsProjection, jobLeasesProjection],
    // PGlite runs one statement at a time: a second group in flight would only wait for the first,
    // when it could have joined the next group instead.
    groupCommit: config.APPEND_GROUP_MAX > 1 && { maxGroup: config.APPEND_GROUP_MAX, maxInFlight: database.driver === 'pglite' ? 1 : 2 },
  });
  return {
    driver: database.driver,
    db,
    store,
    jobCache,
    async close() {
      await autovacuum?.stop();
      await store.close();
    },
  };
}

export interface PlatformMessaging {
  consumers: EventConsumers;
  nats?: NatsConnection;
  /** Events written but not yet published (distributed mode): how far the relay is behind. */
  relayLag(): Promise<number>;
  ready(): boolean;
  close(): Promise<void>;
}

/** Distributed mode: the relay to JetStream and durable JetStream consumers. */
export async function startJetStreamMessaging(storage: PlatformStorage, nats: NatsConfig, logger: Logger): Promise<PlatformMessaging> {
  const nc = await connectNats(nats);
  await ensureEventsStream(await jetstreamManager(nc), {
    name: nats.eventsStream,
    subjectRoot: nats.subjectRoot,
    dedupeWindowMs: nats.dedupeWindowMs,
  });
  // Every process runs a relay; the subscription's lease keeps exactly one of them publishing.
  const relay: Relay = startRelay({
    store: storage.store,
    nc,
    streamName: nats.eventsStream,
    subjectRoot: nats.subjectRoot,
    logger,
  });
  const consumers = new JetStreamEventConsumers({ nc, db: storage.db as never, streamName: nats.eventsStream, logger });
  return {
    consumers,
    nats: nc,
    relayLag: () => checkpointLag(storage.db, RELAY_CONSUMER),
    ready: () => !nc.isClosed(),
    async close() {
      await relay.stop();
      await nc.drain();
    },
  };
}

/** Embedded mode: consumers fed from the log itself, no broker. */
export function startInProcessMessaging(storage: PlatformStorage, logger: Logger): PlatformMessaging {
  return {
    consumers: new InProcessEventConsumers({
      store: storage.store,
      logger,
      // Only this process writes to PGlite, and each of its appends wakes the subscriptions that
      // want it: an idle look is a safety net there, not the way events are found.
      ...(storage.driver === 'pglite' ? { subscription: { idlePollMs: 250 } } : {}),
    }),
    relayLag: async () => 0,
    ready: () => true,
    close: async () => undefined,
  };
}

/** Events committed after a subscription's checkpoint. */
export async function checkpointLag(db: Kysely<unknown>, consumer: string): Promise<number> {
  const { rows } = await sql<{ lag: string }>`
    SELECT count(*)::text AS lag FROM events e, subscription_checkpoints c
    WHERE c.consumer = ${consumer} AND (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)`.execute(db);
  return Number(rows[0]?.lag ?? 0);
}

export async function databaseReachable(db: Kysely<unknown>): Promise<boolean> {
  return sql`SELECT 1`.execute(db).then(() => true, () => false);
}

/** Liveness and readiness for a process that serves no HTTP of its own (Kubernetes probes). */
export function startHealthServer(port: number, ready: () => Promise<Record<string, boolean>>): Promise<Server> {
  const server = createServer((request, response) => {
    const reply = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (request.url === '/healthz') return reply(200, { status: 'ok' });
    if (request.url === '/readyz') {
      void ready().then((checks) => reply(Object.values(checks).every(Boolean) ? 200 : 503, checks), () => reply(503, { ready: false }));
      return;
    }
    reply(404, { error: { code: 'NOT_FOUND', message: 'not found' } });
  });
  return new Promise((resolve) => server.listen(port, () => resolve(server)));
}

/** On SIGTERM or SIGINT: run the steps in order (each may fail alone), then exit. */
export function stopOnSignals(logger: Logger, steps: ReadonlyArray<() => unknown>): void {
  const stop = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'stopping');
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        logger.warn({ err: error }, 'a shutdown step failed');
      }
    }
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
