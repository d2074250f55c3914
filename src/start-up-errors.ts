/**
 * What a failed start says and how the process exits. Known causes print one line and a hint
 * (no stack trace: they are the operator's to fix, not a bug); anything else prints its stack
 * and exits 1. The codes are documented in README.md ("Exit codes").
 */
export const EXIT_CODES = {
  unexpected: 1,
  configuration: 2,
  listen: 3,
  databaseMissing: 4,
  databaseUnreachable: 5,
  dataDirInUse: 6,
} as const;

export interface StartFailure {
  exitCode: number;
  message: string;
  hint?: string;
}

/** Where the registry was told to find Postgres, without the password. */
export function describePostgres(url: string): { shown: string; host: string; port: string; user: string; database: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { shown: "(unparsable DATABASE_URL)", host: "?", port: "5432", user: "?", database: "?" };
  }
  const host = decodeURIComponent(parsed.hostname || parsed.searchParams.get("host") || "localhost");
  const port = parsed.port || "5432";
  const user = decodeURIComponent(parsed.username || "postgres");
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || user;
  return { shown: `${host}:${port}/${database} as ${user}`, host, port, user, database };
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "ECONNRESET"]);

/** The error and its causes (migrations wrap the driver's error; Node wraps dual-stack attempts in an AggregateError). */
function chain(err: unknown): Array<Error & { code?: string; errno?: number }> {
  const out: Array<Error & { code?: string }> = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 20) {
    const next = queue.shift();
    if (!(next instanceof Error)) continue;
    out.push(next);
    if (next.cause) queue.push(next.cause);
    if (next instanceof AggregateError) queue.push(...next.errors);
  }
  return out;
}

export function classifyStartFailure(err: unknown, context: { port?: number; host?: string; databaseUrl?: string }): StartFailure {
  const errors = chain(err);
  const named = (name: string) => errors.find((e) => e.name === name);

  const config = named("ConfigError");
  if (config) return { exitCode: EXIT_CODES.configuration, message: config.message, hint: "fix the variables above (README.md lists them all)" };

  const locked = named("DataDirLockedError");
  if (locked) return { exitCode: EXIT_CODES.dataDirInUse, message: locked.message };

  const listen = errors.find((e) => (e.code === "EADDRINUSE" || e.code === "EACCES") && "syscall" in e && e.syscall === "listen");
  if (listen) {
    const where = `${context.host ?? "?"}:${context.port ?? "?"}`;
    const next = (context.port ?? 8080) + 1;
    return listen.code === "EADDRINUSE"
      ? { exitCode: EXIT_CODES.listen, message: `port ${context.port} is in use: another process listens on ${where}`, hint: `stop it, or choose another port: PORT=${next} npm start` }
      : { exitCode: EXIT_CODES.listen, message: `not allowed to listen on ${where}`, hint: `ports below 1024 need privileges: choose another, e.g. PORT=8080` };
  }

  if (context.databaseUrl) {
    const pg = describePostgres(context.databaseUrl);
    if (errors.some((e) => e.code === "3D000")) {
      return {
        exitCode: EXIT_CODES.databaseMissing,
        message: `Postgres at ${pg.host}:${pg.port} has no database "${pg.database}"`,
        hint: `create it: createdb -h ${pg.host} -p ${pg.port} -U ${pg.user} ${pg.database}   (or point DATABASE_URL at an existing one)`,
      };
    }
    const login = errors.find((e) => e.code === "28P01" || e.code === "28000");
    if (login) {
      return { exitCode: EXIT_CODES.databaseUnreachable, message: `Postgres at ${pg.shown} refused the login: ${login.message}`, hint: "check the user and password in DATABASE_URL" };
    }
    const network = errors.find((e) => (e.code !== undefined && UNREACHABLE.has(e.code)) || /timeout|terminated unexpectedly/i.test(e.message));
    if (network) {
      const why = network.code ?? network.message;
      return {
        exitCode: EXIT_CODES.databaseUnreachable,
        message: `cannot reach Postgres: tried ${pg.shown} (${why})`,
        hint: `is Postgres running there? Check DATABASE_URL (pg_isready -h ${pg.host} -p ${pg.port})`,
      };
    }
  }
  const first = errors[0];
  return { exitCode: EXIT_CODES.unexpected, message: `failed to start: ${first?.stack ?? String(err)}` };
}

export function formatStartFailure(failure: StartFailure): string {
  return `pinset: ${failure.message}\n${failure.hint ? `  hint: ${failure.hint}\n` : ""}`;
}
