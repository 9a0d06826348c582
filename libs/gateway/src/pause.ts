/** Waits `ms`, or less if `signal` aborts first; never rejects. */
export const pause = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** Aborts when the client's connection closes before the response was written, or `also` aborts. */
export function clientGone(response: NodeJS.EventEmitter, also?: AbortSignal): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  response.once('close', abort);
  if (also?.aborted) abort();
  also?.addEventListener('abort', abort, { once: true });
  return {
    signal: controller.signal,
    release: () => {
      response.removeListener('close', abort);
      also?.removeEventListener('abort', abort);
    },
  };
}
