import { startIppPrinter, startTcpSink, type TestIppPrinter, type TcpSink } from '@switchyard/print/adapters/testing';
import { apiClient, startEmbedded, type Embedded } from '@switchyard/platform/testing';
import { referencePollingClient, REFERENCE_LABEL, samplePdf } from './support/fixtures';

// Embedded mode: the one process `npm start` runs, on PGlite in a data folder, no broker.
describe('print, embedded: everything in one process', () => {
  let platform: Embedded;
  let baseUrl: string;
  let adminKey: string;
  let sink: TcpSink;
  let office: TestIppPrinter;

  beforeAll(async () => {
    [sink, office] = await Promise.all([startTcpSink(), startIppPrinter({ name: 'office' })]);
    platform = await startEmbedded({ PRINT_FOLLOW_INTERVAL_MS: '100' });
    ({ baseUrl, adminKey } = platform);
    const api = apiClient(baseUrl, adminKey);
    expect((await api.post('/v1/printers', { name: 'labels', uri: `socket://127.0.0.1:${sink.port}`, tags: ['LABELS'] })).status).toBe(201);
    expect((await api.post('/v1/printers', { name: 'office', uri: office.uri })).status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await platform?.stop();
    await Promise.all([sink?.close(), office?.stop()]);
  });

  it('serves the polling client of print-jobs.txt, and the raw printer receives exactly the bytes', async () => {
    const { state } = await referencePollingClient(baseUrl, adminKey, 'tag_LABELS', REFERENCE_LABEL);
    expect(state).toBe('completed');
    // Connections without data are the pre-flight probes.
    expect(sink.received().filter((bytes) => bytes.length > 0)).toEqual([Buffer.from(REFERENCE_LABEL, 'base64')]);
  });

  it('prints a PDF on an IPP printer and waits for it with wait: true', async () => {
    const api = apiClient(baseUrl, adminKey);
    const submitted = await api.post('/api/v1/print/office', { content: samplePdf().toString('base64'), contentType: 'pdf_base64', wait: true });
    expect(submitted.status).toBe(200);
    expect(submitted.body['result'].content).toMatchObject({ state: 'completed', printer: 'office', error: null });
    expect(submitted.body['result'].content.cupsJobId).toMatch(/^office-\d+$/);
    const history = await api.get(`/v1/jobs/${submitted.body['result'].content.jobId}/events`);
    expect(history.body['data'].map((event: { type: string }) => event.type)).toEqual(
      expect.arrayContaining(['JobSubmitted', 'JobQueued', 'JobStarted', 'PrinterDeliveryStarted', 'PrinterJobAccepted', 'JobCompleted']),
    );
  });
});
