/**
 * A value that must never be shown: a provider header such as `authorization: Bearer …`.
 *
 *   const s = new Secret("Bearer abc");
 *   s.reveal()               "Bearer abc"  — only the Prometheus client and the config store call it
 *   JSON.stringify({ s })    {"s":"[redacted]"}   (so a pino log line or an API answer cannot leak it)
 *   String(s), `${s}`        "[redacted]"
 *   util.inspect(s)          Secret([redacted])    (console.log, vitest diffs, error dumps)
 *
 * The value sits in a private field, so neither Object.keys, spreading nor structured logging
 * reaches it.
 */
import { inspect } from "node:util";

export const REDACTED = "[redacted]";

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/**
 * `text` with every occurrence of each secret's value replaced by "[redacted]": for messages built
 * from what a remote server said, which could echo a header back. Values shorter than 4
 * characters are left alone (replacing "a" everywhere would garble the message, and such a
 * header is no secret).
 */
export function redact(text: string, secrets: Iterable<Secret>): string {
  let out = text;
  for (const secret of secrets) {
    const value = secret.reveal();
    if (value.length >= 4) out = out.split(value).join(REDACTED);
  }
  return out;
}
