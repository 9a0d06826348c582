import { IppPrinter } from '@switchyard/print/adapters';
import { startIppPrinter, type TestIppPrinter } from '@switchyard/print/adapters/testing';
import { apiClient, startDistributed, type Distributed } from '@switchyard/platform/testing';
import { samplePdf } from './support/fixtures';

const JOBS = 20;

// kill -9 of the print service with jobs in flight, then a restart: every job ends, and no job the
// printer had already accepted is sent to it again.
describe('print service killed with 20 jobs in flight', () => {
  let platform: Distributed;
  let printer: TestIppPrinter;

  beforeAll(async () => {
    printer = await startIppPrinter({ name: 'crashy', script: 'sleep 1' });
    // Short leases, so the restarted service takes the dead one's jobs over quickly.
    platform = await startDistributed({ print: { PRINT_LEASE_MS: '1500', PRINT_CONCURRENCY: '32' } });
  }, 90_000);

  afterAll(async () => {
    await platform?.stop();
    await printer?.stop();
  });

  it('finishes every job after a restart and sends none twice', async () => {
    const api = apiClient(platform.gatewayUrl, platform.adminKey);
    expect((await api.post('/v1/printers', { name: 'crashy', uri: printer.uri })).status).toBe(201);
    const jobIds: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const submitted = await api.post('/api/v1/print/crashy', { content: samplePdf(`page ${i}`).toString('base64'), contentType: 'pdf_base64', title: `job ${i}` });
      expect(submitted.status).toBe(200);
      jobIds.push(submitted.body['result'].content.jobId as string);
    }
    const states = async () => Promise.all(jobIds.map(async (id) => (await api.get(`/api/v1/jobs/${id}`)).body['result'].content));

    // Kill it while the printer holds some jobs and others are not yet sent.
    const deadline = Date.now() + 30_000;
    let views = await states();
    while (views.filter((view) => view.cupsJobId !== null).length < 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      views = await states();
    }
    await platform.print.kill('SIGKILL');
    views = await states();
    const acceptedBeforeCrash = views.filter((view) => view.cupsJobId !== null).length;
    expect(acceptedBeforeCrash).toBeGreaterThanOrEqual(3);
    expect(views.some((view) => view.state === 'queued' || view.state === 'printing')).toBe(true);

    platform.print = await platform.startPrint({ PRINT_LEASE_MS: '1500', PRINT_CONCURRENCY: '32' });
    while (views.some((view) => view.completedAt === null) && Date.now() < deadline + 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      views = await states();
    }
    expect(views.map((view) => view.state)).toEqual(jobIds.map(() => 'completed'));

    // The printer's own record: each job's name appears exactly once.
    const names = (await new IppPrinter(printer.uri).jobs()).map((job) => job.name);
    for (const jobId of jobIds) expect(names.filter((name) => name === jobId)).toHaveLength(1);
  }, 120_000);
});
