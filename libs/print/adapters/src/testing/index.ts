import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { IppPrinter } from '../ipp-printer';

// ---- waiting for a condition, with a deadline ----

/** Re-checks `condition` every `intervalMs` until it returns a value other than undefined, or fails at the deadline. */
export async function waitFor<T>(
  condition: () => Promise<T | undefined> | T | undefined,
  { timeoutMs, intervalMs = 50, what = 'condition' }: { timeoutMs: number; intervalMs?: number; what?: string },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// ---- dbus and avahi: ippeveprinter will not start without them, even with -r off ----

const DBUS_SOCKET = '/run/dbus/system_bus_socket';
const DBUS_PID = '/run/dbus/pid';
let daemons: Promise<void> | undefined;

const run = (command: string, args: string[]): { status: number | null; output: string } => {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw new Error(`${command}: ${result.error.message} (apt-get install -y cups-ipp-utils avahi-daemon)`);
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
};

/** Whether something accepts connections on a unix socket (a leftover socket file alone does not). */
const socketAccepts = (socketPath: string): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Starts the system dbus and avahi-daemon unless they run already (idempotent; needs root, as CI has). */
export function ensurePrinterDaemons(): Promise<void> {
  daemons ??= (async () => {
    if (!(await socketAccepts(DBUS_SOCKET))) {
      await mkdir('/run/dbus', { recursive: true });
      // Leftovers of a dead daemon stop dbus-daemon from starting.
      await rm(DBUS_PID, { force: true });
      await rm(DBUS_SOCKET, { force: true });
      const dbus = run('dbus-daemon', ['--system', '--fork']);
      if (dbus.status !== 0) throw new Error(`dbus-daemon did not start: ${dbus.output}`);
    }
    if (run('avahi-daemon', ['-c']).status !== 0) {
      const avahi = run('avahi-daemon', ['-D']);
      if (avahi.status !== 0) throw new Error(`avahi-daemon did not start: ${avahi.output}`);
      await waitFor(() => (run('avahi-daemon', ['-c']).status === 0 ? true : undefined), {
        timeoutMs: 5000,
        what: 'avahi-daemon',
      });
    }
  })();
  daemons.catch(() => {
    daemons = undefined;
  });
  return daemons;
}

// ---- ports ----

/** A port on 127.0.0.1 nothing listens on (bound, then released): connecting to it is refused. */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---- a real IPP printer: ippeveprinter ----

export interface TestIppPrinter {
  /** ipp://127.0.0.1:<port>/ipp/print */
  uri: string;
  /** ipps://localhost:<port>/ipp/print, when started with `tls: true`. */
  ippsUri?: string;
  /** The printer's self-signed certificate (PEM), when started with `tls: true`. */
  certificate?: string;
  name: string;
  port: number;
  /** The documents the printer received (kept with -k), oldest job first. */
  printedDocuments(): Promise<Buffer[]>;
  /** Whatever ippeveprinter wrote to stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartIppPrinterOptions {
  name?: string;
  /** Body of the /bin/sh script run for each document ($1 is the file); its exit status decides success. */
  script?: string;
  formats?: string[];
  /** Also serve ipps:// with a self-signed certificate for `localhost`. */
  tls?: boolean;
  startTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns ippeveprinter on a free port of 127.0.0.1 and resolves once it answers Get-Printer-Attributes. */
export async function startIppPrinter(options: StartIppPrinterOptions = {}): Promise<TestIppPrinter> {
  await ensurePrinterDaemons();
  const name = options.name ?? 'SwitchyardTest';
  const formats = options.formats ?? ['application/pdf', 'application/octet-stream', 'image/pwg-raster'];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ippeveprinter-'));
  const spool = path.join(dir, 'spool');
  const keys = path.join(dir, 'keys');
  await mkdir(spool); // ippeveprinter does not create it, and then fails every job
  await mkdir(keys);
  const script = path.join(dir, 'print.sh');
  await writeFile(script, `#!/bin/sh\n${options.script ?? 'exit 0'}\n`);
  await chmod(script, 0o755);

  for (let attempt = 1; ; attempt++) {
    const port = await unusedPort();
    try {
      return await launch({ name, formats, dir, spool, keys, script, port, tls: options.tls ?? false, timeoutMs: options.startTimeoutMs ?? 10_000 });
    } catch (error) {
      // Another process may have taken the port between our probe and ippeveprinter's bind.
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

interface Launch {
  name: string;
  formats: string[];
  dir: string;
  spool: string;
  keys: string;
  script: string;
  port: number;
  tls: boolean;
  timeoutMs: number;
}

async function launch(l: Launch): Promise<TestIppPrinter> {
  // -n localhost: a literal 127.0.0.1 makes it fail ("Unable to create IPv6 listener").
  const args = ['-p', String(l.port), '-n', 'localhost', '-r', 'off', '-d', l.spool, '-k', '-c', l.script, '-f', l.formats.join(',')];
  if (l.tls) args.push('-K', l.keys);
  args.push(l.name);
  const child = spawn('ippeveprinter', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-20_000);
  });
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      running.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      exited = error.message;
      running.delete(child);
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(killer);
    }
    await rm(l.dir, { recursive: true, force: true });
  };

  const uri = `ipp://127.0.0.1:${l.port}/ipp/print`;
  const probe = new IppPrinter(uri, { timeoutMs: 1000 });
  try {
    await waitFor(
      async () => {
        if (exited !== undefined) throw new Error(`ippeveprinter ${exited}: ${stderr.trim()}`);
        return (await probe.getPrinterAttributes()).state;
      },
      { timeoutMs: l.timeoutMs, what: `ippeveprinter on port ${l.port}` },
    );
  } catch (error) {
    await stop().catch(() => undefined);
    throw error instanceof Error ? new Error(`${error.message}\n${stderr.trim()}`) : error;
  }

  // ippeveprinter makes its certificate at the first TLS handshake: take it from one.
  const certificate = l.tls ? await peerCertificate(l.port) : undefined;
  return {
    uri,
    ...(l.tls ? { ippsUri: `ipps://localhost:${l.port}/ipp/print` } : {}),
    ...(certificate !== undefined ? { certificate } : {}),
    name: l.name,
    port: l.port,
    async printedDocuments() {
      const files = (await readdir(l.spool)).filter((file) => /^\d+-/.test(file));
      files.sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
      return Promise.all(files.map((file) => readFile(path.join(l.spool, file))));
    },
    log: () => stderr,
    stop,
  };
}

/** The PEM certificate a TLS server on localhost:<port> presents. */
function peerCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: 'localhost', port, servername: 'localhost', rejectUnauthorized: false });
    const timer = setTimeout(() => socket.destroy(new Error('no TLS handshake within 5000 ms')), 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const der = socket.getPeerCertificate().raw;
      socket.destroy();
      const base64 = der.toString('base64').replace(/.{64}/g, '$&\n');
      resolve(`-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

// ---- a raw socket printer stand-in: a TCP sink ----

export type TcpSinkMode =
  /** Read everything; close after the client's end, like a JetDirect port. */
  | 'accept'
  /** Reset the connection (RST) once `resetAfterBytes` bytes have arrived. */
  | 'reset-after-bytes'
  /** Read everything and never answer or close: a hung printer. */
  | 'silent';

export interface TcpSinkOptions {
  mode?: TcpSinkMode;
  resetAfterBytes?: number;
}

export interface TcpSink {
  host: string;
  port: number;
  /** socket://127.0.0.1:<port> */
  uri: string;
  /** Every connection's bytes so far, in the order the connections were accepted. */
  received(): Buffer[];
  /** How many connections were accepted so far. */
  connectionCount(): number;
  /** Resolves with received() once `n` connections have closed; rejects at the deadline. */
  waitForConnections(n: number, timeoutMs: number): Promise<Buffer[]>;
  /** Ends every open connection from the printer's side, as a printer dropping idle connections does. */
  hangUp(): void;
  close(): Promise<void>;
}

export async function startTcpSink(options: TcpSinkOptions = {}): Promise<TcpSink> {
  const mode = options.mode ?? 'accept';
  const connections: Array<{ chunks: Buffer[]; closed: boolean }> = [];
  const sockets = new Set<net.Socket>();
  const changes = new EventEmitter();

  // Half-open: the client's end must not close our side by itself (the 'silent' printer never does).
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const connection = { chunks: [] as Buffer[], closed: false };
    connections.push(connection);
    sockets.add(socket);
    let size = 0;
    socket.on('data', (chunk: Buffer) => {
      connection.chunks.push(chunk);
      size += chunk.length;
      if (mode === 'reset-after-bytes' && size >= (options.resetAfterBytes ?? 0)) socket.resetAndDestroy();
    });
    socket.on('end', () => {
      if (mode === 'accept') socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      connection.closed = true;
      sockets.delete(socket);
      changes.emit('change');
    });
    changes.emit('change');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  const received = (): Buffer[] => connections.map(({ chunks }) => Buffer.concat(chunks));

  return {
    host: '127.0.0.1',
    port,
    uri: `socket://127.0.0.1:${port}`,
    received,
    connectionCount: () => connections.length,
    waitForConnections(n, timeoutMs) {
      return new Promise<Buffer[]>((resolve, reject) => {
        const check = (): void => {
          if (connections.filter(({ closed }) => closed).length < n) return;
          clearTimeout(timer);
          changes.off('change', check);
          resolve(received());
        };
        const timer = setTimeout(() => {
          changes.off('change', check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${n} closed connection(s); ${connections.length} seen`));
        }, timeoutMs);
        changes.on('change', check);
        check();
      });
    },
    hangUp() {
      for (const socket of sockets) socket.end();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- documents ----

/** A minimal, valid one-page PDF (correct xref offsets) showing `text`. */
export function minimalPdf(text = 'Switchyard test page'): Buffer {
  const escaped = text.replace(/[\\()]/g, (c) => `\\${c}`);
  const stream = `BT /F1 24 Tf 72 720 Td (${escaped}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(stream)} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body);
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}
