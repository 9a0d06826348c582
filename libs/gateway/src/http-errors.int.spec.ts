import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TEST_BACKENDS } from '@switchyard/event-store/testing';
import { call, createGatewayHarness, KEYS, LABEL_BASE64, LABEL_PRINTER, type Answer, type GatewayHarness } from './testing/gateway-harness';

/** The print dialect's error envelope, with its code. */
const printError = (response: Answer, status: number, code: string, module: string): void => {
  expect({ status: response.status, body: response.body }).toEqual({
    status,
    body: {
      status: 'error',
      statusCode: status,
      result: { module, message: expect.any(String), content: { message: expect.any(String), code } },
    },
  });
};

/** The unified dialect's error body. */
const unifiedError = (response: Answer, status: number, code: string): void => {
  expect({ status: response.status, body: response.body }).toEqual({
    status,
    body: { error: { code, message: expect.any(String), ...(response.body?.error?.details ? { details: expect.anything() } : {}) } },
  });
};

describe.each(TEST_BACKENDS)('every bad input answers its code and status, never a 500 (%s)', (backend) => {
  let harness: GatewayHarness;
  let app: NestFastifyApplication;

  const print = (body: unknown, target = 'tag_LABELS', key: string = KEYS.memberA) =>
    call(app, 'POST', `/api/v1/print/${target}`, { key, body });

  beforeAll(async () => {
    harness = await createGatewayHarness(backend, 'gateway_errors');
    app = await harness.app();
    expect((await call(app, 'POST', '/v1/printers', { key: KEYS.curatorA, body: LABEL_PRINTER })).status).toBe(201);
  });
  afterAll(() => harness.dispose());

  it('malformed JSON: 400 INVALID_JSON in both dialects', async () => {
    printError(await call(app, 'POST', '/api/v1/print/tag_LABELS', { key: KEYS.memberA, payload: '{"content": ' }), 400, 'INVALID_JSON', '/print/tag_LABELS');
    unifiedError(await call(app, 'POST', '/v1/jobs/print', { key: KEYS.memberA, payload: '{nope' }), 400, 'INVALID_JSON');
    // Prototype poisoning is refused like any other bad JSON.
    unifiedError(
      await call(app, 'POST', '/v1/jobs/print', { key: KEYS.memberA, payload: '{"__proto__": {"admin": true}}' }),
      400,
      'INVALID_JSON',
    );
  });

  it('content that is not base64, or empty: 400 INVALID_CONTENT', async () => {
    printError(await print({ content: 'not base64 at all!', contentType: 'raw_base64' }), 400, 'INVALID_CONTENT', '/print/tag_LABELS');
    printError(await print({ content: '', contentType: 'raw_base64' }), 400, 'INVALID_CONTENT', '/print/tag_LABELS');
    printError(await print({ content: LABEL_BASE64, contentType: 'pdf_base64' }), 400, 'INVALID_CONTENT', '/print/tag_LABELS');
    unifiedError(
      await call(app, 'POST', '/v1/jobs/print', { key: KEYS.memberA, body: { target: 'tag_LABELS', content: '', contentType: 'raw_base64' } }),
      400,
      'INVALID_CONTENT',
    );
  });

  it('an unknown content type: 400 UNSUPPORTED_CONTENT_TYPE', async () => {
    printError(await print({ content: LABEL_BASE64, contentType: 'docx_base64' }), 400, 'UNSUPPORTED_CONTENT_TYPE', '/print/tag_LABELS');
    unifiedError(
      await call(app, 'POST', '/v1/jobs/print', { key: KEYS.memberA, body: { target: 'tag_LABELS', content: LABEL_BASE64, contentType: 7 } }),
      400,
      'UNSUPPORTED_CONTENT_TYPE',
    );
  });

  it('other shape errors: 400 VALIDATION_FAILED', async () => {
    printError(await print({ content: LABEL_BASE64, contentType: 'raw_base64', wait: 'yes' }), 400, 'VALIDATION_FAILED', '/print/tag_LABELS');
    printError(await print([1, 2, 3]), 400, 'VALIDATION_FAILED', '/print/tag_LABELS');
    printError(await call(app, 'POST', '/api/v1/print/tag_LABELS', { key: KEYS.memberA }), 400, 'VALIDATION_FAILED', '/print/tag_LABELS');
    unifiedError(await call(app, 'POST', '/v1/jobs/print', { key: KEYS.memberA, body: { content: LABEL_BASE64, contentType: 'raw_base64' } }), 400, 'VALIDATION_FAILED');
    unifiedError(
      await call(app, 'POST', '/v1/jobs/print', { key: KEYS.memberA, body: { ...{ target: 'tag_LABELS', content: LABEL_BASE64, contentType: 'raw_base64' } }, headers: { 'idempotency-key': 'x'.repeat(300) } }),
      400,
      'VALIDATION_FAILED',
    );
    unifiedError(await call(app, 'GET', '/v1/jobs/pj_00000000/stream', { key: KEYS.memberA, headers: { 'last-event-id': 'abc' } }), 400, 'VALIDATION_FAILED');
  });

  it('a target nobody registered: 404 UNKNOWN_TARGET', async () => {
    printError(await print({ content: LABEL_BASE64, contentType: 'raw_base64' }, 'tag_NOPE'), 404, 'UNKNOWN_TARGET', '/print/tag_NOPE');
    // Another organization's printer is no target either.
    printError(await print({ content: LABEL_BASE64, contentType: 'raw_base64' }, 'tag_LABELS', KEYS.curatorB), 404, 'UNKNOWN_TARGET', '/print/tag_LABELS');
  });

  it.each(['http://127.0.0.1/label.zpl', 'http://10.0.0.1/label.zpl', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x'])(
    'a raw_url to %s: 400 URL_NOT_ALLOWED',
    async (url) => {
      printError(await print({ content: url, contentType: 'raw_url' }), 400, 'URL_NOT_ALLOWED', '/print/tag_LABELS');
    },
  );

  it('a body over the limit: 413 PAYLOAD_TOO_LARGE in both dialects', async () => {
    const small = await harness.app({ config: { bodyLimitBytes: 1024 } });
    const big = { content: Buffer.alloc(4096, 1).toString('base64'), contentType: 'raw_base64' };
    printError(await call(small, 'POST', '/api/v1/print/tag_LABELS', { key: KEYS.memberA, body: big }), 413, 'PAYLOAD_TOO_LARGE', '/print/tag_LABELS');
    unifiedError(await call(small, 'POST', '/v1/jobs/print', { key: KEYS.memberA, body: { ...big, target: 'tag_LABELS' } }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a content type that is not JSON: 400 VALIDATION_FAILED', async () => {
    const response = await call(app, 'POST', '/api/v1/print/tag_LABELS', {
      key: KEYS.memberA,
      payload: 'content=abc',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    printError(response, 400, 'VALIDATION_FAILED', '/print/tag_LABELS');
    unifiedError(
      await call(app, 'POST', '/v1/jobs/print', { key: KEYS.memberA, payload: 'hello', headers: { 'content-type': 'text/plain' } }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('no key, or a key nobody holds: 401 UNAUTHORIZED in both dialects', async () => {
    printError(await call(app, 'GET', '/api/v1/jobs/pj_00000000'), 401, 'UNAUTHORIZED', '/jobs/pj_00000000');
    printError(await call(app, 'GET', '/api/v1/jobs/pj_00000000', { key: 'wrong-key' }), 401, 'UNAUTHORIZED', '/jobs/pj_00000000');
    unifiedError(await call(app, 'GET', '/v1/jobs'), 401, 'UNAUTHORIZED');
    unifiedError(await call(app, 'GET', '/v1/jobs', { headers: { authorization: 'Bearer wrong-key' } }), 401, 'UNAUTHORIZED');
    unifiedError(await call(app, 'GET', '/v1/jobs', { headers: { authorization: `Basic ${KEYS.curatorA}` } }), 401, 'UNAUTHORIZED');
    unifiedError(await call(app, 'POST', '/v1/jobs/print', { body: {} }), 401, 'UNAUTHORIZED');
  });

  it('accepts the key in any of the three headers', async () => {
    expect((await call(app, 'GET', '/v1/jobs', { headers: { 'x-api-key': KEYS.curatorA } })).status).toBe(200);
    expect((await call(app, 'GET', '/v1/jobs', { headers: { authorization: `Bearer ${KEYS.curatorA}` } })).status).toBe(200);
    expect((await call(app, 'GET', '/v1/jobs', { headers: { 'x-access-token': KEYS.curatorA } })).status).toBe(200);
  });

  it('a member registering a printer: 403 FORBIDDEN', async () => {
    unifiedError(await call(app, 'POST', '/v1/printers', { key: KEYS.memberA, body: { name: 'p2', uri: 'ipp://printer.local/ipp/print' } }), 403, 'FORBIDDEN');
  });

  it('a route that does not exist: 404 NOT_FOUND in the dialect of its path', async () => {
    printError(await call(app, 'GET', '/api/v1/printers', { key: KEYS.memberA }), 404, 'NOT_FOUND', '/printers');
    unifiedError(await call(app, 'GET', '/v1/nothing-here', { key: KEYS.memberA }), 404, 'NOT_FOUND');
    unifiedError(await call(app, 'DELETE' as 'GET', '/v1/jobs', { key: KEYS.memberA }), 404, 'NOT_FOUND');
  });

  it('values the database could not hold, or URLs Fastify cannot route: 400, never 500', async () => {
    const forgedCursor = Buffer.from(JSON.stringify(['not a time', 'x'])).toString('base64url');
    for (const url of [
      '/v1/jobs/a%00b',
      '/v1/jobs?externalId=%00',
      `/v1/jobs?cursor=${forgedCursor}`,
      '/v1/jobs?createdFrom=0000-01-01T00:00:00Z',
      '/v1/jobs/%ZZ',
    ]) {
      unifiedError(await call(app, 'GET', url, { key: KEYS.curatorA }), 400, 'VALIDATION_FAILED');
    }
    printError(await call(app, 'GET', '/api/v1/jobs/pj_%00', { key: KEYS.memberA }), 400, 'VALIDATION_FAILED', '/jobs/pj_%00');
    printError(await print({ content: LABEL_BASE64, contentType: 'raw_base64', title: 'a\u0000b' }), 400, 'VALIDATION_FAILED', '/print/tag_LABELS');
    unifiedError(await call(app, 'POST', '/v1/printers', { key: KEYS.curatorA, body: { name: 'p', uri: 'ipp://a\u0000b/x' } }), 400, 'VALIDATION_FAILED');
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect((await call(app, 'POST', '/v1/jobs/print', { key: KEYS.memberA, payload: deep })).status).toBeLessThan(500);
  });

  it('an unexpected failure: 500 INTERNAL, with nothing of it in the body', async () => {
    const broken = await harness.app({
      authenticate: async () => {
        throw new Error('connection refused to 10.1.2.3:5432 (secret detail)');
      },
    });
    const response = await call(broken, 'GET', '/v1/jobs', { key: KEYS.memberA });
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(response.text).not.toMatch(/secret|10\.1\.2\.3/);
  });
});
