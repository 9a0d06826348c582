import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { jobStreamId, type CommandEnvelope, type PrintJobInput, type Principal } from '@switchyard/contracts';
import { PostgresEventStore } from '@switchyard/event-store';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '@switchyard/event-store/testing';
import { handleCommand } from '@switchyard/jobs';
import { jobLeasesProjection, jobRuntimeMigrations } from '@switchyard/job-runtime';
import { createJobsProjection, jobsReadModelMigrations } from '@switchyard/jobs-read-model';
import { InProcessEventConsumers, messagingMigrations } from '@switchyard/messaging';
import { IppPrinter, printerFor } from '@switchyard/print/adapters';
import { minimalPdf, startIppPrinter, startTcpSink, type TcpSink, type TestIppPrinter } from '@switchyard/print/adapters/testing';
import { INLINE_DOCUMENT_MAX_BYTES, printJobDecider, printKindModel } from '@switchyard/print/domain';
import { PostgresBlobStore, storageMigrations } from '@switchyard/storage';
import { printMigrations } from './migrations';
import { PrinterRegistry } from './printers';
import { printerPortsFor } from './printer-adapters';
import { createPrintService, printConfigSchema, type PrintService } from './print-service';

const curator: Principal = { orgId: 'org-1', userId: 'cur', role: 'curator', keyId: 'k' };
const envelope = <P>(payload: P): CommandEnvelope<P> => ({ principal: curator, correlationId: 'test', payload });

