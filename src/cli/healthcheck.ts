#!/usr/bin/env node
/**
 * The container's HEALTHCHECK: `node dist/src/cli/healthcheck.js <worker.yaml>` asks the worker
 * that runs from that file for `/healthz`, on the host and port the file configures (`http.host`,
 * `http.port`, their defaults and `${VAR}` references resolved as the worker resolves them).
 * Exit 0 when it answers 2xx within 2 s; 1 otherwise, with one line on stderr saying why.
 *
 * Its own entry point rather than a `terra-fanout` command: it reads only the worker file's schema,
 * not the connectors and their SDKs, so Docker can run it every few seconds for ~0.1 s of CPU.
 */
import { readYamlSource } from '../config/yaml-source.js';
import { workerConfigSchema } from '../config/worker-schema.js';

const TIMEOUT_MS = 2_000;

/** Where a server bound to `host` answers locally: a wildcard address means the loopback of its family. */
function localUrl(host: string, port: number): string {
  if (host === '0.0.0.0') return `http://127.0.0.1:${port}/healthz`;
  if (host === '::' || host === '[::]') return `http://[::1]:${port}/healthz`;
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${bracketed}:${port}/healthz`;
}

async function probe(configPath: string): Promise<string | null> {
  const source = await readYamlSource(configPath, process.env);
  if (!source.usable) return `cannot read ${configPath}: ${source.problems.map((problem) => problem.message).join('; ')}`;
  const parsed = workerConfigSchema.safeParse(source.data);
  if (!parsed.success) return `${configPath} is not a valid worker file; run terra-fanout validate ${configPath}`;
  const { host, port } = parsed.data.http;
  if (port === 0) return `${configPath} sets http.port to 0 (any free port), so the port to probe is unknown; configure a fixed port`;
  const url = localUrl(host, port);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    await response.arrayBuffer();
    return response.ok ? null : `${url} answered ${response.status}`;
  } catch (error) {
    return `${url} did not answer: ${error instanceof Error ? error.message : String(error)}`;
  }
}

const configPath = process.argv[2];
if (configPath === undefined || process.argv.length > 3) {
  process.stderr.write('usage: node dist/src/cli/healthcheck.js <worker.yaml>\n');
  process.exit(1);
}
const problem = await probe(configPath);
if (problem !== null) {
  process.stderr.write(`unhealthy: ${problem}\n`);
  process.exit(1);
}
