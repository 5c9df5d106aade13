/**
 * Runs the Firebase Storage emulator's GCS JSON API in this process, without Java and without the
 * Firebase CLI (shared/reference/local-services.md section 3). Started by test/support/gcs-emulator.ts;
 * not part of the worker.
 *
 *   HOST=127.0.0.1 PORT=9199 node test/support/gcs-emulator-launcher.cjs
 *
 * It uses firebase-tools internals (lib/emulator/storage, lib/emulator/registry), so firebase-tools
 * is pinned (tools/test-servers/package.json, 15.34.2). What it changes:
 * - the Java rules runtime is never started (the GCS API uses the admin layer, which evaluates no
 *   rules; Firebase client paths /v0/... are denied);
 * - every request is recorded (method and URL, nothing else) and served back at
 *   GET /__launcher/requests, so tests can see which upload protocol the SDK used.
 * Blobs are staged under os.tmpdir(): the starter points TMPDIR at a fresh folder per emulator.
 * Plain JavaScript on purpose (tsconfig includes only .ts): it is run from the source tree.
 */
'use strict';

const http = require('node:http');
const path = require('node:path');

const firebaseTools = path.resolve(__dirname, '../../tools/test-servers/node_modules/firebase-tools');
const { StorageEmulator } = require(path.join(firebaseTools, 'lib/emulator/storage'));
const { StorageRulesRuntime } = require(path.join(firebaseTools, 'lib/emulator/storage/rules/runtime'));
const storageServer = require(path.join(firebaseTools, 'lib/emulator/storage/server'));
const { EmulatorRegistry } = require(path.join(firebaseTools, 'lib/emulator/registry'));
const { Emulators } = require(path.join(firebaseTools, 'lib/emulator/types'));

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 9199);
const REQUEST_LOG_PATH = '/__launcher/requests';
const MAX_LOGGED_REQUESTS = 5000;

// The rules runtime is a Java process fetched from the internet; the GCS API never needs it.
StorageRulesRuntime.prototype.start = async function start() {};
StorageRulesRuntime.prototype.stop = async function stop() {};

/** @type {Array<{method: string, url: string}>} */
const requests = [];
const createApp = storageServer.createApp;
storageServer.createApp = async (projectId, emulator) => {
  const app = await createApp(projectId, emulator);
  const server = http.createServer((req, res) => {
    if (req.url === REQUEST_LOG_PATH) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(requests));
      return;
    }
    requests.push({ method: req.method || '', url: req.url || '' });
    if (requests.length > MAX_LOGGED_REQUESTS) requests.shift();
    app(req, res);
  });
  // StorageEmulator.start() calls listen(port, host) on what createApp returns.
  return { listen: (listenPort, listenHost) => server.listen(listenPort, listenHost) };
};

async function main() {
  // `rules: []` gives the resource-based rules manager with no rulesets: nothing to load or watch.
  const emulator = new StorageEmulator({ projectId: 'demo-terra-fanout', host, port, rules: [], auto_download: false });
  await EmulatorRegistry.start(emulator);
  process.stdout.write(`gcs emulator ready on http://${host}:${port}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    EmulatorRegistry.stop(Emulators.STORAGE).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error) => {
  process.stderr.write(`gcs emulator failed to start: ${error && error.stack ? error.stack : String(error)}\n`);
  process.exit(1);
});
