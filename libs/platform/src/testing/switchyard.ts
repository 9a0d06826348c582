import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createPostgresTestDatabase, type TestDatabase } from '@switchyard/event-store/testing';
import { freePort, startApp, waitUntilReady, type AppProcess } from './processes';

export const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** A key in the accounts lib's format for the bootstrap admin of a test installation. */
export const newAdminKey = (): string => `sy_e2eadmin${randomBytes(2).toString('hex')}_${randomBytes(24).toString('base64url')}`;

export interface DistributedOptions {
  /** Extra environment of the print service. */
  print?: Record<string, string>;
  /** Start the image service too, with this extra environment. */
  image?: Record<string, string>;
}

export interface Distributed {
  database: TestDatabase;
  gatewayUrl: string;
  adminKey: string;
  env: Record<string, string>;
  gateway: AppProcess;
  print: AppProcess;
  /** Only when started with `image`. */
  image: AppProcess | undefined;
  startPrint(extra?: Record<string, string>): Promise<AppProcess>;
  startImage(extra?: Record<string, string>): Promise<AppProcess>;
  stop(): Promise<void>;
}

/**
 * The distributed mode for real: a gateway process and the service processes on a database and a
 * JetStream stream of their own, talking over the real NATS.
 */
export async function startDistributed(options: DistributedOptions = {}): Promise<Distributed> {
  const database = await createPostgresTestDatabase('e2e', {}, 2);
  const id = randomBytes(4).toString('hex');
  const adminKey = newAdminKey();
  const env = {
    DATABASE_URL: database.url as string,
    NATS_URL,
    NATS_EVENTS_STREAM: `E2E_${id}`,
    NATS_SUBJECT_ROOT: `e2e${id}`,
    NATS_COMMAND_ROOT: `e2ecmd${id}`,
    SWITCHYARD_BOOTSTRAP_KEY: adminKey,
    SWITCHYARD_URL_SIGNING_SECRET: randomBytes(32).toString('base64url'),
    PRINT_FOLLOW_INTERVAL_MS: '100',
  };
  const gatewayPort = await freePort();
  const gateway = startApp('gateway', { ...env, PORT: String(gatewayPort), HOST: '127.0.0.1' });
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const startService = async (app: 'print' | 'imagegen', extra: Record<string, string>): Promise<AppProcess> => {
    const healthPort = await freePort();
    const service = startApp(app, { ...env, ...extra, HEALTH_PORT: String(healthPort) });
    await waitUntilReady(`http://127.0.0.1:${healthPort}/readyz`, service);
    return service;
  };
  const startPrint = (extra: Record<string, string> = {}) => startService('print', { ...options.print, ...extra });
  const startImage = (extra: Record<string, string> = {}) => startService('imagegen', { ...options.image, ...extra });
  const started: AppProcess[] = [gateway];
  let print: AppProcess;
  let image: AppProcess | undefined;
  try {
    await waitUntilReady(`${gatewayUrl}/readyz`, gateway);
    [print, image] = await Promise.all([
      startPrint().then((process) => (started.push(process), process)),
      options.image ? startImage().then((process) => (started.push(process), process)) : undefined,
    ]);
  } catch (error) {
    await Promise.all(started.map((process) => process.kill()));
    await database.dispose();
    throw error;
  }
  const handle: Distributed = {
    database,
    gatewayUrl,
    adminKey,
    env,
    gateway,
    print,
    image,
    startPrint,
    startImage,
    async stop() {
      await Promise.all([handle.gateway, handle.print, handle.image].map((process) => process?.kill('SIGTERM')));
      const nc = await connect({ servers: NATS_URL });
      await (await jetstreamManager(nc)).streams.delete(env.NATS_EVENTS_STREAM).catch(() => undefined);
      await nc.close();
      await database.dispose();
    },
  };
  return handle;
}

/** A tiny client of our public HTTP API, with one key. */
export function apiClient(baseUrl: string, key: string) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { 'X-API-Key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    // Tests reach deep into the JSON they get back; the assertions are the type check.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => call('POST', path, body ?? {}, headers),
  };
}

export interface Embedded {
  baseUrl: string;
  adminKey: string;
  app: AppProcess;
  stop(): Promise<void>;
}

/** The embedded mode for real: the process `npm start` runs, on PGlite in a fresh data folder. */
export async function startEmbedded(extraEnv: Record<string, string> = {}): Promise<Embedded> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-e2e-'));
  const adminKey = newAdminKey();
  const port = await freePort();
  const app = startApp('switchyard', {
    DATABASE_URL: `pglite://${join(dataDir, 'db')}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    SWITCHYARD_BOOTSTRAP_KEY: adminKey,
    ...extraEnv,
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(`${baseUrl}/readyz`, app, 60_000);
  } catch (error) {
    await app.kill();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    baseUrl,
    adminKey,
    app,
    async stop() {
      await app.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Grants credits to the installation's `default` organization (the bootstrap admin's) through the
 * admin route, as an operator would; answers the grant's HTTP status.
 */
export async function grantDefaultOrgCredits(api: ReturnType<typeof apiClient>, amount: number, reason: string): Promise<number> {
  const orgs = (await api.get('/v1/admin/organizations')).body['data'] as { id: string; name: string }[];
  const orgId = orgs.find((org) => org.name === 'default')?.id;
  if (!orgId) throw new Error('the installation has no default organization');
  return (await api.post(`/v1/admin/organizations/${orgId}/credits`, { amount, reason })).status;
}
