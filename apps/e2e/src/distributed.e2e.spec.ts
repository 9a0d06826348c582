import { AccountsStore } from '@switchyard/accounts';
import { IppPrinter } from '@switchyard/print/adapters';
import { startIppPrinter, startTcpSink, type TestIppPrinter, type TcpSink } from '@switchyard/print/adapters/testing';
import { apiClient, startDistributed, type Distributed } from '@switchyard/platform/testing';
import { referencePollingClient, REFERENCE_LABEL, samplePdf } from './support/fixtures';

// Distributed mode, real processes: the gateway and the print service over the real NATS and
// PostgreSQL, printing to a real IPP printer (ippeveprinter) and a raw TCP sink.
describe('print, distributed: gateway and print service as processes', () => {
  let platform: Distributed;
  let office: TestIppPrinter;
  let slow: TestIppPrinter;
  let broken: TestIppPrinter;
  let sink: TcpSink;
  let api: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    [office, slow, broken, sink] = await Promise.all([
      startIppPrinter({ name: 'office', script: 'sleep 1' }),
      startIppPrinter({ name: 'slow', script: 'sleep 4' }),
      startIppPrinter({ name: 'broken', script: 'echo "ERROR: paper jam in tray 2" >&2; exit 1' }),
      startTcpSink(),
    ]);
    platform = await startDistributed();
    api = apiClient(platform.gatewayUrl, platform.adminKey);
    for (const [name, uri, tags] of [
      ['office', office.uri, ['OFFICE']],
      ['slow', slow.uri, []],
      ['broken', broken.uri, []],
      ['labels', `socket://127.0.0.1:${sink.port}`, ['LABELS']],
    ] as const) {
      const registered = await api.post('/v1/printers', { name, uri, tags });
      expect(registered.status).toBe(201);
    }
  }, 90_000);

  afterAll(async () => {
    await platform?.stop();
    await Promise.all([office?.stop(), slow?.stop(), broken?.stop(), sink?.close()]);
  });

  const printState = async (jobId: string) => (await api.get(`/api/v1/jobs/${jobId}`)).body['result']?.content;

  it('takes an IPP job from queued through printing to completed, following the printer within 1 s', async () => {
    const submitted = await api.post('/api/v1/print/tag_OFFICE', {
      content: samplePdf().toString('base64'),
      contentType: 'pdf_base64',
      title: 'Quarterly report',
      source: 'e2e',
      wait: false,
    });
    expect(submitted.status).toBe(200);
    const content = submitted.body['result'].content;
    expect(content).toMatchObject({ printer: 'office', target: 'tag_OFFICE', state: 'queued', cupsJobId: null });
    expect(content.jobId).toMatch(/^pj_[0-9a-f]{8}$/);

    // Watch the printer itself and the gateway side by side.
    const printer = new IppPrinter(office.uri);
    const seen: string[] = [];
    let printerCompletedAt: number | undefined;
    let gatewayCompletedAt: number | undefined;
    const deadline = Date.now() + 30_000;
    while (gatewayCompletedAt === undefined && Date.now() < deadline) {
      const view = await printState(content.jobId);
      if (seen.at(-1) !== view.state) seen.push(view.state);
      if (view.state === 'completed') gatewayCompletedAt = Date.now();
      if (view.cupsJobId && printerCompletedAt === undefined) {
        const printerJobId = Number(String(view.cupsJobId).split('-').at(-1));
        const onPrinter = await printer.getJob(printerJobId);
        if (onPrinter.state === 'completed') printerCompletedAt = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(seen).toEqual(['queued', 'printing', 'completed']);
    expect(printerCompletedAt).toBeDefined();
    expect((gatewayCompletedAt as number) - (printerCompletedAt as number)).toBeLessThan(1_000);
    const done = await printState(content.jobId);
    expect(done).toMatchObject({ state: 'completed', error: null, size: samplePdf().length });
    expect(done.cupsJobId).toMatch(/^office-\d+$/);
    expect(typeof done.completedAt).toBe('string');
  });

  it('ends a job failed with the printer’s message when the printer fails it', async () => {
    const submitted = await api.post('/api/v1/print/broken', {
      content: samplePdf().toString('base64'),
      contentType: 'pdf_base64',
      wait: true,
    });
    expect(submitted.status).toBe(200);
    const content = submitted.body['result'].content;
    expect(content.state).toBe('failed');
    expect(typeof content.error).toBe('string');
    expect(content.error.length).toBeGreaterThan(0);
  });

  it('cancels a printing job at the printer', async () => {
    const submitted = await api.post('/api/v1/print/slow', { content: samplePdf().toString('base64'), contentType: 'pdf_base64' });
    const jobId = submitted.body['result'].content.jobId as string;
    let view = await printState(jobId);
    const deadline = Date.now() + 20_000;
    while (view.state !== 'printing' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      view = await printState(jobId);
    }
    expect(view.state).toBe('printing');
    const cancelled = await api.post(`/v1/jobs/${jobId}/cancel`);
    expect(cancelled.status).toBe(200);
    const printerJobId = Number(String(view.cupsJobId).split('-').at(-1));
    const printer = new IppPrinter(slow.uri);
    let onPrinter = await printer.getJob(printerJobId);
    while (onPrinter.state !== 'canceled' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      onPrinter = await printer.getJob(printerJobId);
    }
    expect(onPrinter.state).toBe('canceled');
    while ((view = await printState(jobId)).completedAt === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(view).toMatchObject({ state: 'failed', error: 'Job was cancelled' });
    const unified = await api.get(`/v1/jobs/${jobId}`);
    expect(unified.body['job'].status).toBe('cancelled');
  });

  it('runs the polling client of print-jobs.txt against a raw printer, which receives exactly the decoded bytes', async () => {
    const { state } = await referencePollingClient(platform.gatewayUrl, platform.adminKey, 'tag_LABELS', REFERENCE_LABEL);
    expect(state).toBe('completed');
    // Connections without data are the pre-flight probes.
    expect(sink.received().filter((bytes) => bytes.length > 0)).toContainEqual(Buffer.from(REFERENCE_LABEL, 'base64'));
  });

  it('answers another organization’s key with the 404 envelope', async () => {
    const submitted = await api.post('/api/v1/print/tag_LABELS', { content: 'aGVsbG8=', contentType: 'raw_base64' });
    const jobId = submitted.body['result'].content.jobId as string;
    const accounts = new AccountsStore(platform.database.db as never);
    const other = await accounts.createOrganization(`other-${Date.now()}`);
    const user = await accounts.createUser(other.id, 'eve', 'curator');
    const { key } = await accounts.createApiKey(user.id);
    const outsider = await apiClient(platform.gatewayUrl, key).get(`/api/v1/jobs/${jobId}`);
    expect(outsider.status).toBe(404);
    expect(outsider.body).toEqual({
      status: 'error',
      statusCode: 404,
      result: { module: `/jobs/${jobId}`, message: 'Job not found', content: { message: `No job with ID: ${jobId}` } },
    });
  });
});
