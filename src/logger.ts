import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Lines to stdout are written in batches: at least STDOUT_BATCH_BYTES at a time, and whatever is
 * pending every STDOUT_FLUSH_MS. Every request writes its line, so unbatched that is one write
 * system call per request — more than the rest of a small request's own I/O besides its
 * socket and its query. pino flushes what is pending when the process exits (also through
 * process.exit or an uncaught exception); only a SIGKILL loses up to the last STDOUT_FLUSH_MS.
 */
export const STDOUT_BATCH_BYTES = 4096;
export const STDOUT_FLUSH_MS = 100;

/**
 * The root logger. Secrets never reach it: request serializers drop headers entirely and the
 * redact list is a second line of defence for anything that logs an object with a token in it.
 */
export function createLogger(options: { level: string; destination?: NodeJS.WritableStream }): Logger {
  const pinoOptions = {
    level: options.level,
    base: { service: "pinset" },
    redact: {
      paths: [
        "authorization",
        "token",
        "secret",
        "*.authorization",
        "*.token",
        "*.secret",
        "req.headers.authorization",
        "req.headers.cookie",
      ],
      censor: "[redacted]",
    },
  };
  const destination = options.destination
    ? (options.destination as pino.DestinationStream)
    : pino.destination({ dest: 1, sync: false, minLength: STDOUT_BATCH_BYTES, periodicFlush: STDOUT_FLUSH_MS });
  return pino(pinoOptions, destination);
}
