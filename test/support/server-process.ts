/**
 * Starting and stopping the local servers the destination tests run against (moto, Azurite, the
 * GCS and Firestore emulators, database servers...). Each server is a child process on
 * 127.0.0.1 and a free port; tests stop it by PID in after(). `.ci/run` kills whatever a crashed
 * test leaves behind.
 *
 *   const moto = useServer(() => startMoto());   // started in before(), stopped in after()
 *   it('...', () => { moto.current.endpoint ... });
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { after, before } from 'node:test';

export interface ServerProcess {
  pid: number;
  /** The last lines the server printed (stdout and stderr), for failure messages. */
  output(): string;
  /** Stops the server (its stop signal, then SIGKILL) and resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface StartServerOptions {
  /** Shown in errors, e.g. `moto`. */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves true once the server answers. Polled every 100 ms. */
  ready(): Promise<boolean>;
  /** Default 30 s. */
  startTimeoutMs?: number;
  /** Default SIGTERM. Azurite needs SIGINT. */
  stopSignal?: NodeJS.Signals;
  /** How long to wait after the stop signal before SIGKILL. Default 5 s. */
  killAfterMs?: number;
  /** A directory that belongs to this server alone (data, sockets): removed once it has stopped, or when it fails to start. */
  scratchDir?: string;
  /** Run as this user and group (only when the tests run as root), e.g. a container image's non-root user. */
  user?: { uid: number; gid: number };
}

const OUTPUT_TAIL_CHARS = 8_192;

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** True when an HTTP GET of `url` answers at all (any status). */
export async function answersHttp(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/**
 * Spawns a server and resolves once `ready()` says so. Rejects (after stopping it) when the
 * process exits first or is not ready in time, with its last output in the message.
 */
export async function startServerProcess(options: StartServerOptions): Promise<ServerProcess> {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options.user,
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitedWith: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedWith = signal ?? `code ${code}`;
      resolve();
    });
    child.once('error', (error) => {
      exitedWith = error.message;
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= stopChild(child, exited, options.stopSignal ?? 'SIGTERM', options.killAfterMs ?? 5_000).then(async () => {
      if (options.scratchDir !== undefined) await rm(options.scratchDir, { recursive: true, force: true });
    });
    return stopping;
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  try {
    for (;;) {
      if (exitedWith !== undefined) throw new Error(`${options.name} exited before it was ready (${exitedWith})`);
      if (await options.ready()) break;
      if (Date.now() > deadline) throw new Error(`${options.name} was not ready within ${options.startTimeoutMs ?? 30_000} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- ${options.name} output ---\n${tail}`, { cause: error });
  }
  if (child.pid === undefined) throw new Error(`${options.name} started without a PID`);
  return { pid: child.pid, output: () => tail, stop };
}

async function stopChild(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals, killAfterMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}

/** A server started in before() and stopped in after() of the enclosing suite (or file). */
export interface UsedServer<Server> {
  /** The running server; throws when read outside the suite's tests. */
  readonly current: Server;
}

export function useServer<Server extends { stop(): Promise<void> }>(start: () => Promise<Server>): UsedServer<Server> {
  let server: Server | undefined;
  before(async () => {
    server = await start();
  });
  after(async () => {
    await server?.stop();
  });
  return {
    get current(): Server {
      if (server === undefined) throw new Error('the server is only available inside the tests of the suite that uses it');
      return server;
    },
  };
}
