import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { eventually, TEST_BACKENDS } from '@switchyard/event-store/testing';
import { findJob } from '@switchyard/jobs-read-model';
import {
  call,
  createGatewayHarness,
  KEYS,
  LABEL_BASE64,
  LABEL_PRINTER,
  LABEL_PRINTER_PATH,
  type GatewayHarness,
} from './testing/gateway-harness';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const notFoundEnvelope = (jobId: string) => ({
  status: 'error',
  statusCode: 404,
  result: { module: `/jobs/${jobId}`, message: 'Job not found', content: { message: `No job with ID: ${jobId}` } },
});

describe.each(TEST_BACKENDS)('print dialect (print-jobs.txt) over HTTP (%s)', (backend) => {
  let harness: GatewayHarness;
  let app: NestFastifyApplication;

  const submit = (key: string, body: Record<string, unknown>, target = 'tag_LABELS') =>
    call(app, 'POST', `/api/v1/print/${target}`, { key, body });

  beforeAll(async () => {
    harness = await createGatewayHarness(backend, 'gateway_print');
    app = await harness.app();
  });
  afterAll(() => harness.dispose());

  describe('printers', () => {
    it('lets a curator register a printer and refuses a member with 403 FORBIDDEN', async () => {
      const registered = await call(app, 'POST', '/v1/printers', { key: KEYS.curatorA, body: LABEL_PRINTER });
      expect(registered.status).toBe(201);
      expect(registered.body).toEqual({
        name: 'labels',
        path: LABEL_PRINTER_PATH,
        uri: LABEL_PRINTER.uri,
        tags: ['LABELS'],
        createdAt: expect.stringMatching(ISO),
      });

      const refused = await call(app, 'POST', '/v1/printers', {
        key: KEYS.memberA,
        body: { name: 'other', uri: 'ipp://10.0.0.9/ipp/print' },
      });
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });

      const again = await call(app, 'POST', '/v1/printers', { key: KEYS.curatorA, body: LABEL_PRINTER });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('PRINTER_ALREADY_EXISTS');

      const invalid = await call(app, 'POST', '/v1/printers', { key: KEYS.curatorA, body: { name: 'x', uri: 'http://nope' } });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.code).toBe('VALIDATION_FAILED');

      const listed = await call(app, 'GET', '/v1/printers', { key: KEYS.memberA });
      expect(listed.status).toBe(200);
      expect(listed.body.data.map((printer: { path: string }) => printer.path)).toEqual([LABEL_PRINTER_PATH]);
      expect((await call(app, 'GET', '/v1/printers', { key: KEYS.curatorB })).body).toEqual({ data: [] });
    });
  });

  describe('submit and read back', () => {
    let jobId: string;

    it('answers the envelope of the reference, every field with its type', async () => {
      const response = await submit(KEYS.memberA, { content: LABEL_BASE64, contentType: 'raw_base64', wait: false });
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      const { body } = response;
      expect(Object.keys(body).sort()).toEqual(['result', 'status', 'statusCode']);
      expect(body.status).toBe('success');
      expect(body.statusCode).toBe(200);
      expect(Object.keys(body.result).sort()).toEqual(['content', 'message', 'module']);
      expect(body.result.module).toBe('/print/tag_LABELS');
      expect(body.result.message).toBe('Job submitted.');
      const content = body.result.content;
      expect(Object.keys(content).sort()).toEqual(
        ['jobId', 'printer', 'target', 'title', 'source', 'contentType', 'size', 'state', 'error', 'createdAt', 'completedAt', 'cupsJobId'].sort(),
      );
      expect(content).toEqual({
        jobId: expect.stringMatching(/^pj_[0-9a-f]{8}$/),
        printer: LABEL_PRINTER_PATH,
        target: 'tag_LABELS',
        title: expect.any(String),
        source: null,
        contentType: 'raw_base64',
        size: Buffer.from(LABEL_BASE64, 'base64').length,
        state: 'queued',
        error: null,
        createdAt: expect.stringMatching(ISO),
        completedAt: null,
        cupsJobId: null,
      });
      jobId = content.jobId;
    });

    it('keeps title and source as given', async () => {
      const { body } = await submit(KEYS.memberA, {
        content: LABEL_BASE64,
        contentType: 'raw_base64',
        title: 'Shipping Label #1234',
        source: 'my-erp',
      }, LABEL_PRINTER_PATH);
      expect(body.result.module).toBe(`/print/${LABEL_PRINTER_PATH}`);
      expect(body.result.content).toMatchObject({ title: 'Shipping Label #1234', source: 'my-erp', target: LABEL_PRINTER_PATH });
    });

    it('serves the job back through the print dialect', async () => {
      const response = await call(app, 'GET', `/api/v1/jobs/${jobId}`, { key: KEYS.memberA });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        status: 'success',
        statusCode: 200,
        result: {
          module: `/jobs/${jobId}`,
          message: 'Job retrieved.',
          content: expect.objectContaining({ jobId, state: 'queued', printer: LABEL_PRINTER_PATH, target: 'tag_LABELS' }),
        },
      });
      // A curator of the organization sees every job of it.
      expect((await call(app, 'GET', `/api/v1/jobs/${jobId}`, { key: KEYS.curatorA })).status).toBe(200);
    });

    it('serves the same job through the unified API, with its print details', async () => {
      const response = await call(app, 'GET', `/v1/jobs/${jobId}`, { key: KEYS.memberA });
      expect(response.status).toBe(200);
      expect(response.body.job).toMatchObject({ id: jobId, kind: 'print', status: 'queued', submittedBy: 'u-a-member' });
      expect(response.body.print).toMatchObject({ jobId, state: 'queued', contentType: 'raw_base64' });
    });

    it('answers exactly the 404 envelope for an unknown id, another organization and another member', async () => {
      const unknown = await call(app, 'GET', '/api/v1/jobs/pj_00000000', { key: KEYS.memberA });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual(notFoundEnvelope('pj_00000000'));

      const otherOrg = await call(app, 'GET', `/api/v1/jobs/${jobId}`, { key: KEYS.curatorB });
      expect(otherOrg.status).toBe(404);
      expect(otherOrg.body).toEqual(notFoundEnvelope(jobId));

      const otherMember = await call(app, 'GET', `/api/v1/jobs/${jobId}`, { key: KEYS.otherMemberA });
      expect(otherMember.status).toBe(404);
      expect(otherMember.body).toEqual(notFoundEnvelope(jobId));

      const unified = await call(app, 'GET', `/v1/jobs/${jobId}`, { key: KEYS.curatorB });
      expect(unified.status).toBe(404);
      expect(unified.body).toEqual({ error: { code: 'JOB_NOT_FOUND', message: `No job with ID: ${jobId}`, details: { jobId } } });
    });

    it('serves a finished job until its retention passes, then answers 404', async () => {
      const { body } = await submit(KEYS.memberA, { content: LABEL_BASE64, contentType: 'raw_base64' });
      const ended = body.result.content.jobId as string;
      await harness.failJob(ended);

      const kept = await call(app, 'GET', `/api/v1/jobs/${ended}`, { key: KEYS.memberA });
      expect(kept.status).toBe(200);
      expect(kept.body.result.content).toMatchObject({
        state: 'failed',
        error: 'printer unreachable',
        completedAt: expect.stringMatching(ISO),
      });

      const forgetful = await harness.app({ config: { printJobRetentionMs: 0 } });
      const gone = await call(forgetful, 'GET', `/api/v1/jobs/${ended}`, { key: KEYS.memberA });
      expect(gone.status).toBe(404);
      expect(gone.body).toEqual(notFoundEnvelope(ended));
      // A job still running is served whatever the retention.
      expect((await call(forgetful, 'GET', `/api/v1/jobs/${jobId}`, { key: KEYS.memberA })).status).toBe(200);
    });
  });

  describe('wait: true', () => {
    it('answers with the state as it is when the cap passes', async () => {
      const impatient = await harness.app({ config: { waitCapMs: 150 } });
      const started = Date.now();
      const response = await call(impatient, 'POST', '/api/v1/print/tag_LABELS', {
        key: KEYS.memberA,
        body: { content: LABEL_BASE64, contentType: 'raw_base64', wait: true },
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(response.status).toBe(200);
      expect(response.body.result.message).toBe('Job submitted.');
      expect(response.body.result.content.state).toBe('queued');
    });

    it('holds the answer until the job ends, then says how', async () => {
      const before = new Set(
        (await call(app, 'GET', '/v1/jobs?kind=print&limit=200', { key: KEYS.curatorA })).body.data.map(
          (job: { job: { id: string } }) => job.job.id,
        ),
      );
      const answer = submit(KEYS.memberA, { content: LABEL_BASE64, contentType: 'raw_base64', title: 'waiting', wait: true });
      const jobId = await eventually(
        async () => {
          const { body } = await call(app, 'GET', '/v1/jobs?kind=print&limit=200', { key: KEYS.curatorA });
          return (body.data as { job: { id: string } }[]).map((job) => job.job.id).find((id) => !before.has(id));
        },
        { message: 'the waiting job to be submitted' },
      );
      expect((await findJob(harness.database.db, jobId))?.lifecycle.status).toBe('queued');
      await harness.failJob(jobId);
      const response = await answer;
      expect(response.status).toBe(200);
      expect(response.body.result.message).toBe('Job failed.');
      expect(response.body.result.content).toMatchObject({ jobId, state: 'failed', error: 'printer unreachable' });
    });
  });
});
