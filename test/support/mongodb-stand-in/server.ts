/**
 * The mongodb-stand-in's TCP server: reads wire-protocol messages from each connection, runs them
 * against one in-memory store, and writes the replies back in order.
 */
import { createServer, type Server } from 'node:net';
import { StandInStore } from './commands.js';
import { encodeReply, parseRequest, splitMessages } from './wire.js';

export function createStandInServer(store: StandInStore = new StandInStore()): Server {
  return createServer((socket) => {
    const connectionId = store.connectionOpened();
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      try {
        const { messages, rest } = splitMessages(Buffer.concat([pending, chunk]));
        pending = rest;
        for (const message of messages) {
          const request = parseRequest(message);
          const reply = store.run(request.database, request.command, connectionId);
          if (!request.noReply) socket.write(encodeReply(request, reply));
        }
      } catch (error) {
        process.stderr.write(`mongodb stand-in: dropping a connection: ${(error as Error).message}\n`);
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
  });
}
