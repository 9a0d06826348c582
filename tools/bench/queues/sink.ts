import net from 'node:net';

export interface SinkAddress {
  host: string;
  port: number;
}

/**
 * What every system delivers to: a raw TCP socket on 127.0.0.1 that takes bytes and closes its side
 * when the sender has finished, as a 9100 printer does. A delivery is a connection that carried bytes;
 * a connection without any (a Switchyard probe whose send never came) is counted apart.
 */
export interface Sink extends SinkAddress {
  readonly deliveries: number;
  readonly bytes: number;
  /** Every accepted connection, deliveries and empty ones. */
  readonly connections: number;
  /** The most connections open at once since the last `resetPeak()`: how many jobs really ran at once. */
  readonly peakOpen: number;
  resetPeak(): void;
  close(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  let deliveries = 0;
  let bytes = 0;
  let connections = 0;
  let peakOpen = 0;
  const sockets = new Set<net.Socket>();
  // allowHalfOpen false: when the sender ends, the sink ends its side too, and the sender sees the close.
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    connections += 1;
    sockets.add(socket);
    peakOpen = Math.max(peakOpen, sockets.size);
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      bytes += chunk.length;
    });
    socket.on('end', () => {
      if (received > 0) deliveries += 1;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.maxConnections = 4096;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port: address.port,
    get deliveries() {
      return deliveries;
    },
    get bytes() {
      return bytes;
    },
    get connections() {
      return connections;
    },
    get peakOpen() {
      return peakOpen;
    },
    resetPeak() {
      peakOpen = sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
