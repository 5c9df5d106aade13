export interface ShutdownOptions {
  /**
   * The process exits (code 1) this long after the first signal even if draining has not
   * finished: a hung client must never keep a pod in Terminating.
   */
  hardDeadlineMs?: number;
  /** Called before any exit that does not wait for the drain (a second signal, the hard deadline), e.g. to kill child processes. */
  force?: () => void;
}

/**
 * Installs SIGTERM/SIGINT handlers: the first drains and exits 0 (1 when the drain failed), a
 * second one exits 1 at once.
 */
export function onShutdownSignal(stop: () => Promise<void>, log: (message: string) => void, options: ShutdownOptions = {}): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`Received ${signal} again; exiting without draining.`);
      options.force?.();
      process.exit(1);
    }
    stopping = true;
    log(`Received ${signal}; draining.`);
    const { hardDeadlineMs } = options;
    if (hardDeadlineMs !== undefined) {
      setTimeout(() => {
        log(`Draining did not finish within ${hardDeadlineMs} ms; exiting.`);
        options.force?.();
        process.exit(1);
      }, hardDeadlineMs).unref();
    }
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`Draining failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
