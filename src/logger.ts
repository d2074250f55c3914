import { pino, type Logger } from "pino";

export type { Logger };

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
  return options.destination
    ? pino(pinoOptions, options.destination as pino.DestinationStream)
    : pino(pinoOptions);
}
