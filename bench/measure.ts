/**
 * Measuring helpers for the benchmarks: CPU time of this process (what the noisy shared machine
 * disturbs least), peak RSS, the machine's load, and number formatting.
 */
import { loadavg, cpus } from 'node:os';

/** CPU microseconds (user + system) this process has used so far. */
export function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** The kernel's part of it: CPU microseconds this process has spent in system calls so far. */
export function systemMicros(): number {
  return process.cpuUsage().system;
}

/** Samples RSS every 20 ms until stopped; returns the peak (`memoryUsage.rss()`: no heap statistics, so the sampling costs the measured lane next to nothing). */
export function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** `load 1.23 0.98 0.71 on 2 cores`: printed with every figure, so a noisy run shows it. */
export function machineLoad(): string {
  return `load ${loadavg().map((value) => value.toFixed(2)).join(' ')} on ${cpus().length} cores`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}
