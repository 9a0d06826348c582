import { parentPort } from 'node:worker_threads';
import { isDomainError } from '@switchyard/contracts';
import { renderAd } from './render-ad';
import type { RenderOutcome, RenderTask } from './render-protocol';

/**
 * sharp's output lives in memory its native side frees: moving that to another thread crashes the
 * process once the garbage collector gets to it. So the PNG is copied once into memory V8 owns,
 * and that copy is transferred (moved, not cloned again) to the main thread.
 */
const transferable = (png: Buffer): Uint8Array => new Uint8Array(png);

/** One ad at a time: the pool sends a worker its next task only once it has answered the last. */
async function run(task: RenderTask): Promise<RenderOutcome> {
  try {
    const png = transferable(await renderAd({ ...task.request, photo: Buffer.from(task.request.photo.buffer, task.request.photo.byteOffset, task.request.photo.byteLength) }));
    return { id: task.id, ok: true, png };
  } catch (error) {
    if (isDomainError(error)) return { id: task.id, ok: false, error: { code: error.code, message: error.message, details: error.details } };
    return { id: task.id, ok: false, error: { code: 'RENDER_FAILED', message: `the ad could not be rendered: ${error instanceof Error ? error.message : String(error)}` } };
  }
}

const port = parentPort;
if (!port) throw new Error('render-worker runs in a worker thread started by AdRenderPool');
port.on('message', (task: RenderTask) => {
  void run(task).then((outcome) => {
    if (outcome.ok) port.postMessage(outcome, [outcome.png.buffer as ArrayBuffer]);
    else port.postMessage(outcome);
  });
});
