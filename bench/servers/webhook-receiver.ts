/**
 * A webhook receiver for `npm run bench`, run as its own process so that its CPU is not counted
 * as the worker's: answers every POST with 200 and a small body (keep-alive), `GET /count` with
 * the number of POSTs so far. Prints `listening <port>` once ready; exits on SIGTERM.
 */
import { createServer } from 'node:http';

let posts = 0;
const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/count') {
    response.end(String(posts));
    return;
  }
  request.resume();
  request.on('end', () => {
    posts += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"received":true}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
