import { parentPort, workerData } from 'node:worker_threads';
import { DomainError } from '@switchyard/contracts';

// A worker module for module-worker.spec.ts: TypeScript that imports through a path alias.
parentPort?.postMessage({ workerData, aliasLoaded: typeof DomainError === 'function' });
