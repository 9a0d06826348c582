import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Results } from '@electric-sql/pglite';
import { startModuleWorker } from '@switchyard/threads';

/** What pglite-worker.ts is started with. */
export interface PGliteWorkerData {
  /** The data folder; undefined keeps the database in memory. */
  dataDir: string | undefined;
}

export type PGliteRequest = { kind: 'query'; id: number; text: string; params: unknown[] } | { kind: 'close' };

/** An error as it crosses to this thread: a structured clone would drop PostgreSQL's fields (code, detail...). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  fields: Record<string, unknown>;
}

export type PGliteReply =
  | { kind: 'ready' }
  | { kind: 'result'; id: number; result: Results<unknown> }
  | { kind: 'error'; id: number; error: SerializedError }
  | { kind: 'closed' }
  | { kind: 'failed'; error: SerializedError };

const revive = ({ name, message, stack, fields }: SerializedError): Error => {
  const error = Object.assign(new Error(message), fields);
  error.name = name;
  if (stack !== undefined) error.stack = stack;
  return error;
};

interface Pending {
  resolve(result: Results<unknown>): void;
  reject(error: unknown): void;
}

/**
 * The embedded database in a worker thread, which Kysely reaches through PGliteThreadDialect.
 * PGlite's WebAssembly then runs beside the event loop instead of on it, so the process uses a
 * second core. Each statement is one message each way, run in the order sent, whether or not the
 * ones before it have answered. The thread keeps the process alive only while a statement is in
 * flight.
 */
export class PGliteThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Why no statement can run any more: the thread failed, exited or was closed. */
  private ended: Error | undefined;
  private closing: Pending | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: PGliteReply) => this.settle(reply));
    worker.on('error', (error) => this.end(error));
    worker.on('exit', (code) => this.end(new Error(`the embedded database thread exited (code ${code})`)));
    // After the listeners: adding one refs the thread again.
    worker.unref();
  }

  static async start(dataDir: string | undefined): Promise<PGliteThread> {
    const worker = startModuleWorker({
      caller: __filename,
      module: 'pglite-worker',
      tsconfig: join(__dirname, '..', 'tsconfig.json'),
      workerData: { dataDir } satisfies PGliteWorkerData,
    });
    await new Promise<void>((resolve, reject) => {
      const settle = (error?: Error): void => {
        worker.off('message', onMessage).off('error', settle).off('exit', onExit);
        if (!error) return resolve();
        void worker.terminate();
        reject(error);
      };
      const onMessage = (reply: PGliteReply): void =>
        settle(reply.kind === 'ready' ? undefined : reply.kind === 'failed' ? revive(reply.error) : new Error(`the database thread sent ${reply.kind} first`));
      const onExit = (code: number): void => settle(new Error(`the embedded database thread exited (code ${code}) while starting`));
      worker.on('message', onMessage).on('error', settle).on('exit', onExit);
    });
    return new PGliteThread(worker);
  }

  query<T>(text: string, params: unknown[] = []): Promise<Results<T>> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    return new Promise<Results<T>>((resolve, reject) => {
      try {
        this.worker.postMessage({ kind: 'query', id, text, params } satisfies PGliteRequest);
      } catch (error) {
        // A parameter a structured clone cannot carry (a function, a symbol).
        reject(error);
        return;
      }
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as Pending['resolve'], reject });
    });
  }

  /** Closes the database (its last writes reach the data folder) and ends the thread. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.worker.ref();
    await new Promise<unknown>((resolve, reject) => {
      this.closing = { resolve, reject };
      this.worker.postMessage({ kind: 'close' } satisfies PGliteRequest);
    });
    await this.worker.terminate();
  }

  private settle(reply: PGliteReply): void {
    if (reply.kind === 'result' || reply.kind === 'error') {
      const pending = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0 && !this.closing) this.worker.unref();
      if (reply.kind === 'result') pending?.resolve(reply.result);
      else pending?.reject(revive(reply.error));
    } else if (reply.kind === 'closed') {
      const closing = this.closing;
      this.closing = undefined;
      this.end(new Error('the embedded database is closed'));
      closing?.resolve({ rows: [], fields: [] });
    } else if (reply.kind === 'failed') {
      this.end(revive(reply.error));
    }
  }

  private end(error: Error): void {
    this.ended ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.closing?.reject(error);
    this.closing = undefined;
  }
}
