import { connect } from '@nats-io/transport-node';
import Redis from 'ioredis';
import { Client } from 'pg';
import { testPostgresAdminUrl } from '@switchyard/event-store/testing';
import { NATS_URL } from '@switchyard/platform/testing';
import { redisFromEnv } from './systems/bullmq';

/** The servers under the systems, as configured: durability differs (Redis here keeps nothing on disk). */
export interface Servers {
  postgres: Record<string, string> | { error: string };
  redis: Record<string, string> | { error: string };
  nats: Record<string, string> | { error: string };
}

const failed = (error: unknown): { error: string } => ({ error: error instanceof Error ? error.message : String(error) });

async function postgres(): Promise<Record<string, string>> {
  const client = new Client({ connectionString: testPostgresAdminUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
       WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers', 'max_connections', 'wal_level')`,
    );
    return Object.fromEntries(rows.map((row) => [row.name, row.setting]));
  } finally {
    await client.end();
  }
}

async function redis(): Promise<Record<string, string>> {
  const client = new Redis({ ...redisFromEnv(), lazyConnect: true });
  await client.connect();
  try {
    const version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? 'unknown';
    const [, appendonly = ''] = (await client.config('GET', 'appendonly')) as string[];
    const [, save = ''] = (await client.config('GET', 'save')) as string[];
    return { version, appendonly, save: save === '' ? '(no snapshots)' : save };
  } finally {
    client.disconnect();
  }
}

async function nats(): Promise<Record<string, string>> {
  const nc = await connect({ servers: NATS_URL });
  try {
    return { url: NATS_URL, version: nc.info?.version ?? 'unknown', jetstream: String(nc.info?.jetstream ?? false) };
  } finally {
    await nc.close();
  }
}

export async function describeServers(): Promise<Servers> {
  const [pg, rd, nt] = await Promise.all([postgres().catch(failed), redis().catch(failed), nats().catch(failed)]);
  return { postgres: pg, redis: rd, nats: nt };
}
