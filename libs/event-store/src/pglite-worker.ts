import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import type { PGliteReply, PGliteRequest, PGliteWorkerData, SerializedError } from './pglite-thread';
import { PreparingPGlite } from './preparing-pglite';

// The embedded database's own thread: PGlite (a WebAssembly PostgreSQL) runs here, so its work never
// holds up the event loop that serves HTTP and runs jobs. Statements arrive in order and run in
// order, as on one connection.

// Buffers arrive as plain Uint8Arrays; pg's serializers (bytea among them) expect Buffers.
const param = (value: unknown): unknown =>
  value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;

/** A PostgreSQL error's fields (code, detail, constraint...), which a structured clone drops. */
function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === undefined || typeof value === 'function') continue;
    if (typeof value === 'object' && value !== null) continue;
    fields[key] = value;
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('pglite-worker runs as a worker thread');
  const { dataDir } = workerData as PGliteWorkerData;
  const pglite = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
  const client = new PreparingPGlite(pglite);
  const reply = (message: PGliteReply): void => port.postMessage(message);
  try {
    await pglite.waitReady;
  } catch (error) {
    reply({ kind: 'failed', error: serializeError(error) });
    return;
  }
  port.on('message', (request: PGliteRequest) => {
    if (request.kind === 'close') {
      void client.close().then(
        () => reply({ kind: 'closed' }),
        (error: unknown) => reply({ kind: 'failed', error: serializeError(error) }),
      );
      return;
    }
    client.query(request.text, request.params.map(param)).then(
      ({ rows, fields, affectedRows }) => reply({ kind: 'result', id: request.id, result: { rows, fields, affectedRows } }),
      (error: unknown) => reply({ kind: 'error', id: request.id, error: serializeError(error) }),
    );
  });
  reply({ kind: 'ready' });
}

void main();
