/**
 * TERRA_FANOUT_V8_TUNING=off: the worker leaves V8 as Node starts it (no young-generation relaunch,
 * no heap-growth bound, no forced collections after large messages). One switch for all of them.
 */
export function v8TuningOff(): boolean {
  return (process.env['TERRA_FANOUT_V8_TUNING'] ?? '').toLowerCase() === 'off';
}
