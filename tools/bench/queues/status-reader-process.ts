import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ReadRun } from './load';
import { stopChild } from './peer-process';
import type { ReadLoad, ReaderReply, ReaderRequest, StatusReaderSpec } from './status-reader';

export interface StatusReader {
  fixedRate(perSecond: number, ms: number): Promise<ReadRun>;
  flatOut(concurrency: number, ms: number): Promise<ReadRun>;
  stop(): Promise<void>;
}

/**
 * Forks status-reader.ts (under the same tsx loader as this process) with the system's read path and
 * the ids to pick from; resolves once its client is connected. One run at a time.
 */
export async function startStatusReader(spec: StatusReaderSpec, ids: readonly string[], timeoutMs = 30_000): Promise<StatusReader> {
  // Advanced serialization: a run's figures may hold NaN (no answers), which JSON would turn to null.
  const child: ChildProcess = fork(join(__dirname, 'status-reader.ts'), [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The one request waiting for its answer: start, then each run.
  let pending: { resolve(reply: ReaderReply): void; reject(error: Error): void } | undefined;
  const failure = (what: string): Error => new Error(`the status reader ${what}:\n${output}`);
  child.on('message', (reply: ReaderReply) => {
    if (reply.type === 'log') {
      output += `${reply.message}\n`;
      return;
    }
    const waiting = pending;
    pending = undefined;
    if (reply.type === 'failed') waiting?.reject(failure(`failed: ${reply.message}`));
    else waiting?.resolve(reply);
  });
  child.once('exit', (code) => pending?.reject(failure(`exited with ${code}`)));
  const ask = (request: ReaderRequest, timeout?: number): Promise<ReaderReply> =>
    new Promise<ReaderReply>((resolve, reject) => {
      const timer = timeout === undefined ? undefined : setTimeout(() => reject(failure(`did not answer within ${timeout} ms`)), timeout);
      pending = {
        resolve: (reply) => (clearTimeout(timer), resolve(reply)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
      child.send(request);
    });
  const run = async (load: ReadLoad): Promise<ReadRun> => {
    const reply = await ask({ type: 'run', load });
    if (reply.type !== 'result') throw failure(`answered ${reply.type} to a run`);
    return reply.run;
  };
  const stop = (): Promise<void> => stopChild(child, exited, { type: 'stop' } satisfies ReaderRequest);
  try {
    await ask({ type: 'start', spec, ids: [...ids] }, timeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return {
    fixedRate: (perSecond, ms) => run({ kind: 'fixed-rate', perSecond, ms }),
    flatOut: (concurrency, ms) => run({ kind: 'flat-out', concurrency, ms }),
    stop,
  };
}
