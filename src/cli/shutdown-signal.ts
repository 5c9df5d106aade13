/** Installs SIGTERM/SIGINT handlers: the first drains and exits 0, a second one exits at once. */
export function onShutdownSignal(stop: () => Promise<void>, log: (message: string) => void): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`Received ${signal} again; exiting without draining.`);
      process.exit(1);
    }
    stopping = true;
    log(`Received ${signal}; draining.`);
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
