/**
 * Installs SIGTERM/SIGINT handlers: the first drains and exits 0, a second one exits at once.
 * With `hardDeadlineMs`, the process exits (code 1) that long after the first signal even if
 * draining has not finished: a hung client must never keep a pod in Terminating.
 */
export function onShutdownSignal(stop: () => Promise<void>, log: (message: string) => void, hardDeadlineMs?: number): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`Received ${signal} again; exiting without draining.`);
      process.exit(1);
    }
    stopping = true;
    log(`Received ${signal}; draining.`);
    if (hardDeadlineMs !== undefined) {
      setTimeout(() => {
        log(`Draining did not finish within ${hardDeadlineMs} ms; exiting.`);
        process.exit(1);
      }, hardDeadlineMs).unref();
    }
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
