import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { jobStreamId, type RecordedEvent } from '@switchyard/contracts';
import { GATEWAY_CONFIG, GATEWAY_DEPS, type GatewayConfig, type GatewayDeps } from '../gateway-deps';
import { AppShutdown } from '../http/app-shutdown';
import { GatewayMetrics } from '../operations/gateway-metrics';
import { clientGone, pause } from '../pause';

/** After one of these a job never changes again: its stream closes. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set(['JobCompleted', 'JobFailed', 'JobCancelled', 'JobExpired']);

/** An event as `/events` and `/stream` show it. */
export interface JobEventView {
  version: number;
  type: string;
  data: unknown;
  createdAt: string;
}

export const jobEventView = (event: RecordedEvent): JobEventView => ({
  version: event.streamVersion,
  type: event.type,
  data: event.data,
  createdAt: new Date(event.createdAt).toISOString(),
});

// Proxies drop a connection silent for long; a comment line keeps it open and costs clients nothing.
const HEARTBEAT_MS = 15_000;

const frame = (event: RecordedEvent): string =>
  `id: ${event.streamVersion}\nevent: ${event.type}\ndata: ${JSON.stringify(jobEventView(event))}\n\n`;

/** Server-sent events of one job: its history after a version, then each new event, until it ends. */
@Injectable()
export class JobEventStreams {
  private readonly logger = new Logger('Gateway');

  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics,
    private readonly shutdown: AppShutdown,
  ) {}

  /**
   * Takes the response over from Fastify and writes events after `afterVersion`, polling the log;
   * returns once a terminal event was written, the job had already ended, the client left or the app closes.
   */
  async serve(reply: FastifyReply, jobId: string, afterVersion: number, endedAlready: boolean): Promise<void> {
    reply.hijack();
    const raw = reply.raw;
    const headers = Object.entries(reply.getHeaders()).filter((entry): entry is [string, string | number | string[]] => entry[1] !== undefined);
    raw.writeHead(200, {
      ...Object.fromEntries(headers),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.flushHeaders();
    const gone = clientGone(raw, this.shutdown.signal);
    this.metrics.openStreams.inc();
    let last = afterVersion;
    let lastWrite = Date.now();
    try {
      while (!gone.signal.aborted) {
        const { events } = await this.deps.store.readStream(jobStreamId(jobId), { from: last + 1 });
        let ended = endedAlready && events.length === 0;
        for (const event of events) {
          raw.write(frame(event));
          last = event.streamVersion;
          lastWrite = Date.now();
          if (TERMINAL_EVENT_TYPES.has(event.type)) {
            ended = true;
            break;
          }
        }
        if (ended) break;
        if (Date.now() - lastWrite >= HEARTBEAT_MS) {
          raw.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await pause(this.config.streamPollMs, gone.signal);
      }
    } catch (error) {
      this.logger.error(
        `event stream of job ${jobId} failed: ${error instanceof Error ? error.message : String(error)}`,
        error instanceof Error ? error.stack : undefined,
      );
    } finally {
      gone.release();
      this.metrics.openStreams.dec();
      if (!raw.writableEnded) raw.end();
    }
  }
}
