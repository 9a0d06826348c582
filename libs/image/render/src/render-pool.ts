import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
// sharp's docs: on glibc Linux the main thread must load sharp before any worker does, so that its
// shared libraries stay loaded while workers come and go.
import 'sharp';
import { DomainError } from '@switchyard/contracts';
import { startModuleWorker } from '@switchyard/threads';
import type { AdRenderRequest } from './render-ad';
import type { RenderOutcome, RenderTask } from './render-protocol';

export interface AdRenderPoolOptions {
  /** Renders at once, one worker thread each (default 2). */
  workers?: number;
  /** A render still running after this long is abandoned and its worker replaced (default 30 s). */
  timeoutMs?: number;
}

export interface RenderOptions {
  /** This render's own limit, instead of the pool's. */
  timeoutMs?: number;
}

export interface AdRenderPoolStats {
  /** Worker threads alive (started lazily, up to `workers`). */
  workers: number;
  busy: number;
  queued: number;
  /** Workers terminated for running over their time, or lost, and started anew. */
  replaced: number;
  /** Thread ids of the live workers, for tests and logs. */
  threadIds: number[];
}

interface Job {
  id: number;
  task: RenderTask;
  timeoutMs: number;
  resolve(png: Buffer): void;
  reject(error: unknown): void;
  /** Settles with the render, whichever way it ends. */
  done: Promise<unknown>;
}

interface Slot {
  worker: Worker;
  job?: Job;
  timer?: NodeJS.Timeout;
}

const failureOf = (error: { code: DomainError['code']; message: string; details?: Record<string, unknown> }): DomainError =>
  new DomainError(error.code, error.message, error.details);

/**
 * Renders ads (renderAd) in worker threads, off the event loop: up to `workers` at once, the rest
 * queued in order. A render over its time rejects with RENDER_TIMEOUT, and its worker, which may
 * be stuck in native code, is terminated and replaced. The photo is copied once, into memory that
 * is then transferred to the worker (the caller's Buffer stays usable); the PNG is transferred back.
 */
export class AdRenderPool {
  private readonly size: number;
  private readonly timeoutMs: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private replaced = 0;
  private closing?: Promise<void>;

  constructor({ workers = 2, timeoutMs = 30_000 }: AdRenderPoolOptions = {}) {
    if (!Number.isInteger(workers) || workers < 1) throw new DomainError('VALIDATION_FAILED', 'workers must be a whole number of at least 1');
    if (!(timeoutMs > 0)) throw new DomainError('VALIDATION_FAILED', 'timeoutMs must be more than 0');
    this.size = workers;
    this.timeoutMs = timeoutMs;
  }

  render(request: AdRenderRequest, options: RenderOptions = {}): Promise<Buffer> {
    if (this.closing) return Promise.reject(new DomainError('RENDER_FAILED', 'the render pool is closed'));
    if (!(request?.photo instanceof Uint8Array)) return Promise.reject(new DomainError('VALIDATION_FAILED', 'photo must be the image bytes (a Buffer)'));
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    if (!(timeoutMs > 0)) return Promise.reject(new DomainError('VALIDATION_FAILED', 'timeoutMs must be more than 0'));
    const id = this.nextId++;
    // The one copy: into an ArrayBuffer of its own, which postMessage then moves rather than clones.
    const task: RenderTask = { id, request: { ...request, photo: new Uint8Array(request.photo) } };
    let settle: Pick<Job, 'resolve' | 'reject'> | undefined;
    const rendered = new Promise<Buffer>((resolve, reject) => (settle = { resolve, reject }));
    const { resolve, reject } = settle as Pick<Job, 'resolve' | 'reject'>;
    this.queue.push({ id, task, timeoutMs, resolve, reject, done: rendered.catch(() => undefined) });
    this.dispatch();
    return rendered;
  }

  stats(): AdRenderPoolStats {
    return {
      workers: this.slots.length,
      busy: this.slots.filter((s) => s.job).length,
      queued: this.queue.length,
      replaced: this.replaced,
      threadIds: this.slots.map((s) => s.worker.threadId),
    };
  }

  /** Rejects what has not started, lets running renders finish (each within its time), ends the workers. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const job of this.queue.splice(0)) job.reject(new DomainError('RENDER_FAILED', 'the render pool closed before this render started'));
    await Promise.all(this.slots.map((slot) => slot.job?.done));
    await Promise.all(this.slots.splice(0).map((slot) => this.stop(slot)));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot) {
        if (this.slots.length >= this.size || this.closing) return;
        slot = this.spawn();
      }
      this.assign(slot, this.queue.shift() as Job);
    }
  }

  private spawn(): Slot {
    const worker = startModuleWorker({ caller: __filename, module: 'render-worker', tsconfig: join(__dirname, '..', 'tsconfig.json') });
    const slot: Slot = { worker };
    worker.unref();
    worker.on('message', (outcome: RenderOutcome) => this.settle(slot, outcome));
    worker.on('error', (error) => this.lose(slot, error));
    worker.on('exit', (code) => this.lose(slot, new Error(`the render worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private assign(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.ref();
    slot.timer = setTimeout(() => this.expire(slot), job.timeoutMs);
    slot.worker.postMessage(job.task, [job.task.request.photo.buffer as ArrayBuffer]);
  }

  /** Frees the slot of its job; the next one, if any, follows. */
  private release(slot: Slot): Job | undefined {
    const job = slot.job;
    clearTimeout(slot.timer);
    slot.job = undefined;
    slot.timer = undefined;
    slot.worker.unref();
    return job;
  }

  private settle(slot: Slot, outcome: RenderOutcome): void {
    if (slot.job?.id !== outcome.id) return;
    const job = this.release(slot) as Job;
    if (outcome.ok) job.resolve(Buffer.from(outcome.png.buffer, outcome.png.byteOffset, outcome.png.byteLength));
    else job.reject(failureOf(outcome.error));
    this.dispatch();
  }

  /** The render ran over: its worker may be stuck in native code, so it goes, and a fresh one is started at once. */
  private expire(slot: Slot): void {
    const job = this.release(slot) as Job;
    this.retire(slot, true);
    job.reject(new DomainError('RENDER_TIMEOUT', `the ad took longer than ${job.timeoutMs} ms to render`, { timeoutMs: job.timeoutMs }));
  }

  /**
   * A worker that died (uncaught error, exit) fails its render. Its successor starts only when there
   * is work for it, so a worker that cannot even start fails renders rather than looping.
   */
  private lose(slot: Slot, error: Error): void {
    if (!this.slots.includes(slot)) return;
    const job = this.release(slot);
    this.retire(slot, false);
    job?.reject(new DomainError('RENDER_FAILED', `the render worker failed: ${error.message}`));
  }

  private retire(slot: Slot, replaceNow: boolean): void {
    this.slots.splice(this.slots.indexOf(slot), 1);
    void this.stop(slot);
    if (this.closing) return;
    this.replaced += 1;
    if (replaceNow) this.spawn();
    this.dispatch();
  }

  private async stop(slot: Slot): Promise<void> {
    slot.worker.removeAllListeners('message');
    slot.worker.removeAllListeners('exit');
    slot.worker.removeAllListeners('error');
    slot.worker.on('error', () => undefined);
    await slot.worker.terminate();
  }
}
