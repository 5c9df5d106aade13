import type { ChildProcess } from 'node:child_process';

/** A pino JSON log line, as far as the tests of `run --processes N` read it. */
export interface LogLine {
  msg?: string;
  process?: number;
  pid?: number;
}

/** The primary's stdout as parsed JSON log lines (its own and its worker processes'), kept as they arrive. */
export function collectLogs(child: ChildProcess): LogLine[] {
  const lines: LogLine[] = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        // not a log line
      }
    }
  });
  return lines;
}
