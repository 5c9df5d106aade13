import { pino, type Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * The process logger: JSON lines on stdout, errors under `err`. Secrets are Secret objects
 * that print as [redacted]; the redact paths below are a second belt for headers and
 * credentials that arrive as plain strings from libraries.
 */
export function createLogger(level: LogLevel = 'info', destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'terra-fanout' },
    redact: {
      paths: ['*.password', '*.secret', '*.sasl', '*.authorization', '*.headers["terra-signature"]', '*.headers["x-terra-signature"]', 'config.*.secret'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
