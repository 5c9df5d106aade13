/**
 * A TCP server on 127.0.0.1 that accepts every connection, reads whatever is sent and never
 * answers: a hung HTTP endpoint, object store or load balancer as a client sees it. It counts the
 * connections it accepted and how many of them the client has closed, so a test can tell that a
 * client gave up on a request by closing its connection (not by leaving it to be reused).
 *
 *   const silent = await startSilentServer();
 *   ... point the destination at silent.url ...
 *   await silent.close();
 */
import { createServer, type Socket } from 'node:net';

export interface SilentServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Accepted connections the client has closed since. */
  readonly closedByClient: number;
  /** Connections on which the client sent something (a request). */
  readonly used: number;
  /** Of those, the ones the client has closed since. */
  readonly usedClosedByClient: number;
  /** Bytes received on all connections. */
  readonly bytesReceived: number;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let closedByClient = 0;
  let bytesReceived = 0;
  let used = 0;
  let usedClosedByClient = 0;
  let closing = false;
  const server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    let received = 0;
    socket.on('data', (chunk) => {
      if (received === 0) used += 1;
      received += chunk.length;
      bytesReceived += chunk.length;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      if (closing) return;
      closedByClient += 1;
      if (received > 0) usedClosedByClient += 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    get closedByClient() {
      return closedByClient;
    },
    get used() {
      return used;
    },
    get usedClosedByClient() {
      return usedClosedByClient;
    },
    get bytesReceived() {
      return bytesReceived;
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
