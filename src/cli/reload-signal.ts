/**
 * Installs a SIGHUP handler that reloads the tenant files (as the watcher and POST /admin/reload
 * do). The reload logs and counts its own outcome; a failure never ends the process.
 */
export function onReloadSignal(reload: (reason: string) => Promise<unknown>): void {
  process.on('SIGHUP', () => {
    reload('SIGHUP').catch(() => undefined);
  });
}
