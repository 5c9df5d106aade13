/**
 * Benchmark target for the webhook destination: a receiver in its own process
 * (bench/servers/webhook-receiver.ts) answering 200 at once, so that the CPU figure is the lane's,
 * the connector's and the HTTP client's alone. Signed requests (a secret is set), one per event,
 * the destination's default concurrency. `count()` asks the receiver how many POSTs it took.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { BenchTarget } from '../bench-target.js';

const receiverMain = fileURLToPath(new URL('../servers/webhook-receiver.js', import.meta.url));

export async function startWebhookBenchTarget(): Promise<BenchTarget> {
  const child = spawn(process.execPath, [receiverMain], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the webhook receiver did not start within 10 s')), 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', () => reject(new Error('the webhook receiver exited before it was ready')));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    label: 'lane -> webhook (receiver process), signed, unit event',
    destination: { type: 'webhook', config: { url: `${url}/terra`, secret: 'bench-signing-secret' }, batch: { maxRecords: 1000, lingerMs: 50 } },
    async count() {
      const response = await fetch(`${url}/count`);
      return Number(await response.text());
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
