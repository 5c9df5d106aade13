/**
 * Runs the mongodb-stand-in as its own process: `node main.js --port 27017`. Listens on
 * 127.0.0.1 only and prints one line once it listens. Stop it with SIGTERM.
 */
import { createStandInServer } from './server.js';

const portFlag = process.argv.indexOf('--port');
const port = Number(portFlag >= 0 ? process.argv[portFlag + 1] : Number.NaN);
if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
  process.stderr.write('usage: node main.js --port <port>\n');
  process.exit(2);
}

const server = createStandInServer();
server.listen(port, '127.0.0.1', () => process.stdout.write(`mongodb stand-in listening on 127.0.0.1:${port}\n`));
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
