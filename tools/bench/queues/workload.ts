import net from 'node:net';
import type { SinkAddress } from './sink';

/** The job's document: 1 KiB of printable bytes (a label printer's ZPL would look like this). */
export interface Payload {
  bytes: Buffer;
  base64: string;
}

export const PAYLOAD_BYTES = 1024;

export function benchPayload(): Payload {
  const line = '^XA^FO50,50^A0N,40,40^FDSwitchyard queue bench^FS^XZ\n';
  const bytes = Buffer.alloc(PAYLOAD_BYTES, line);
  return { bytes, base64: bytes.toString('base64') };
}

/**
 * The peers' job: what Switchyard's print service does for a raw socket printer. Connect, write the
 * document, half-close, and resolve once the sink has closed its side too.
 */
export function deliverToSink(sink: SinkAddress, document: Buffer, timeoutMs = 10_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host: sink.host, port: sink.port });
    let failed: Error | undefined;
    socket.setTimeout(timeoutMs, () => {
      failed = new Error(`the sink at ${sink.host}:${sink.port} did not close within ${timeoutMs} ms`);
      socket.destroy();
    });
    socket.on('error', (error) => {
      failed = error;
    });
    socket.on('data', () => undefined);
    socket.on('close', () => (failed ? reject(failed) : resolve()));
    socket.once('connect', () => socket.end(document));
  });
}
