import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { jobStreamId } from '@switchyard/contracts';
import { eventually, TEST_BACKENDS } from '@switchyard/event-store/testing';
import {
  call,
  createGatewayHarness,
  KEYS,
  LABEL_BASE64,
  LABEL_PRINTER,
  type GatewayHarness,
} from './testing/gateway-harness';

interface SseEvent {
  id: string;
  event: string;
  data: { version: number; type: string; data: Record<string, unknown>; createdAt: string };
}

const parseSse = (text: string): SseEvent[] =>
  text
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const fields = Object.fromEntries(
        block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
      );
      return { id: fields['id'], event: fields['event'], data: JSON.parse(fields['data'] ?? 'null') } as SseEvent;
    });

describe.each(TEST_BACKENDS)('unified /v1 API over HTTP (%s)', (backend) => {
  let harness: GatewayHarness;
  let app: NestFastifyApplication;

  const printJob = { target: 'tag_LABELS', content: LABEL_BASE64, contentType: 'raw_base64' };
  const submit = async (key: string = KEYS.memberA, body: Record<string, unknown> = printJob): Promise<string> => {
    const response = await call(app, 'POST', '/v1/jobs/print', { key, body });
    expect(response.status).toBe(201);
    return response.body.job.id as string;
  };

  beforeAll(async () => {
    harness = await createGatewayHarness(backend, 'gateway_unified');
    app = await harness.app();
    expect((await call(app, 'POST', '/v1/printers', { key: KEYS.curatorA, body: LABEL_PRINTER })).status).toBe(201);
    expect((await call(app, 'POST', '/v1/printers', { key: KEYS.curatorB, body: LABEL_PRINTER })).status).toBe(201);
  });
  afterAll(() => harness.dispose());

  it('submits a print job: 201 with the job and its print details; the correlation id reaches the log', async () => {
    const response = await call(app, 'POST', '/v1/jobs/print', {
      key: KEYS.memberA,
      body: { ...printJob, title: 'Label', source: 'erp' },
      headers: { 'x-request-id': 'req-unified-1' },
    });
    expect(response.status).toBe(201);
    expect(response.headers['x-request-id']).toBe('req-unified-1');
    expect(response.body.job).toMatchObject({ kind: 'print', status: 'queued', submittedBy: 'u-a-member', error: null });
    expect(response.body.print).toMatchObject({ title: 'Label', source: 'erp', state: 'queued', target: 'tag_LABELS' });
    const { events } = await harness.store.readStream(jobStreamId(response.body.job.id));
    expect(events[0]?.metadata.correlationId).toBe('req-unified-1');
  });

  it('generates a correlation id when none is given', async () => {
    const response = await call(app, 'GET', '/healthz');
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('returns the same job for a retry with the same Idempotency-Key, and creates one', async () => {
    const send = (body: Record<string, unknown>) =>
      call(app, 'POST', '/v1/jobs/print', { key: KEYS.curatorB, body, headers: { 'idempotency-key': 'order-42' } });
    const first = await send(printJob);
    const second = await send(printJob);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.job.id).toBe(first.body.job.id);
    const listed = await call(app, 'GET', '/v1/jobs', { key: KEYS.curatorB });
    expect(listed.body.data.map((item: { job: { id: string } }) => item.job.id)).toEqual([first.body.job.id]);

    const reused = await send({ ...printJob, title: 'another document' });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('lists newest first with a cursor, filtered, a member seeing only its own jobs', async () => {
    const mine = [await submit(KEYS.otherMemberA), await submit(KEYS.otherMemberA), await submit(KEYS.otherMemberA)];
    const first = await call(app, 'GET', '/v1/jobs?limit=2', { key: KEYS.otherMemberA });
    expect(first.status).toBe(200);
    expect(first.body.data.map((item: { job: { id: string } }) => item.job.id)).toEqual([mine[2], mine[1]]);
    expect(first.body.data[0].print).toMatchObject({ jobId: mine[2], state: 'queued' });
    expect(typeof first.body.nextCursor).toBe('string');
    const second = await call(app, 'GET', `/v1/jobs?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`, {
      key: KEYS.otherMemberA,
    });
    expect(second.body).toEqual({ data: [expect.objectContaining({ job: expect.objectContaining({ id: mine[0] }) })], nextCursor: null });

    const curatorSees = await call(app, 'GET', '/v1/jobs?kind=print&status=queued&limit=200', { key: KEYS.curatorA });
    const ids = curatorSees.body.data.map((item: { job: { id: string } }) => item.job.id);
    expect(ids).toEqual(expect.arrayContaining(mine));
    expect(ids.length).toBeGreaterThan(mine.length);

    const future = await call(app, 'GET', `/v1/jobs?createdFrom=${encodeURIComponent('2999-01-01T00:00:00Z')}`, { key: KEYS.curatorA });
    expect(future.body).toEqual({ data: [], nextCursor: null });
    expect((await call(app, 'GET', '/v1/jobs?kind=image', { key: KEYS.curatorA })).body.data).toEqual([]);
  });

  it('answers 400 VALIDATION_FAILED for a bad filter or cursor', async () => {
    for (const query of ['limit=0', 'limit=abc', 'status=bogus', 'kind=fax', 'createdFrom=yesterday', 'cursor=not-ours']) {
      const response = await call(app, 'GET', `/v1/jobs?${query}`, { key: KEYS.curatorA });
      expect({ query, status: response.status, code: response.body.error.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('serves the whole history in order at /events', async () => {
    const jobId = await submit();
    await harness.failJob(jobId);
    const response = await call(app, 'GET', `/v1/jobs/${jobId}/events`, { key: KEYS.memberA });
    expect(response.status).toBe(200);
    expect(response.body.data.map((event: { version: number; type: string }) => [event.version, event.type])).toEqual([
      [1, 'JobSubmitted'],
      [2, 'JobQueued'],
      [3, 'JobFailed'],
    ]);
    expect(response.body.data[0]).toEqual({
      version: 1,
      type: 'JobSubmitted',
      data: expect.objectContaining({ jobId, kind: 'print', orgId: 'org-a' }),
      createdAt: expect.any(String),
    });
    expect((await call(app, 'GET', `/v1/jobs/${jobId}/events`, { key: KEYS.curatorB })).status).toBe(404);
  });

  it('streams the history of an ended job and closes after its terminal event', async () => {
    const jobId = await submit();
    await harness.failJob(jobId);
    const response = await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}/stream`, headers: { 'x-api-key': KEYS.memberA } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(response.headers['x-request-id']).toBeDefined();
    const events = parseSse(response.body);
    expect(events.map((event) => [event.id, event.event])).toEqual([
      ['1', 'JobSubmitted'],
      ['2', 'JobQueued'],
      ['3', 'JobFailed'],
    ]);
    expect(events[2]?.data).toMatchObject({ version: 3, type: 'JobFailed', data: { code: 'PRINTER_UNREACHABLE' } });

    // Resuming after the last event of an ended job: nothing more, closed at once.
    const resumed = await app.inject({
      method: 'GET',
      url: `/v1/jobs/${jobId}/stream`,
      headers: { 'x-api-key': KEYS.memberA, 'last-event-id': '3' },
    });
    expect(parseSse(resumed.body)).toEqual([]);
    const partly = await app.inject({
      method: 'GET',
      url: `/v1/jobs/${jobId}/stream`,
      headers: { 'x-api-key': KEYS.memberA, 'last-event-id': '1' },
    });
    expect(parseSse(partly.body).map((event) => event.id)).toEqual(['2', '3']);

    const hidden = await call(app, 'GET', `/v1/jobs/${jobId}/stream`, { key: KEYS.curatorB });
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('JOB_NOT_FOUND');
  });

  describe('over a real socket', () => {
    let base: string;
    let live: NestFastifyApplication;

    beforeAll(async () => {
      live = await harness.app();
      await live.listen(0, '127.0.0.1');
      base = `http://127.0.0.1:${(live.getHttpServer().address() as AddressInfo).port}`;
    });

    const openStream = async (jobId: string, signal?: AbortSignal) => {
      const response = await fetch(`${base}/v1/jobs/${jobId}/stream`, { headers: { 'x-api-key': KEYS.memberA }, ...(signal ? { signal } : {}) });
      expect(response.status).toBe(200);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = '';
      return {
        /** Reads until `enough` holds for the events so far, or the stream ends. */
        async readUntil(enough: (events: SseEvent[]) => boolean): Promise<{ events: SseEvent[]; done: boolean }> {
          for (;;) {
            if (enough(parseSse(text))) return { events: parseSse(text), done: false };
            const chunk = await reader.read();
            if (chunk.done) return { events: parseSse(text), done: true };
            text += decoder.decode(chunk.value, { stream: true });
          }
        },
      };
    };

    it('follows new events of a live job and closes after the terminal one', async () => {
      const jobId = await submit();
      const stream = await openStream(jobId);
      const history = await stream.readUntil((events) => events.length >= 2);
      expect(history.events.map((event) => event.event)).toEqual(['JobSubmitted', 'JobQueued']);

      const cancelled = await call(app, 'POST', `/v1/jobs/${jobId}/cancel`, { key: KEYS.memberA });
      expect(cancelled.status).toBe(200);

      const rest = await stream.readUntil(() => false);
      expect(rest.done).toBe(true);
      expect(rest.events.map((event) => [event.id, event.event])).toEqual([
        ['1', 'JobSubmitted'],
        ['2', 'JobQueued'],
        ['3', 'JobCancellationRequested'],
        ['4', 'JobCancelled'],
      ]);
    });

    it('stops polling once the client goes away', async () => {
      const jobId = await submit();
      const client = new AbortController();
      const stream = await openStream(jobId, client.signal);
      await stream.readUntil((events) => events.length >= 2);
      const liveStreams = async (): Promise<number> => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return Number(/^switchyard_sse_streams_open (\d+)/m.exec(text)?.[1]);
      };
      expect(await liveStreams()).toBe(1);

      let reads = 0;
      const readStream = harness.store.readStream.bind(harness.store);
      const spy = jest.spyOn(harness.store, 'readStream').mockImplementation((streamId, options) => {
        if (streamId === jobStreamId(jobId)) reads++;
        return readStream(streamId, options);
      });
      try {
        await eventually(() => reads > 0, { message: 'the stream to poll' });
        client.abort();
        // The gauge drops in the loop's `finally`: once it reads 0, nothing polls this job any more.
        await eventually(async () => (await liveStreams()) === 0, { message: 'the stream to stop' });
      } finally {
        spy.mockRestore();
      }
    });

    it('ends open streams when the app closes, instead of holding it open', async () => {
      const closing = await harness.app();
      await closing.listen(0, '127.0.0.1');
      const port = (closing.getHttpServer().address() as AddressInfo).port;
      const jobId = await submit();
      const response = await fetch(`http://127.0.0.1:${port}/v1/jobs/${jobId}/stream`, { headers: { 'x-api-key': KEYS.memberA } });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      expect((await reader.read()).done).toBe(false);
      await closing.close();
      let done = false;
      while (!done) done = (await reader.read()).done;
      expect(done).toBe(true);
    });
  });

  it('cancels a queued job: cancelled, and its print state failed', async () => {
    const jobId = await submit();
    const response = await call(app, 'POST', `/v1/jobs/${jobId}/cancel`, { key: KEYS.memberA, headers: { 'x-request-id': 'req-cancel' } });
    expect(response.status).toBe(200);
    expect(response.body.job).toMatchObject({ id: jobId, status: 'cancelled', cancellationRequested: true });
    expect(response.body.print).toMatchObject({ state: 'failed', error: 'Job was cancelled' });
    const { events } = await harness.store.readStream(jobStreamId(jobId));
    expect(events.at(-1)?.metadata.correlationId).toBe('req-cancel');

    expect((await call(app, 'GET', `/v1/jobs/${jobId}`, { key: KEYS.memberA })).body.job.status).toBe('cancelled');
    // Cancelling again changes nothing; print jobs are never blocked, so never resumed.
    expect((await call(app, 'POST', `/v1/jobs/${jobId}/cancel`, { key: KEYS.memberA })).body.job.status).toBe('cancelled');
    const resumed = await call(app, 'POST', `/v1/jobs/${jobId}/resume`, { key: KEYS.memberA });
    expect(resumed.status).toBe(409);
    expect(resumed.body.error.code).toBe('ILLEGAL_TRANSITION');
    // Someone else's job is not found, never cancelled.
    const other = await submit();
    const refused = await call(app, 'POST', `/v1/jobs/${other}/cancel`, { key: KEYS.curatorB });
    expect(refused.status).toBe(404);
    expect((await call(app, 'GET', `/v1/jobs/${other}`, { key: KEYS.memberA })).body.job.status).toBe('queued');
  });

  it('answers 404 NOT_FOUND for an unknown kind and 503 for a kind whose service is not running', async () => {
    const unknown = await call(app, 'POST', '/v1/jobs/fax', { key: KEYS.memberA, body: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    const image = await call(app, 'POST', '/v1/jobs/image', { key: KEYS.memberA, body: { product: { asin: 'B0' } } });
    expect(image.status).toBe(503);
    expect(image.body.error.code).toBe('SERVICE_UNAVAILABLE');
  });
});
