import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

  it('runs the .js module beside a built caller', async () => {
    const built = mkdtempSync(join(tmpdir(), 'switchyard-threads-'));
    writeFileSync(join(built, 'echo-worker.js'), "require('node:worker_threads').parentPort.postMessage({ built: true });\n");
    const worker = startModuleWorker({ caller: join(built, 'caller.js'), module: 'echo-worker', tsconfig: join(__dirname, '..', 'tsconfig.json') });
    try {
      await expect(firstMessage(worker)).resolves.toEqual({ built: true });
    } finally {
      await worker.terminate();
      rmSync(built, { recursive: true, force: true });
    }
  });
});
