/**
 * Helpers for ingest gateway tests: Terra-signed POSTs over node:http (so a test controls the
 * body's bytes and pacing), and reading a spawned CLI's JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';
import { createInterface } from 'node:readline';
import { computeTerraSignature } from '../../src/terra/signature.js';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Terra's headers for `body`: terra-signature made with `secret` now, plus any extra. */
export function terraHeaders(body: Buffer, secret: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/json', 'terra-signature': computeTerraSignature(body, secret, Date.now() / 1000), ...extra };
}

/** One request on a fresh connection; resolves with the answer, rejects on a network error or after `timeoutMs`. */
export function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer; timeoutMs?: number; chunked?: boolean } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = options.body;
    const req = request(url, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      // chunked: no Content-Length, the body goes as Transfer-Encoding: chunked in 16 KiB pieces.
      headers: { ...(body === undefined || options.chunked === true ? {} : { 'content-length': String(body.length) }), ...options.headers },
      agent: false,
      timeout: options.timeoutMs ?? 30_000,
    });
    req.once('timeout', () => req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs ?? 30_000} ms`)));
    req.once('error', reject);
    req.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.once('error', reject);
    });
    if (options.chunked === true && body !== undefined) {
      for (let start = 0; start < body.length; start += 16 * 1024) req.write(body.subarray(start, start + 16 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

/**
 * Freezes a broker process with SIGSTOP: its connections stay open and nothing is answered, the
 * hardest Kafka outage to notice. Returns the thaw (SIGCONT, idempotent), also pushed to `cleanups`
 * so a failing test never leaves the broker stopped.
 */
export function freezeBroker(pid: number, cleanups: Array<() => Promise<void>>): () => void {
  process.kill(pid, 'SIGSTOP');
  let thawed = false;
  const thaw = (): void => {
    if (!thawed) process.kill(pid, 'SIGCONT');
    thawed = true;
  };
  cleanups.push(async () => thaw());
  return thaw;
}

/** A Terra-signed POST of `body` to `${base}/terra/${tenant}`. */
export function postSigned(base: string, tenant: string, body: Buffer, secret: string, extra: Record<string, string> = {}): Promise<Reply> {
  return send(`${base}/terra/${tenant}`, { body, headers: terraHeaders(body, secret, extra) });
}

/** A spawned terra-fanout command whose stdout JSON log lines are collected as they come. */
export interface CliProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  /** Everything the process printed on stderr so far. */
  stderr(): string;
  /** The first log line (parsed) for which `match` holds, waiting up to `timeoutMs`. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  exited: Promise<number | string>;
}

export function spawnCli(cli: string, args: string[], env: NodeJS.ProcessEnv = process.env): CliProcess {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === 'object' && parsed !== null) logs.push({ ...parsed });
      } catch {
        logs.push({ msg: line });
      }
      for (const wake of waiters.splice(0)) wake();
    });
  }
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    async waitForLog(match, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs.find(match);
        if (found !== undefined) return found;
        const left = deadline - Date.now();
        if (left <= 0 || child.exitCode !== null) throw new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}; stdout: ${JSON.stringify(logs.slice(-10))}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 200));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}
