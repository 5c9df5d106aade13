/**
 * Azurite (https://github.com/Azure/Azurite), Microsoft's Azure Storage emulator, blob service
 * only, in memory, on 127.0.0.1 and a free port. Installed in tools/test-servers (see
 * shared/reference/local-services.md). It ignores SIGTERM, so it is stopped with SIGINT;
 * --disableTelemetry keeps it off the network, --skipApiVersionCheck lets the newer SDK talk to it.
 */
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { answersHttp, freePort, startServerProcess } from './server-process.js';

/** Azurite's well-known development account (public, documented by Microsoft); only valid on Azurite. */
export const azuriteAccount = 'devstoreaccount1';
export const azuriteKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const azuriteBin = fileURLToPath(new URL('../../../tools/test-servers/node_modules/.bin/azurite-blob', import.meta.url));

export interface Azurite {
  /** The account endpoint, path style: http://127.0.0.1:<port>/devstoreaccount1 */
  accountUrl: string;
  /** A connection string for the development account at this endpoint. */
  connectionString: string;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Extra command-line arguments, e.g. ['--oauth', 'basic', '--cert', ..., '--key', ...]. */
  args?: readonly string[];
  /** https instead of http (needs --cert and --key in args). */
  https?: boolean;
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const port = await freePort();
  const scheme = options.https === true ? 'https' : 'http';
  const accountUrl = `${scheme}://127.0.0.1:${port}/${azuriteAccount}`;
  const server = await startServerProcess({
    name: 'azurite-blob',
    command: process.env['AZURITE_BLOB'] ?? azuriteBin,
    args: ['--inMemoryPersistence', '--blobHost', '127.0.0.1', '--blobPort', String(port), '--disableTelemetry', '--skipApiVersionCheck', '--silent', ...(options.args ?? [])],
    ready: () => (options.https === true ? answersTcp(port) : answersHttp(`http://127.0.0.1:${port}/`)),
    stopSignal: 'SIGINT',
  });
  return {
    accountUrl,
    connectionString: `DefaultEndpointsProtocol=${scheme};AccountName=${azuriteAccount};AccountKey=${azuriteKey};BlobEndpoint=${accountUrl};`,
    stop: () => server.stop(),
  };
}

/** True when something accepts TCP connections on the port (an https server we do not trust yet). */
async function answersTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
