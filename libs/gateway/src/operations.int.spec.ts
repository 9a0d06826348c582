import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TEST_BACKENDS } from '@switchyard/event-store/testing';
import { call, createGatewayHarness, KEYS, LABEL_BASE64, LABEL_PRINTER, type GatewayHarness } from './testing/gateway-harness';

describe.each(TEST_BACKENDS)('probes, metrics and the OpenAPI document (%s)', (backend) => {
  let harness: GatewayHarness;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    harness = await createGatewayHarness(backend, 'gateway_operations');
    app = await harness.app({ metrics: { relayLag: async () => 7, projectionLag: async () => 0 } });
  });
  afterAll(() => harness.dispose());

  it('GET /healthz: 200 {status: ok}, without a key', async () => {
    const response = await call(app, 'GET', '/healthz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz: 200 with the readiness map when every check holds, 503 otherwise', async () => {
    const ready = await call(app, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ database: true });

    const degraded = await harness.app({ readiness: async () => ({ database: true, nats: false }) });
    const notReady = await call(degraded, 'GET', '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toEqual({ database: true, nats: false });

    const failing = await harness.app({
      readiness: async () => {
        throw new Error('database down');
      },
    });
    expect((await call(failing, 'GET', '/readyz')).status).toBe(503);
  });

  it('GET /metrics: Prometheus text with the jobs gauge, request durations and lags', async () => {
    expect((await call(app, 'POST', '/v1/printers', { key: KEYS.curatorA, body: LABEL_PRINTER })).status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const submitted = await call(app, 'POST', '/api/v1/print/tag_LABELS', {
        key: KEYS.memberA,
        body: { content: LABEL_BASE64, contentType: 'raw_base64' },
      });
      expect(submitted.status).toBe(200);
    }
    await call(app, 'GET', '/v1/jobs/pj_00000000', { key: KEYS.memberA });

    const response = await call(app, 'GET', '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.text).toMatch(/^# TYPE switchyard_jobs gauge$/m);
    expect(response.text).toMatch(/^switchyard_jobs\{kind="print",status="queued"\} 2$/m);
    expect(response.text).toMatch(/^# TYPE switchyard_http_request_duration_seconds histogram$/m);
    expect(response.text).toMatch(
      /^switchyard_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/print\/:target",status="200"\} 2$/m,
    );
    expect(response.text).toMatch(/^switchyard_http_request_duration_seconds_count\{method="GET",route="\/v1\/jobs\/:id",status="404"\} 1$/m);
    expect(response.text).toMatch(/^switchyard_relay_lag_events 7$/m);
    expect(response.text).toMatch(/^switchyard_projection_lag_events 0$/m);
    // Its own registry: nothing from prom-client's global one (default process metrics).
    expect(response.text).not.toMatch(/process_cpu/);
  });

  it('GET /v1/openapi.json: the OpenAPI document, public; Swagger UI at /docs', async () => {
    const response = await call(app, 'GET', '/v1/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const document = response.body;
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/v1/jobs/{kind}',
        '/v1/jobs',
        '/v1/jobs/{id}',
        '/v1/jobs/{id}/events',
        '/v1/jobs/{id}/stream',
        '/v1/jobs/{id}/cancel',
        '/v1/jobs/{id}/resume',
        '/v1/printers',
        '/api/v1/print/{target}',
        '/api/v1/jobs/{jobId}',
        '/healthz',
      ]),
    );
    expect(document.paths['/api/v1/print/{target}'].post.requestBody.content['application/json'].schema.properties.contentType.enum).toEqual([
      'pdf_base64',
      'raw_base64',
      'pdf_url',
      'raw_url',
    ]);
    expect(document.components.securitySchemes['api-key']).toEqual({ type: 'apiKey', in: 'header', name: 'X-API-Key' });

    const ui = await call(app, 'GET', '/docs');
    expect(ui.status).toBe(200);
    expect(ui.headers['content-type']).toMatch(/^text\/html/);
    expect(ui.text).toContain('swagger-ui');
    const assets = await call(app, 'GET', '/docs/swagger-ui-bundle.js');
    expect(assets.status).toBe(200);
  });
});
