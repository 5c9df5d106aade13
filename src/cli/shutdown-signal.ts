/**
 * Installs SIGTERM/SIGINT handlers: the first drains and exits 0 (1 when the drain failed), a
 * second one calls `force` (if given) and exits 1 at once.
 */
export function onShutdownSignal(stop: () => Promise<void>, log: (message: string) => void, force?: () => void): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`Received ${signal} again; exiting without draining.`);
      force?.();
      process.exit(1);
    }
    stopping = true;
    log(`Received ${signal}; draining.`);
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
