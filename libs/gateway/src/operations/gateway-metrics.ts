import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { Gauge, Histogram, Registry } from 'prom-client';
import { GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps';

/** The gateway's Prometheus metrics, in a registry of its own (two apps in one process never collide). */
@Injectable()
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  /** Server-sent-event streams open now; each polls the log until it closes. */
  readonly openStreams: Gauge;

  constructor(@Inject(GATEWAY_DEPS) deps: GatewayDeps) {
    const registers = [this.registry];
    const db = deps.db;
    // Computed at scrape time from the read model, so every replica reports the same truth.
    new Gauge({
      name: 'switchyard_jobs',
      help: 'Jobs by kind and status, from the jobs read model',
      labelNames: ['kind', 'status'] as const,
      registers,
      async collect() {
        const { rows } = await sql<{ kind: string; status: string; jobs: number | string }>`
          SELECT kind, status, count(*) AS jobs FROM jobs GROUP BY kind, status`.execute(db);
        this.reset();
        for (const row of rows) this.set({ kind: row.kind, status: row.status }, Number(row.jobs));
      },
    });
    this.requestDuration = new Histogram({
      name: 'switchyard_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.openStreams = new Gauge({
      name: 'switchyard_sse_streams_open',
      help: 'Server-sent-event job streams open now',
      registers,
    });
    const relayLag = deps.metrics?.relayLag?.bind(deps.metrics);
    if (relayLag) {
      new Gauge({
        name: 'switchyard_relay_lag_events',
        help: 'Events in the log not yet published by the relay',
        registers,
        async collect() {
          this.set(await relayLag());
        },
      });
    }
    const projectionLag = deps.metrics?.projectionLag?.bind(deps.metrics);
    if (projectionLag) {
      new Gauge({
        name: 'switchyard_projection_lag_events',
        help: 'Events in the log not yet applied by the asynchronous projections',
        registers,
        async collect() {
          this.set(await projectionLag());
        },
      });
    }
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requestDuration.observe({ method, route, status: String(status) }, seconds);
  }
}
