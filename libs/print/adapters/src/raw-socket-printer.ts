import net from 'node:net';
import { DomainError } from '@switchyard/contracts';
import { networkFailure } from '@switchyard/safe-fetch';

export interface RawSocketPrinterOptions {
  /** How long the TCP connect may take. Default 5000. */
  connectTimeoutMs?: number;
  /** How long the connection may sit with no progress (no write flushed, no close). Default 30000. */
  idleTimeoutMs?: number;
  /** How long a probe's connection waits for the send that follows it before it is closed. Default 2000. */
  probeHoldMs?: number;
}

export interface RawDelivery {
  bytesWritten: number;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * A printer on a raw TCP port (JetDirect/AppSocket, usually 9100). It has no job ids and no status:
 * a job is delivered, and so completed, when every byte went out and the printer closed its side.
 */
export class RawSocketPrinter {
  private readonly connectTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly probeHoldMs: number;
  /** Probes' connections, each kept for one send so that a job connects once; with how to stop holding it. */
  private readonly held = new Map<net.Socket, () => void>();

  constructor(
    readonly host: string,
    readonly port: number,
    options: RawSocketPrinterOptions = {},
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.probeHoldMs = options.probeHoldMs ?? 2000;
  }

  /**
   * Connects: is anything listening? The connection is kept for the next send, for `probeHoldMs`,
   * so that a probed job is one connection at the printer, not an empty one and then the job's.
   */
  async probe(): Promise<void> {
    this.hold(await this.connect());
  }

  /** How many probes' connections wait for a send. */
  get heldConnections(): number {
    return this.held.size;
  }

  /** Writes the whole document, half-closes, and resolves once the printer has closed its side too. */
  async send(document: Buffer): Promise<RawDelivery> {
    if (document.length === 0) throw new DomainError('INVALID_CONTENT', 'the document is empty');
    const socket = this.takeHeld() ?? (await this.connect());
    return new Promise<RawDelivery>((resolve, reject) => {
      let flushed = 0;
      let allFlushed = false;
      let peerEnded = false;
      let settled = false;
      const total = document.length;
      const settle = (error: DomainError | null): void => {
        if (settled) return;
        settled = true;
        socket.removeAllListeners('timeout');
        if (error) {
          socket.destroy();
          reject(error);
        } else resolve({ bytesWritten: flushed });
      };

      socket.setTimeout(this.idleTimeoutMs);
      socket.on('timeout', () => {
        settle(
          new DomainError(
            'PRINTER_TIMEOUT',
            allFlushed
              ? `${this.where()} took all ${total} bytes but did not close the connection within ${this.idleTimeoutMs} ms`
              : `${this.where()} stopped taking data after ${flushed} of ${total} bytes (${this.idleTimeoutMs} ms without progress)`,
            { bytesWritten: flushed, total, allBytesSent: allFlushed },
          ),
        );
      });
      socket.on('error', (error) => {
        const cause = networkFailure(error, { what: this.where(), host: this.host, port: this.port });
        settle(
          new DomainError(
            'PRINTER_REJECTED',
            `${this.where()} broke the connection after ${flushed} of ${total} bytes were sent (${cause.details?.['cause'] as string})`,
            { bytesWritten: flushed, total, cause: cause.details?.['cause'] },
          ),
        );
      });
      // Printers may talk back (status bytes); read and drop it so the peer never blocks on us.
      socket.on('data', () => undefined);
      socket.on('end', () => {
        peerEnded = true;
      });
      socket.on('close', (hadError) => {
        if (hadError) return; // 'error' has settled it
        if (allFlushed && peerEnded) settle(null);
        else {
          settle(
            new DomainError('PRINTER_REJECTED', `${this.where()} closed the connection after ${flushed} of ${total} bytes were sent`, {
              bytesWritten: flushed,
              total,
            }),
          );
        }
      });

      // Write in chunks, honouring back-pressure, counting what the kernel has taken.
      let offset = 0;
      const writeMore = (): void => {
        while (offset < total && !settled) {
          const chunk = document.subarray(offset, offset + CHUNK_BYTES);
          offset += chunk.length;
          const more = socket.write(chunk, (error) => {
            if (!error) flushed += chunk.length;
          });
          if (!more) {
            socket.once('drain', writeMore);
            return;
          }
        }
        if (offset >= total && !settled) {
          socket.end(() => {
            allFlushed = flushed === total;
          });
        }
      };
      writeMore();
    });
  }

  /** Keeps a probe's connection until a send takes it, the hold runs out, or the printer hangs up. */
  private hold(socket: net.Socket): void {
    const stopHolding = (): void => {
      clearTimeout(timer);
      socket.off('end', drop).off('close', drop).off('error', drop);
      this.held.delete(socket);
    };
    const drop = (): void => {
      stopHolding();
      socket.destroy();
    };
    const timer = setTimeout(drop, this.probeHoldMs).unref();
    socket.once('end', drop).once('close', drop).once('error', drop);
    socket.resume(); // drop what the printer says meanwhile, so its hang-up is seen
    socket.unref(); // a held connection alone does not keep the process alive
    this.held.set(socket, stopHolding);
  }

  private takeHeld(): net.Socket | undefined {
    for (const [socket, stopHolding] of this.held) {
      stopHolding();
      if (!socket.destroyed && !socket.readableEnded) return socket.ref();
      socket.destroy();
    }
    return undefined;
  }

  private connect(): Promise<net.Socket> {
    return new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new DomainError('PRINTER_TIMEOUT', `${this.where()} did not accept a connection within ${this.connectTimeoutMs} ms`, {
            timeoutMs: this.connectTimeoutMs,
          }),
        );
      }, this.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        socket.destroy();
        const failure = networkFailure(error, { what: this.where(), host: this.host, port: this.port });
        // Before the connection exists nothing was sent: a reset here means nobody would take it.
        reject(failure.code === 'PRINTER_REJECTED' ? new DomainError('PRINTER_UNREACHABLE', failure.message, failure.details) : failure);
      });
    });
  }

  private where(): string {
    return `the printer at ${this.host}:${this.port}`;
  }
}
