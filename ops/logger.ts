import { createRequire } from 'node:module';
import { type DestinationStream, type Logger as PinoLogger, type LoggerOptions, pino } from 'pino';

export type { PinoLogger };

/** The small call shape the composition root and jobs use: a level, a message, flat fields. */
export type Logger = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/**
 * Fields that must never reach a log line. Request logs carry no headers or bodies at all; these
 * paths are the second line of defence for a field someone adds later (pino redacts by path, so
 * each depth is listed).
 */
export const REDACTED_PATHS = [
  'authorization',
  'token',
  'email',
  '*.authorization',
  '*.token',
  '*.email',
  '*.*.authorization',
  '*.*.email',
  'headers.authorization',
  'req.headers.authorization',
  'students[*].email',
  '*.students[*].email',
];

const EMAIL = /[^\s@"'<>()[\],;:]+@[^\s@"'<>()[\],;:]+\.[a-z]{2,}/gi;

/** E-mail addresses inside free text (an error message quoting a row) become `[email]`. */
function scrubEmails(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(EMAIL, '[email]');
  if (depth > 3 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubEmails(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubEmails(v, depth + 1)]));
}

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export interface LoggerSettings {
  level: string;
  /** Where JSON lines go; tests pass a stream to read them. Defaults to stdout. */
  destination?: DestinationStream;
  /** Human-readable lines; by default only when stdout is a terminal and pino-pretty is installed. */
  pretty?: boolean;
}

/** JSON lines on stdout (one object per line, `level` as a word, ISO `time`), pretty on a TTY. */
export function createLogger(settings: LoggerSettings): PinoLogger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'huleedu-phase1-state-service' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => scrubEmails(object) as Record<string, unknown>,
    },
  };
  if (settings.destination) return pino(options, settings.destination);
  const pretty = settings.pretty ?? (process.stdout.isTTY === true && prettyAvailable());
  if (pretty) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } });
  return pino(options, pino.destination({ dest: 1, sync: true }));
}

/** Adapts a pino logger to the `Logger` call shape. */
export function logFunction(logger: PinoLogger): Logger {
  return (level, message, fields = {}) => logger[level](fields, message);
}
