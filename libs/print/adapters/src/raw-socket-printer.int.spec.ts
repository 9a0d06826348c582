import { randomBytes } from 'node:crypto';
import { domainFailure } from '@switchyard/contracts/testing';
import { startTcpSink, unusedPort, waitFor, type TcpSink } from './testing';
import { printerFor } from './printer-connection';
import { RawSocketPrinter } from './raw-socket-printer';

jest.setTimeout(15_000);

const failure = domainFailure;

describe('RawSocketPrinter', () => {
  const sinks: TcpSink[] = [];
  const sink = async (options?: Parameters<typeof startTcpSink>[0]): Promise<TcpSink> => {
    const started = await startTcpSink(options);
    sinks.push(started);
    return started;
  };
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });

  it('delivers exactly the bytes of a small label', async () => {
    const printer = await sink();
    const zpl = Buffer.from('^XA^FO50,50^A0N,50,50^FDHello World^FS^XZ');
    await expect(new RawSocketPrinter(printer.host, printer.port).send(zpl)).resolves.toEqual({ bytesWritten: zpl.length });
    const [received] = await printer.waitForConnections(1, 2000);
    expect(received?.equals(zpl)).toBe(true);
  });

  it('delivers a 1 MiB random payload byte for byte', async () => {
    const printer = await sink();
    const payload = randomBytes(1024 * 1024);
    const delivery = await new RawSocketPrinter(printer.host, printer.port).send(payload);
    expect(delivery.bytesWritten).toBe(payload.length);
    const received = await printer.waitForConnections(1, 2000);
    expect(received).toHaveLength(1);
    expect(received[0]?.equals(payload)).toBe(true);
  });

  it('probes a listening printer, and fails fast with PRINTER_UNREACHABLE on a refused port', async () => {
    const printer = await sink();
    await expect(new RawSocketPrinter(printer.host, printer.port).probe()).resolves.toBeUndefined();

    const port = await unusedPort();
    const started = Date.now();
    const probe = await failure(new RawSocketPrinter('127.0.0.1', port).probe());
    const send = await failure(new RawSocketPrinter('127.0.0.1', port).send(Buffer.from('x')));
    expect([probe.code, send.code]).toEqual(['PRINTER_UNREACHABLE', 'PRINTER_UNREACHABLE']);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reports a reset mid-stream as PRINTER_REJECTED, saying how much went out', async () => {
    const printer = await sink({ mode: 'reset-after-bytes', resetAfterBytes: 64 * 1024 });
    const payload = randomBytes(8 * 1024 * 1024);
    const error = await failure(new RawSocketPrinter(printer.host, printer.port).send(payload));
    expect(error.code).toBe('PRINTER_REJECTED');
    expect(error.message).toMatch(/after \d+ of 8388608 bytes/);
    const { bytesWritten } = error.details as { bytesWritten: number };
    expect(bytesWritten).toBeLessThan(payload.length);
  });

  it('times out with PRINTER_TIMEOUT when the printer takes the bytes but never closes', async () => {
    const printer = await sink({ mode: 'silent' });
    const started = Date.now();
    const error = await failure(new RawSocketPrinter(printer.host, printer.port, { idleTimeoutMs: 300 }).send(Buffer.from('label')));
    expect(error.code).toBe('PRINTER_TIMEOUT');
    expect(error.details).toMatchObject({ allBytesSent: true, bytesWritten: 5 });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('submits through the common PrinterConnection: completed on delivery, no printer job id', async () => {
    const printer = await sink();
    const connection = printerFor(printer.uri);
    await expect(connection.probe('application/octet-stream')).resolves.toMatchObject({ documentFormats: 'any' });
    const document = Buffer.from('raw job');
    await expect(connection.submit({ document, format: 'application/octet-stream', jobName: 'pj_0000beef' })).resolves.toEqual({
      printerJobId: null,
      state: 'completed',
      bytesWritten: document.length,
    });
    const received = await printer.waitForConnections(1, 2000);
    expect(received).toHaveLength(1); // the probe's connection carried the job
    expect(received[0]?.equals(document)).toBe(true);
  });

  it("sends on the probe's connection: one connection at the printer per job", async () => {
    const printer = await sink();
    const raw = new RawSocketPrinter(printer.host, printer.port);
    await raw.probe();
    expect([printer.connectionCount(), raw.heldConnections]).toEqual([1, 1]);
    const label = Buffer.from('^XA^FDone connection^FS^XZ');
    await expect(raw.send(label)).resolves.toEqual({ bytesWritten: label.length });
    const received = await printer.waitForConnections(1, 2000);
    expect([received.length, received[0]?.equals(label), raw.heldConnections]).toEqual([1, true, 0]);
  });

  it('closes a probe connection that no send takes once probeHoldMs has passed', async () => {
    const printer = await sink();
    const raw = new RawSocketPrinter(printer.host, printer.port, { probeHoldMs: 100 });
    await raw.probe();
    const received = await printer.waitForConnections(1, 2000);
    expect([received.map((bytes) => bytes.length), raw.heldConnections]).toEqual([[0], 0]);
  });

  it('connects again when the printer hung up on the probe connection, and still delivers', async () => {
    const printer = await sink();
    const raw = new RawSocketPrinter(printer.host, printer.port);
    await raw.probe();
    printer.hangUp();
    await waitFor(() => (raw.heldConnections === 0 ? true : undefined), { timeoutMs: 2000, what: 'the hang-up to be seen' });
    const label = Buffer.from('after a hang-up');
    await expect(raw.send(label)).resolves.toEqual({ bytesWritten: label.length });
    const received = await printer.waitForConnections(2, 2000);
    expect(received.map((bytes) => bytes.toString())).toEqual(['', 'after a hang-up']);
  });
});
