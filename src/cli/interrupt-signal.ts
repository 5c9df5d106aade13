/**
 * An AbortSignal that aborts on the first SIGINT or SIGTERM, so a command can stop cleanly
 * (finish the item in hand, print totals); a second signal exits at once with code 130.
 */
export function interruptSignal(onFirst?: (signal: NodeJS.Signals) => void): AbortSignal {
  const controller = new AbortController();
  const handle = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    onFirst?.(signal);
    controller.abort();
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  return controller.signal;
}
