import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ParentMessage, PeerWorkerConfig, WorkerMessage } from './peer-worker';

export interface PeerProcess {
  /** What the worker printed and reported (errors), for a report when something fails. */
  output(): string;
  stop(): Promise<void>;
}

/** Asks a forked child to stop, and kills it if it has not exited 15 s later. */
export async function stopChild(child: ChildProcess, exited: Promise<void>, stopMessage: object): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (child.connected) child.send(stopMessage);
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
}

/** Forks peer-worker.ts (under the same tsx loader as this process) and resolves once it is ready. */
export async function startPeerWorker(config: PeerWorkerConfig, timeoutMs = 30_000): Promise<PeerProcess> {
  const child: ChildProcess = fork(join(__dirname, 'peer-worker.ts'), [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${config.system} worker was not ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve();
      } else {
        output += `${message.message}\n`;
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${config.system} worker exited with ${code}:\n${output}`));
    });
  });
  const stop = (): Promise<void> => stopChild(child, exited, { type: 'stop' } satisfies ParentMessage);
  child.send({ type: 'start', config } satisfies ParentMessage);
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return { output: () => output, stop };
}
