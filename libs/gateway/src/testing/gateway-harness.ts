import ipaddr from 'ipaddr.js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DomainError, jobStreamId, type Principal } from '@switchyard/contracts';
import { PostgresEventStore, type EventStoreDb } from '@switchyard/event-store';
import { createTestDatabase, type TestBackend, type TestDatabase } from '@switchyard/event-store/testing';
import { accountsMigrations } from '@switchyard/accounts';
import { jobRuntimeMigrations } from '@switchyard/job-runtime';
import { createJobsProjection, jobsReadModelMigrations } from '@switchyard/jobs-read-model';
import { InProcessCommandBus, messagingMigrations } from '@switchyard/messaging';
import { printKindModel } from '@switchyard/print/domain';
import { PrinterRegistry, PrintJobs, printCommandHandlers, printMigrations } from '@switchyard/print/service';
import { PostgresBlobStore, storageMigrations } from '@switchyard/storage';
import { createGatewayApp } from '../create-gateway-app';
import type { GatewayDeps } from '../gateway-deps';

/** Keys of two organizations; the accounts lib replaces this map behind the same seam. */
export const KEYS = {
  curatorA: 'key-a-curator-0123456789abcdef',
  memberA: 'key-a-member-0123456789abcdef',
  otherMemberA: 'key-a-member2-0123456789abcdef',
  curatorB: 'key-b-curator-0123456789abcdef',
} as const;

const PRINCIPALS: Record<string, Principal> = {
  [KEYS.curatorA]: { orgId: 'org-a', userId: 'u-a-curator', role: 'curator', keyId: 'k-a-cur' },
  [KEYS.memberA]: { orgId: 'org-a', userId: 'u-a-member', role: 'member', keyId: 'k-a-mem' },
  [KEYS.otherMemberA]: { orgId: 'org-a', userId: 'u-a-member2', role: 'member', keyId: 'k-a-mem2' },
  [KEYS.curatorB]: { orgId: 'org-b', userId: 'u-b-curator', role: 'curator', keyId: 'k-b-cur' },
};

/** What a print service would refuse to fetch: IP literals outside public unicast, and localhost. */
export async function refusePrivateUrls(url: string): Promise<void> {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    throw new DomainError('VALIDATION_FAILED', 'content is not a URL');
  }
  const literal = host.replace(/^\[|\]$/g, '');
  const isPrivate = ipaddr.isValid(literal) ? ipaddr.process(literal).range() !== 'unicast' : host === 'localhost';
  if (isPrivate) throw new DomainError('URL_NOT_ALLOWED', `${host} is not a public address`);
}

export const MIGRATIONS = {
  ...accountsMigrations,
  ...jobsReadModelMigrations,
  ...jobRuntimeMigrations,
  ...storageMigrations,
  ...printMigrations,
  ...messagingMigrations,
};

export interface GatewayHarness {
  database: TestDatabase;
  store: PostgresEventStore;
  bus: InProcessCommandBus;
  deps: GatewayDeps;
  /** A gateway app over the same database; closed by `dispose`. */
  app(overrides?: Partial<GatewayDeps>): Promise<NestFastifyApplication>;
  /** Appends a JobFailed straight to the log, as a worker would. */
  failJob(jobId: string): Promise<void>;
  dispose(): Promise<void>;
}

/** A real print service behind an in-process bus, on a fresh migrated database. */
export async function createGatewayHarness(backend: TestBackend, label: string): Promise<GatewayHarness> {
  const database = await createTestDatabase(backend, label, MIGRATIONS);
  const store = new PostgresEventStore(database.db as unknown as EventStoreDb, {
    projections: [createJobsProjection([printKindModel])],
  });
  const jobs = new PrintJobs({
    store,
    db: database.db,
    blobs: new PostgresBlobStore(database.db),
    printers: new PrinterRegistry(database.db),
    checkUrl: refusePrivateUrls,
    maxDocumentBytes: 1024 * 1024,
  });
  const bus = new InProcessCommandBus().register('print', printCommandHandlers(jobs));
  const deps: GatewayDeps = {
    db: database.db,
    store,
    commands: bus,
    authenticate: async (key) => PRINCIPALS[key] ?? null,
    readiness: async () => ({ database: true }),
    config: { streamPollMs: 20 },
  };
  const apps: NestFastifyApplication[] = [];
  return {
    database,
    store,
    bus,
    deps,
    async app(overrides = {}) {
      const app = await createGatewayApp({ ...deps, ...overrides, config: { ...deps.config, ...overrides.config } }, { logger: false });
      await app.getHttpAdapter().getInstance().ready();
      apps.push(app);
      return app;
    },
    async failJob(jobId) {
      await store.appendToStream(jobStreamId(jobId), [
        { type: 'JobFailed', data: { code: 'PRINTER_UNREACHABLE', message: 'printer unreachable', at: new Date().toISOString() } },
      ]);
    },
    async dispose() {
      for (const app of apps) await app.close();
      await store.close();
      await database.dispose();
    },
  };
}

export interface Call {
  key?: string;
  body?: unknown;
  /** Sent as is, instead of `body` as JSON. */
  payload?: string;
  headers?: Record<string, string>;
}

// Test bodies are JSON read field by field; `any` keeps assertions readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface Answer<Body = any> {
  status: number;
  headers: Record<string, unknown>;
  body: Body;
  text: string;
}

/** One request through Fastify's inject: no socket, the whole stack. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function call<Body = any>(
  app: NestFastifyApplication,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  { key, body, payload, headers = {} }: Call = {},
): Promise<Answer<Body>> {
  const response = await app.inject({
    method,
    url,
    headers: {
      ...(key ? { 'x-api-key': key } : {}),
      ...(body !== undefined || payload !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(payload !== undefined ? { payload } : body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    parsed = undefined;
  }
  return { status: response.statusCode, headers: response.headers, body: parsed as Body, text: response.body };
}

/** `^XA^FO50,50^A0N,50,50^FDHello World^FS^XZ`, the reference example's label. */
export const LABEL_BASE64 = 'XlhBXkZPNTAuNTBeQTBOLDUwLDUwXkZESGVsbG8gV29ybGReRlNeWFo=';

export const LABEL_PRINTER = { name: 'labels', uri: 'socket://192.168.86.250:9100', tags: ['LABELS'] };
export const LABEL_PRINTER_PATH = 'tcp_192-168-86-250_9100';
