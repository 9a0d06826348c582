import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { COMMAND_SUBJECT_ROOT, EVENT_SUBJECT_ROOT, EVENTS_STREAM } from '@switchyard/contracts';
import { z } from 'zod';

const TWO_HOURS_MS = 2 * 60 * 60 * 1000;

const positiveMs = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const natsEnvSchema = z.object({
  NATS_URL: z
    .string()
    .default('nats://127.0.0.1:4222')
    .transform((value) =>
      value
        .split(',')
        .map((server) => server.trim())
        .filter((server) => server !== ''),
    )
    .pipe(z.array(z.string().regex(/^(nats|tls|ws|wss):\/\/\S+$|^[^:/\s]+(:\d+)?$/, 'a nats:// URL or host:port')).min(1)),
  NATS_EVENTS_STREAM: z
    .string()
    .regex(/^[^.*>\s/\\]+$/, 'a JetStream stream name (no ".", "*", ">", "/", "\\" or spaces)')
    .default(EVENTS_STREAM),
  NATS_SUBJECT_ROOT: z
    .string()
    .regex(/^[^.*>\s]+$/, 'one subject token (no ".", "*", ">" or spaces)')
    .default(EVENT_SUBJECT_ROOT),
  // The relay replays its last unacknowledged batch after a crash; that replay must land inside this
  // window for msgID dedupe to drop it, so it must exceed the longest relay outage we tolerate.
  /** Where commands go; installations sharing one NATS each need their own. */
  NATS_COMMAND_ROOT: z
    .string()
    .regex(/^[^.*>\s]+$/, 'one subject token (no ".", "*", ">" or spaces)')
    .default(COMMAND_SUBJECT_ROOT),
  NATS_DEDUPE_WINDOW_MS: positiveMs(TWO_HOURS_MS),
  NATS_REQUEST_TIMEOUT_MS: positiveMs(5_000),
  NATS_CONNECTION_NAME: z.string().optional(),
});

export interface NatsConfig {
  servers: string[];
  eventsStream: string;
  subjectRoot: string;
  commandRoot: string;
  dedupeWindowMs: number;
  /** For connecting and for every request, JetStream API call and PubAck. */
  requestTimeoutMs: number;
  /** Shown in the server's connection list (`nats server report connections`). */
  connectionName: string;
}

/** Reads and validates the NATS settings; the defaults reach a local server. */
export function natsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): NatsConfig {
  const parsed = natsEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`invalid NATS configuration: ${problems}`);
  }
  const value = parsed.data;
  return {
    servers: value.NATS_URL,
    eventsStream: value.NATS_EVENTS_STREAM,
    subjectRoot: value.NATS_SUBJECT_ROOT,
    commandRoot: value.NATS_COMMAND_ROOT,
    dedupeWindowMs: value.NATS_DEDUPE_WINDOW_MS,
    requestTimeoutMs: value.NATS_REQUEST_TIMEOUT_MS,
    connectionName: value.NATS_CONNECTION_NAME ?? `switchyard-${hostname()}-${process.pid}`,
  };
}

/**
 * Connects, failing fast if no server answers at start (a wrong URL should stop the process), then
 * keeps reconnecting for as long as the process lives: a broker restart is not fatal.
 */
export function connectNats(config: Pick<NatsConfig, 'servers' | 'requestTimeoutMs' | 'connectionName'>): Promise<NatsConnection> {
  return connect({
    servers: config.servers,
    name: config.connectionName,
    timeout: config.requestTimeoutMs,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    // Otherwise every request (each JetStream publish and pull among them) builds two Errors up
    // front, stack traces and all, for the rare one that fails: 3 % of the print service's CPU.
    noAsyncTraces: true,
  });
}
