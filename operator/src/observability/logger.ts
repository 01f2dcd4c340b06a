import type { Logger } from 'pino';
import { pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** pino level: trace, debug, info, warn, error, fatal, silent. @default info */
  level?: string;
  /** Where to write; stdout by default. Tests pass a stream to read the lines. */
  destination?: NodeJS.WritableStream;
}

/**
 * The operator's root logger: JSON lines, ISO times, errors under `err`, credentials redacted by path. Derive
 * `child({controller})` per controller; the runtime adds `{key, reconcileID, generation}` per reconcile.
 */
export function createLogger({ level = 'info', destination }: LoggerOptions = {}): Logger {
  const options = {
    level,
    base: { component: 'mlops-operator' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: {
      paths: [
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        '*.headers.authorization',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