// The print service in process, on the real PostgreSQL, printing to real printers.
describe('print service with real printers', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let service: PrintService;
  let office: TestIppPrinter;
  let broken: TestIppPrinter;
  let sink: TcpSink;
  let documents: http.Server;
  let documentsUrl: string;

  beforeAll(async () => {
    [office, broken, sink] = await Promise.all([
      startIppPrinter({ name: 'office' }),
      startIppPrinter({ name: 'broken', script: 'echo "ERROR: paper jam in tray 2" >&2; exit 1' }),
      startTcpSink(),
    ]);
    documents = http.createServer((_, response) => response.writeHead(200, { 'content-type': 'application/pdf' }).end(minimalPdf('from a URL')));
    await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve));
    documentsUrl = `http://127.0.0.1:${(documents.address() as AddressInfo).port}/doc.pdf`;
    database = await createPostgresTestDatabase('print_service', {
      ...jobsReadModelMigrations,
      ...jobRuntimeMigrations,
      ...storageMigrations,
      ...messagingMigrations,
      ...printMigrations,
    });
    store = new PostgresEventStore(database.db as never, { projections: [createJobsProjection([printKindModel]), jobLeasesProjection] });
    // This test's document server is on loopback: exactly that address is allowed, nothing else private.
    const config = printConfigSchema.parse({ PRINT_ALLOWED_URL_RANGES: '127.0.0.1/32', PRINT_FOLLOW_INTERVAL_MS: '50', PRINT_LEASE_MS: '600' });
    service = createPrintService({
      store,
      db: database.db,
      blobs: new PostgresBlobStore(database.db),
      consumers: new InProcessEventConsumers({ store, subscription: { idlePollMs: 10 } }),
      ...printerPortsFor(config),
      config,
    });
    await service.start();
    for (const printer of [
      { name: 'office', uri: office.uri, tags: ['OFFICE'] },
      { name: 'broken', uri: broken.uri, tags: [] },
      { name: 'labels', uri: sink.uri, tags: ['LABELS'] },
      { name: 'nowhere', uri: 'socket://127.0.0.1:9', tags: [] },
    ]) {
      await service.jobs.registerPrinter(envelope(printer));
    }
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    await store?.close().catch(() => undefined);
    await database?.dispose();
    await Promise.all([office?.stop(), broken?.stop(), sink?.close()]);
    documents?.close();
  });

  const submit = (target: string, request: Record<string, unknown>) => service.jobs.submit(envelope({ target, request }));
  const finished = (jobId: string) =>
    eventually(async () => {
      const details = await service.jobs.view(curator, jobId);
      return details.job.finishedAt ? details : undefined;
    }, { message: `${jobId} finished`, timeoutMs: 20_000 });

  it('delivers exactly the decoded bytes to a raw socket printer, then completes', async () => {
    const { print } = await submit('tag_LABELS', { content: Buffer.from('^XA^FDHello^XZ').toString('base64'), contentType: 'raw_base64' });
    expect(print.printer).toBe(`tcp_127-0-0-1_${sink.port}`);
    const done = await finished(print.jobId);
    expect(done.print).toMatchObject({ state: 'completed', cupsJobId: null, error: null });
    // The pre-flight probe opened a connection too, and sent nothing on it.
    expect(sink.received().filter((bytes) => bytes.length > 0).map(String)).toEqual(['^XA^FDHello^XZ']);
    // A raw socket printer has no job of its own to accept: its completion is the last fact.
    const { events } = await store.readStream(jobStreamId(print.jobId));
    expect(events.map(({ type }) => type)).toEqual(['JobSubmitted', 'JobQueued', 'JobStarted', 'PrinterDeliveryStarted', 'JobCompleted']);
  });

  it('carries a small document in the job’s first event and stores a larger one as a blob; both print exactly', async () => {
    const small = Buffer.alloc(INLINE_DOCUMENT_MAX_BYTES, 'a');
    const large = Buffer.alloc(INLINE_DOCUMENT_MAX_BYTES + 1, 'b');
    const jobs = await Promise.all([small, large].map((bytes) => submit('tag_LABELS', { content: bytes.toString('base64'), contentType: 'raw_base64' })));
    await Promise.all(jobs.map(({ print }) => finished(print.jobId)));
    const received = sink.received().map((bytes) => bytes.toString('base64'));
    expect(received).toEqual(expect.arrayContaining([small.toString('base64'), large.toString('base64')]));
    const inputs = await Promise.all(
      jobs.map(async ({ print }) => (await store.readStream(jobStreamId(print.jobId))).events[0]?.data['input'] as PrintJobInput),
    );
    expect(inputs[0]).toMatchObject({ document: small.toString('base64'), size: small.length });
    expect(inputs[0]).not.toHaveProperty('documentKey');
    expect(inputs[1]).not.toHaveProperty('document');
    const { rows } = await sql<{ size: number }>`SELECT size FROM blobs WHERE key = ${inputs[1]?.documentKey ?? ''}`.execute(database.db);
    expect(rows).toEqual([{ size: large.length }]);
    // The jobs row, which every status read parses, goes without the inline document.
    const [row] = (await sql<{ state: { input: Record<string, unknown> } }>`SELECT state FROM jobs WHERE id = ${jobs[0]?.print.jobId ?? ''}`.execute(database.db)).rows;
    expect(row?.state.input).toMatchObject({ size: small.length, contentType: 'raw_base64' });
    expect(row?.state.input).not.toHaveProperty('document');
  });

  it('prints a PDF on an IPP printer, keeping its job id', async () => {
    const { print } = await submit('tag_OFFICE', { content: minimalPdf().toString('base64'), contentType: 'pdf_base64' });
    const done = await finished(print.jobId);
    expect(done.print.state).toBe('completed');
    expect(done.print.cupsJobId).toMatch(/^office-\d+$/);
  });

  it('fetches a pdf_url document and records what it fetched', async () => {
    const { print } = await submit('office', { content: documentsUrl, contentType: 'pdf_url' });
    const done = await finished(print.jobId);
    expect(done.print).toMatchObject({ state: 'completed', size: minimalPdf('from a URL').length });
  });

  it('fails with the printer’s own message when the printer fails the job', async () => {
    const { print } = await submit('broken', { content: minimalPdf().toString('base64'), contentType: 'pdf_base64' });
    const done = await finished(print.jobId);
    expect(done.print.state).toBe('failed');
    expect(done.print.error).toContain('paper jam in tray 2');
  });

  it('fails pre-flight with PRINTER_UNREACHABLE when nothing listens', async () => {
    const { print } = await submit('tcp_127-0-0-1_9', { content: 'aGVsbG8=', contentType: 'raw_base64' });
    const done = await finished(print.jobId);
    expect(done.job.error?.code).toBe('PRINTER_UNREACHABLE');
  });

  it('resolves a printer path registered by another process after it was unknown here', async () => {
    const here = new PrinterRegistry(database.db);
    const elsewhere = new PrinterRegistry(database.db);
    await expect(here.resolve(curator.orgId, 'late')).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    await elsewhere.register(curator, { name: 'late', uri: office.uri, tags: [] });
    await expect(here.resolve(curator.orgId, 'late')).resolves.toMatchObject({ path: 'late', uri: office.uri });
    await expect(here.resolve(curator.orgId, 'late')).resolves.toMatchObject({ path: 'late', uri: office.uri });
  });

  it('refuses at submission what must not become a job', async () => {
    await expect(submit('office', { content: 'http://10.0.0.1/x.pdf', contentType: 'pdf_url' })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    await expect(submit('tag_NONE', { content: 'aGVsbG8=', contentType: 'raw_base64' })).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    await expect(submit('office', { content: 'bm90IGEgcGRm', contentType: 'pdf_base64' })).rejects.toMatchObject({ code: 'INVALID_CONTENT' });
    await expect(submit('office', { content: '@@@', contentType: 'raw_base64' })).rejects.toMatchObject({ code: 'INVALID_CONTENT' });
    await expect(submit('office', { content: 'aGVsbG8=', contentType: 'docx' })).rejects.toMatchObject({ code: 'UNSUPPORTED_CONTENT_TYPE' });
    const member: Principal = { ...curator, role: 'member', userId: 'mem' };
    await expect(service.jobs.registerPrinter({ ...envelope({ name: 'x', uri: 'socket://127.0.0.1:9100' }), principal: member })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('waits its turn at a printer that holds one job at a time, instead of failing', async () => {
    // ippeveprinter prints one job at a time and answers server-error-busy meanwhile.
    const single = await startIppPrinter({ name: 'single', script: 'sleep 1' });
    try {
      await service.jobs.registerPrinter(envelope({ name: 'single', uri: single.uri }));
      const submitted = await Promise.all(
        [1, 2, 3].map((n) => submit('single', { content: minimalPdf(`turn ${n}`).toString('base64'), contentType: 'pdf_base64' })),
      );
      const done = await Promise.all(submitted.map(({ print }) => finished(print.jobId)));
      expect(done.map((details) => details.print.state)).toEqual(['completed', 'completed', 'completed']);
      expect((await new IppPrinter(single.uri).jobs()).map((job) => job.name).sort()).toEqual(submitted.map(({ print }) => print.jobId).sort());
    } finally {
      await single.stop();
    }
  }, 30_000);

  /** A job as a crashed worker left it: started, delivery begun, its lease already expired. */
  async function crashedMidDelivery(target: string, content: string, contentType: string): Promise<string> {
    const worker = service.worker;
    await worker.stop();
    const { print } = await submit(target, { content, contentType });
    const stream = jobStreamId(print.jobId);
    await handleCommand(store, stream, { type: 'StartJob', data: { workerId: 'dead-worker', now: new Date().toISOString() } }, printJobDecider);
    await handleCommand(store, stream, { type: 'StartDelivery', data: { now: new Date().toISOString() } }, printJobDecider);
    await sql`INSERT INTO job_leases (job_id, kind, worker_id, expires_at) VALUES (${print.jobId}, 'print', 'dead-worker', now() - interval '1 second')`.execute(database.db);
    return print.jobId;
  }

  it('after a crash, finds on the printer a job it already took and does not send it again', async () => {
    const jobId = await crashedMidDelivery('office', minimalPdf('sent once').toString('base64'), 'pdf_base64');
    // The dead worker had sent it: the printer holds it under the job's name.
    await printerFor(office.uri).submit({ document: minimalPdf('sent once'), format: 'application/pdf', jobName: jobId });
    await service.start();
    const done = await finished(jobId);
    expect(done.print.state).toBe('completed');
    const named = (await new IppPrinter(office.uri).jobs()).filter((job) => job.name === jobId);
    expect(named).toHaveLength(1);
    expect(done.print.cupsJobId).toBe(`office-${named[0]?.printerJobId}`);
  }, 30_000);

  it('after a crash, fails a raw socket job whose delivery had begun rather than print it twice', async () => {
    const delivered = sink.received().filter((bytes) => bytes.length > 0).length;
    const jobId = await crashedMidDelivery('tag_LABELS', 'aGVsbG8=', 'raw_base64');
    await service.start();
    const done = await finished(jobId);
    expect(done.job.error?.code).toBe('DELIVERY_UNCERTAIN');
    expect(sink.received().filter((bytes) => bytes.length > 0)).toHaveLength(delivered);
  }, 30_000);
});
