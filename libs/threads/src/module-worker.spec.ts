import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from './module-worker';

const firstMessage = (worker: Worker): Promise<unknown> =>
  new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the worker exited with code ${code} before it answered`)));
  });

describe('startModuleWorker', () => {
  it('runs a TypeScript module beside the caller where no TypeScript loader runs in the thread, path aliases included', async () => {
    const worker = startModuleWorker({
      caller: join(__dirname, 'testing', 'caller.ts'),
      module: 'echo-worker',
      tsconfig: join(__dirname, '..', 'tsconfig.json'),
      workerData: { greeting: 'hello', n: 2 },
    });
    try {
      await expect(firstMessage(worker)).resolves.toEqual({ workerData: { greeting: 'hello', n: 2 }, aliasLoaded: true });
    } finally {
      await worker.terminate();
    }
  });

  it('loads the .js module beside a built caller', async () => {
    const worker = startModuleWorker({
      caller: join(__dirname, 'testing', 'caller.js'),
      module: 'echo-worker',
      tsconfig: join(__dirname, '..', 'tsconfig.json'),
    });
    await expect(firstMessage(worker)).rejects.toThrow(/echo-worker\.js/);
  });
});
