import { readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
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
  kernel: Record<string, string>;
}

const failed = (error: unknown): { error: string } => ({ error: error instanceof Error ? error.message : String(error) });

async function postgres(): Promise<Record<string, string>> {
  const client = new Client({ connectionString: testPostgresAdminUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
       WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers', 'max_connections', 'wal_level',
                      'autovacuum', 'autovacuum_naptime')`,
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

const DAMON = '/sys/kernel/mm/damon/admin/kdamonds';
const readSetting = (path: string): string => readFileSync(path, 'utf8').trim();
/** The numbered entries of a DAMON directory (beside them: nr_kdamonds, nr_schemes...). */
const numbered = (name: string): boolean => /^\d+$/.test(name);

/**
 * The kernel's own memory monitor (DAMON), when one runs. On the machines these figures came from, a
 * kdamond samples physical memory every 500 ms to page cold memory out to the host, and each sample
 * held the busy processes up for 15-45 ms: Switchyard embedded's status reads at 2,000/s had a p99
 * of 3.8-11 ms over five of six rounds with it stopped, 28-39 ms in all six with it running (same
 * build, same run). A reader of the figures should know it was there.
 */
function kernel(): Record<string, string> {
  const described: Record<string, string> = { release: release() };
  let kdamonds: string[] = [];
  try {
    kdamonds = readdirSync(DAMON).filter(numbered);
  } catch {
    return described;
  }
  for (const id of kdamonds) {
    const kdamond = join(DAMON, id);
    try {
      if (readSetting(join(kdamond, 'state')) !== 'on') continue;
      const context = join(kdamond, 'contexts', '0');
      const schemes = readdirSync(join(context, 'schemes'))
        .filter(numbered)
        .map((scheme) => readSetting(join(context, 'schemes', scheme, 'action')));
      const sampleUs = Number(readSetting(join(context, 'monitoring_attrs', 'intervals', 'sample_us')));
      described[`damon${id}`] = `${readSetting(join(context, 'operations'))}/${schemes.join('+') || 'monitor'}/sampling every ${sampleUs / 1000} ms`;
    } catch {
      described[`damon${id}`] = 'unreadable';
    }
  }
  return described;
}

export async function describeServers(): Promise<Servers> {
  const [pg, rd, nt] = await Promise.all([postgres().catch(failed), redis().catch(failed), nats().catch(failed)]);
  return { postgres: pg, redis: rd, nats: nt, kernel: kernel() };
}
