import { randomBytes, X509Certificate } from 'node:crypto';
import { domainFailure } from '@switchyard/contracts/testing';
import {
  minimalPdf,
  startIppPrinter,
  startTcpSink,
  unusedPort,
  waitFor,
  type TcpSink,
  type TestIppPrinter,
} from './testing';
import { IppPrinter, isTerminalIppJobState, type IppJobState, type IppJobStatus } from './ipp-printer';
import { printerFor } from './printer-connection';

jest.setTimeout(20_000);

const uniqueName = (): string => `pj_${randomBytes(4).toString('hex')}`;

const failure = domainFailure;

/** Polls Get-Job-Attributes until the job is in one of `states`. */
const waitForJob = (printer: IppPrinter, id: number, states: IppJobState[], timeoutMs = 10_000): Promise<IppJobStatus> =>
  waitFor(
    async () => {
      const status = await printer.getJob(id);
      if (states.includes(status.state)) return status;
      if (isTerminalIppJobState(status.state)) throw new Error(`job ${id} ended ${status.state}, not ${states.join('/')}`);
      return undefined;
    },
    { timeoutMs, what: `job ${id} to be ${states.join('/')}` },
  );

describe('IppPrinter against ippeveprinter', () => {
  let good: TestIppPrinter;
  let failing: TestIppPrinter;
  let slow: TestIppPrinter;

  beforeAll(async () => {
    [good, failing, slow] = await Promise.all([
      startIppPrinter({ name: 'Good', tls: true }),
      startIppPrinter({ name: 'Jammed', script: 'echo "ERROR: paper jam in tray 2" >&2\nexit 3' }),
      startIppPrinter({ name: 'Slow', script: 'sleep 3' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([good, failing, slow].map((printer) => printer?.stop()));
  });

  it('reads the printer attributes, normalized', async () => {
    const attributes = await new IppPrinter(good.uri).getPrinterAttributes();
    expect(attributes).toEqual({
      state: 'idle',
      stateReasons: [],
      documentFormats: expect.arrayContaining(['application/pdf', 'application/octet-stream']),
      name: 'Good',
      acceptingJobs: true,
    });
  });

  it('prints a PDF to completion, and the printer got exactly its bytes', async () => {
    const printer = new IppPrinter(good.uri);
    const pdf = minimalPdf('completed');
    const submitted = await printer.printJob({ document: pdf, format: 'application/pdf', jobName: uniqueName() });
    expect(submitted.printerJobId).toBeGreaterThan(0);
    expect(['pending', 'processing', 'completed']).toContain(submitted.state);

    const done = await waitForJob(printer, submitted.printerJobId, ['completed']);
    expect(done.completedAt).toBeInstanceOf(Date);
    expect(Math.abs((done.completedAt as Date).getTime() - Date.now())).toBeLessThan(5000);
    const documents = await good.printedDocuments();
    expect(documents.some((document) => document.equals(pdf))).toBe(true);
  });

  it('speaks ipps:// to a pinned self-signed certificate, and refuses an unpinned or different one', async () => {
    const ippsUri = good.ippsUri as string;
    const fingerprint256 = new X509Certificate(good.certificate as string).fingerprint256;
    const pinned = new IppPrinter(ippsUri, { tls: { fingerprint256 } });
    await expect(pinned.getPrinterAttributes()).resolves.toMatchObject({ name: 'Good' });

    const untrusted = await failure(new IppPrinter(ippsUri, { timeoutMs: 2000 }).getPrinterAttributes());
    expect(untrusted.code).toBe('PRINTER_UNREACHABLE');
    expect(untrusted.message).toMatch(/self.signed/i);

    const otherPin = fingerprint256.replace(/^[0-9A-F]{2}/, (byte) => (byte === '00' ? '01' : '00'));
    const mismatch = await failure(new IppPrinter(ippsUri, { tls: { fingerprint256: otherPin } }).getPrinterAttributes());
    expect(mismatch.code).toBe('PRINTER_UNREACHABLE');
    expect(mismatch.details).toMatchObject({ cause: 'CERT_FINGERPRINT_MISMATCH' });
  });

  it('reports a job whose print command fails as aborted, with the printer message', async () => {
    const printer = new IppPrinter(failing.uri);
    const { printerJobId } = await printer.printJob({ document: minimalPdf(), format: 'application/pdf', jobName: uniqueName() });
    const status = await waitForJob(printer, printerJobId, ['aborted']);
    expect(status.stateMessage).toContain('paper jam in tray 2');
    expect(status.completedAt).toBeInstanceOf(Date);
  });

  it('cancels a job while it is processing; cancelling it again says it already ended', async () => {
    const printer = new IppPrinter(slow.uri);
    const { printerJobId } = await printer.printJob({ document: minimalPdf(), format: 'application/pdf', jobName: uniqueName() });
    await waitForJob(printer, printerJobId, ['processing']);
    await expect(printer.cancelJob(printerJobId)).resolves.toEqual({ outcome: 'canceled' });
    const status = await waitForJob(printer, printerJobId, ['canceled']);
    expect(status.state).toBe('canceled');
    await expect(printer.cancelJob(printerJobId)).resolves.toEqual({ outcome: 'already-ended', state: 'canceled' });
  });

  it('answers not-found for cancelling, and PRINTER_REJECTED for reading, a job the printer never had', async () => {
    const printer = new IppPrinter(good.uri);
    await expect(printer.cancelJob(99_999)).resolves.toEqual({ outcome: 'not-found' });
    const error = await failure(printer.getJob(99_999));
    expect(error.code).toBe('PRINTER_REJECTED');
    expect(error.details).toMatchObject({ ippStatus: 'client-error-not-found' });
  });

  it('finds a job by its name, and null for a name it never saw', async () => {
    const printer = new IppPrinter(good.uri);
    const jobName = uniqueName();
    // ippeveprinter sniffs application/octet-stream and refuses bytes it cannot recognize; a PDF it knows.
    const { printerJobId } = await printer.printJob({ document: minimalPdf(), format: 'application/octet-stream', jobName });
    await expect(printer.findJobByName(jobName)).resolves.toBe(printerJobId);
    await expect(printer.findJobByName(uniqueName())).resolves.toBeNull();
  });

  it('maps a format the printer does not take to FORMAT_NOT_SUPPORTED, in pre-flight and at Print-Job', async () => {
    const connection = printerFor(good.uri);
    await expect(connection.probe('application/pdf')).resolves.toMatchObject({ acceptingJobs: true });
    expect((await failure(connection.probe('image/jpeg'))).code).toBe('FORMAT_NOT_SUPPORTED');
    const error = await failure(
      new IppPrinter(good.uri).printJob({ document: Buffer.from('x'), format: 'image/jpeg', jobName: uniqueName() }),
    );
    expect(error.code).toBe('FORMAT_NOT_SUPPORTED');
  });

  it('submits, follows and finds through the common PrinterConnection', async () => {
    const connection = printerFor(good.uri);
    const jobName = uniqueName();
    const submitted = await connection.submit({ document: minimalPdf(), format: 'application/pdf', jobName });
    expect(submitted.printerJobId).not.toBeNull();
    await expect(connection.find(jobName)).resolves.toEqual({ kind: 'found', printerJobId: submitted.printerJobId });
    await expect(connection.find(uniqueName())).resolves.toEqual({ kind: 'absent' });
    await waitFor(async () => ((await connection.status(submitted.printerJobId as number)).state === 'completed' ? true : undefined), {
      timeoutMs: 10_000,
      what: 'completion',
    });
  });
});

describe('IppPrinter when the printer is not there', () => {
  let silent: TcpSink;
  beforeAll(async () => {
    silent = await startTcpSink({ mode: 'silent' });
  });
  afterAll(() => silent.close());

  it('fails fast with PRINTER_UNREACHABLE on a closed port', async () => {
    const port = await unusedPort();
    const started = Date.now();
    const error = await failure(new IppPrinter(`ipp://127.0.0.1:${port}/ipp/print`).getPrinterAttributes());
    expect(error.code).toBe('PRINTER_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fails with PRINTER_TIMEOUT when the server accepts and never answers', async () => {
    const printer = new IppPrinter(`ipp://127.0.0.1:${silent.port}/ipp/print`, { timeoutMs: 400, submitTimeoutMs: 600 });
    let started = Date.now();
    const query = await failure(printer.getJob(1));
    expect(query.code).toBe('PRINTER_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(Date.now() - started).toBeLessThan(1500);

    started = Date.now();
    const submit = await failure(printer.printJob({ document: minimalPdf(), format: 'application/pdf', jobName: uniqueName() }));
    expect(submit.code).toBe('PRINTER_TIMEOUT');
    // The whole request went out: the printer may have the job, so the caller must look before resending.
    expect(submit.details).toMatchObject({ requestSent: true });
    expect(Date.now() - started).toBeLessThan(1700);
  });
});

describe('a printer that holds one job at a time', () => {
  it('answers a second Print-Job with PRINTER_BUSY while it prints the first', async () => {
    const single = await startIppPrinter({ name: 'single', script: 'sleep 2' });
    try {
      const printer = new IppPrinter(single.uri);
      const first = await printer.printJob({ document: minimalPdf('one'), format: 'application/pdf', jobName: 'one' });
      await waitFor(async () => ((await printer.getJob(first.printerJobId)).state === 'processing' ? true : undefined), { timeoutMs: 5_000 });
      await expect(printer.printJob({ document: minimalPdf('two'), format: 'application/pdf', jobName: 'two' })).rejects.toMatchObject({
        code: 'PRINTER_BUSY',
      });
    } finally {
      await single.stop();
    }
  });
});
