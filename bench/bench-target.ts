/**
 * A destination `npm run bench` can drive: bench/run.ts starts it, runs one lane from the
 * benchmark topic into it, prints records/s and the ratio to the raw consumer, then stops it.
 * Each connector's benchmark lives in bench/targets/<connector>.ts and exports a start function.
 */
export interface BenchTarget {
  /** Printed in the results, e.g. `lane -> s3 (moto), ndjson+gzip`. */
  label: string;
  /** The tenant file's destination entry, minus `name`. */
  destination: {
    type: string;
    config: Record<string, unknown>;
    batch?: { maxRecords?: number; maxBytes?: string; lingerMs?: number };
  };
  /** At most this many events for this target (a slow local server); BENCH_TARGET_EVENTS otherwise. */
  maxEvents?: number;
  /** How many records the target holds now (rows, objects' lines, messages), to check nothing was lost; undefined when it cannot tell. */
  count?(): Promise<number>;
  /** Stops the servers it started and removes what it wrote. */
  stop(): Promise<void>;
}
