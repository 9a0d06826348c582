import { dirname, extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface ModuleWorkerOptions {
  /** The starting module's `__filename`: the worker's module sits beside it, with the same extension. */
  caller: string;
  /** The worker's module name, without extension (`render-worker`). */
  module: string;
  /**
   * The tsconfig whose path aliases a TypeScript worker resolves with, where the thread has no
   * TypeScript loader of its own (under jest).
   */
  tsconfig: string;
  /** Handed to the worker as `workerData`. */
  workerData?: unknown;
}

interface Boot {
  entry: string;
  /** @swc-node/register, when the entry is TypeScript; required in the thread only if nothing compiles .ts there yet. */
  register: string;
  tsconfig: string;
}

// Runs in the new thread before the worker module. A thread started under `node -r
// @swc-node/register` (the apps) or tsx inherits the parent's loader; under jest there is none, so
// @swc-node/register is loaded with the lib's tsconfig.
const bootstrap = (boot: Boot): string => `
const boot = ${JSON.stringify(boot)};
if (boot.entry.endsWith('.ts') && !require('node:module')._extensions['.ts']) {
  process.env.SWC_NODE_PROJECT = process.env.SWC_NODE_PROJECT || boot.tsconfig;
  require(boot.register);
}
require(boot.entry);
`;

/**
 * Starts a worker thread on a module of the calling lib, from its TypeScript sources (the apps, tsx,
 * jest) or from a build's JavaScript alike.
 */
export function startModuleWorker(options: ModuleWorkerOptions): Worker {
  const typescript = extname(options.caller) === '.ts';
  if (typescript) {
    // A native addon (SWC's, in the thread's loader) must stay loaded by the main thread, or the
    // process crashes when a thread loads it again after the last one that had it has exited.
    require('@swc/core');
  }
  const boot: Boot = {
    entry: join(dirname(options.caller), `${options.module}${typescript ? '.ts' : '.js'}`),
    register: typescript ? require.resolve('@swc-node/register') : '',
    tsconfig: options.tsconfig,
  };
  return new Worker(bootstrap(boot), { eval: true, workerData: options.workerData });
}
