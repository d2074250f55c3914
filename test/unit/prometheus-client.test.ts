import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AnalysisError } from "../../src/analysis/errors.js";
import { createPrometheusClient, type PrometheusClient } from "../../src/analysis/prometheus-client.js";
import { histogramBuckets, singleValue, type ResultData } from "../../src/analysis/prometheus-response.js";
import { Secret } from "../../src/analysis/secret.js";
import { freePort } from "../support/spawn-server.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A stand-in for Prometheus whose answer each test sets. */
let answer: (req: Seen, res: ServerResponse) => void = (_req, res) => res.end();
const seen: Seen[] = [];
let server: Server;
let base: string;
const SECRET = "Bearer very-secret-token-42";

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(s);
      answer(s, res);
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise<void>((r) => server.once("listening", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});
afterEach(() => {
  seen.length = 0;
});

const json = (status: number, body: unknown) => (_req: Seen, res: ServerResponse) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
const success = (data: unknown, extra: object = {}) => json(200, { status: "success", data, ...extra });
const client = (options: Partial<Parameters<typeof createPrometheusClient>[0]> = {}): PrometheusClient =>
  createPrometheusClient({ url: `${base}/prom/`, headers: { authorization: new Secret(SECRET) }, timeoutMs: 2000, ...options });
const TIME = new Date("2026-12-06T10:00:00.250Z");

async function failure(promise: Promise<unknown>): Promise<AnalysisError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AnalysisError);
  expect(JSON.stringify({ message: (error as Error).message })).not.toContain("very-secret-token");
  return error as AnalysisError;
}

describe("the request", () => {
  it("POSTs a form to <base>/api/v1/query with time = the window's end, a timeout and the headers", async () => {
    answer = success({ resultType: "scalar", result: [1796551200.25, "42"] });
    const result = await client().query({ query: 'sum(x{a="b"})', time: TIME });
    expect(result).toEqual({ data: { resultType: "scalar", result: [1796551200.25, "42"] }, warnings: [] });
    const [req] = seen;
    expect(req).toMatchObject({ method: "POST", url: "/prom/api/v1/query" });
    expect(Object.fromEntries(new URLSearchParams(req!.body))).toEqual({ query: 'sum(x{a="b"})', time: "1796551200.250", timeout: "2" });
    expect(req!.headers).toMatchObject({ authorization: SECRET, "content-type": "application/x-www-form-urlencoded", accept: "application/json" });
  });

  it("sends GET with the parameters in the URL", async () => {
    answer = success({ resultType: "vector", result: [] });
    await client({ method: "GET" }).query({ query: "up", time: TIME });
    const url = new URL(seen[0]!.url, base);
    expect(seen[0]!.method).toBe("GET");
    expect(url.pathname).toBe("/prom/api/v1/query");
    expect(url.searchParams.get("query")).toBe("up");
    expect(url.searchParams.get("time")).toBe("1796551200.250");
    expect(seen[0]!.body).toBe("");
  });

  it("passes Prometheus' warnings and infos along, redacted", async () => {
    answer = success({ resultType: "scalar", result: [1, "1"] }, { warnings: [`partial: ${SECRET}`], infos: ["info"] });
    expect((await client().query({ query: "1", time: TIME })).warnings).toEqual(["partial: [redacted]", "info"]);
  });
});

describe("every failure is a typed analysis error", () => {
  it("Prometheus' own error answers: query_failed with errorType, timeout for its time-out", async () => {
    answer = json(400, { status: "error", errorType: "bad_data", error: 'invalid parameter "query": 1:7: parse error: unclosed left parenthesis' });
    const bad = await failure(client().query({ query: "sum(up", time: TIME }));
    expect(bad).toMatchObject({ kind: "query_failed", errorType: "bad_data", status: 400 });
    expect(bad.message).toContain("unclosed left parenthesis");
    answer = json(422, { status: "error", errorType: "execution", error: "many-to-many matching not allowed" });
    expect(await failure(client().query({ query: "a / b", time: TIME }))).toMatchObject({ kind: "query_failed", errorType: "execution" });
    answer = json(503, { status: "error", errorType: "timeout", error: "query timed out in expression evaluation" });
    expect(await failure(client().query({ query: "x", time: TIME }))).toMatchObject({ kind: "timeout", errorType: "timeout" });
  });

  it("a time-out: no answer within timeoutMs", async () => {
    answer = () => {}; // never answers
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 300 }).query({ query: "x", time: TIME }));
    expect(error.kind).toBe("timeout");
    expect(error.message).toContain("did not answer within 0.3 s");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("a time-out while the body trickles in", async () => {
    answer = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"status":"success",');
    };
    expect((await failure(client({ timeoutMs: 300 }).query({ query: "x", time: TIME }))).kind).toBe("timeout");
  });

  it("connection refused: unreachable, naming the code", async () => {
    const port = await freePort();
    const error = await failure(createPrometheusClient({ url: `http://127.0.0.1:${port}` }).query({ query: "x", time: TIME }));
    expect(error.kind).toBe("unreachable");
    expect(error.message).toBe(`Prometheus at http://127.0.0.1:${port} is unreachable: connection refused (ECONNREFUSED)`);
  });

  it("an unknown host: unreachable", async () => {
    const error = await failure(createPrometheusClient({ url: "http://prometheus.invalid:9090", timeoutMs: 5000 }).query({ query: "x", time: TIME }));
    expect(["unreachable", "timeout"]).toContain(error.kind);
  });

  it("the caller's abort: aborted", async () => {
    answer = () => {};
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect((await failure(client().query({ query: "x", time: TIME, signal: controller.signal }))).kind).toBe("aborted");
  });

  it("a proxy's 401 or 502 page: http_error, never its body", async () => {
    answer = (_req, res) => res.writeHead(401, { "content-type": "text/html" }).end(`<h1>no</h1> you sent ${SECRET}`);
    const unauthorized = await failure(client().query({ query: "x", time: TIME }));
    expect(unauthorized).toMatchObject({ kind: "http_error", status: 401 });
    expect(unauthorized.message).toContain("check the provider's headers");
    expect(unauthorized.message).not.toContain("<h1>");
    answer = (_req, res) => res.writeHead(502).end("bad gateway");
    expect(await failure(client().query({ query: "x", time: TIME }))).toMatchObject({ kind: "http_error", status: 502 });
  });

  it("a 200 that is not Prometheus' API: bad_response", async () => {
    answer = (_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>Grafana</html>");
    expect((await failure(client().query({ query: "x", time: TIME }))).message).toContain("not JSON: text/html");
    answer = json(200, { status: "success", data: { resultType: "vector", result: "nope" } });
    expect((await failure(client().query({ query: "x", time: TIME }))).message).toContain("data.result");
    answer = json(200, { status: "maybe" });
    expect((await failure(client().query({ query: "x", time: TIME }))).kind).toBe("bad_response");
  });

  it("a redirect is not followed: the headers never reach the other address", async () => {
    let other = 0;
    const elsewhere = createServer((_req, res) => {
      other++;
      res.end();
    }).listen(0, "127.0.0.1");
    await new Promise<void>((r) => elsewhere.once("listening", () => r()));
    answer = (_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/api/v1/query` }).end();
    const error = await failure(client().query({ query: "x", time: TIME }));
    expect(error).toMatchObject({ kind: "bad_response", status: 307 });
    expect(error.message).toContain("redirects are not followed");
    expect(other).toBe(0);
    elsewhere.close();
  });

  it("an answer larger than maxBytes: bad_response", async () => {
    answer = success({ resultType: "vector", result: Array.from({ length: 5000 }, (_, i) => ({ metric: { i: String(i) }, value: [1, "1"] })) });
    expect((await failure(client({ maxBytes: 64 * 1024 }).query({ query: "x", time: TIME }))).message).toContain("larger than");
  });

  it("what a server echoes is redacted from the message", async () => {
    answer = (req, res) => res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ status: "error", errorType: "bad_data", error: `you sent authorization: ${req.headers.authorization}` }));
    const error = await failure(client().query({ query: "x", time: TIME }));
    expect(error.message).toContain("you sent authorization: [redacted]");
  });
});

describe("reading an answer", () => {
  const vector = (...samples: [Record<string, string>, string][]): ResultData => ({ resultType: "vector", result: samples.map(([metric, v]) => ({ metric, value: [1, v] as [number, string] })) });

  it("one number: a scalar or a one-sample vector", () => {
    expect(singleValue({ resultType: "scalar", result: [1, "0.25"] })).toBe(0.25);
    expect(singleValue(vector([{}, "1812.4"]))).toBe(1812.4);
    expect(singleValue(vector([{ job: "x" }, "1e3"]))).toBe(1000);
  });

  it("NaN and ±Inf are not_finite; several series, none, a matrix, a string, a native histogram each say so", () => {
    const kind = (data: ResultData) => {
      try {
        singleValue(data);
      } catch (e) {
        return [(e as AnalysisError).kind, (e as AnalysisError).message];
      }
      return ["none", ""];
    };
    expect(kind({ resultType: "scalar", result: [1, "NaN"] })).toEqual(["not_finite", expect.stringContaining("0/0")]);
    expect(kind(vector([{}, "+Inf"]))[0]).toBe("not_finite");
    expect(kind(vector([{}, "-Inf"]))[0]).toBe("not_finite");
    expect(kind(vector())).toEqual(["empty_result", expect.stringContaining("no series")]);
    expect(kind(vector([{ outcome: "success" }, "1"], [{ outcome: "failure" }, "2"]))).toEqual([
      "several_series",
      'the query returned 2 series where one is expected: {outcome="success"}, {outcome="failure"}; aggregate them, e.g. sum(…)',
    ]);
    expect(kind(vector(...Array.from({ length: 5 }, (_, i) => [{ i: String(i) }, "1"] as [Record<string, string>, string])))[1]).toContain("… (2 more)");
    expect(kind({ resultType: "matrix", result: [] })).toEqual(["wrong_type", expect.stringContaining("range vector")]);
    expect(kind({ resultType: "string", result: [1, "hi"] })[0]).toBe("wrong_type");
    expect(kind({ resultType: "vector", result: [{ metric: {}, histogram: [1, {}] }] })).toEqual(["wrong_type", expect.stringContaining("native histogram")]);
  });

  it("buckets: one series per le, sorted by bound, +Inf last, counts rounded and never falling", () => {
    const data = vector([{ le: "+Inf" }, "2000.4"], [{ le: "1000" }, "1921.2"], [{ le: "250" }, "640.6"], [{ le: "500" }, "1502"], [{ le: "62.5" }, "0"]);
    expect(histogramBuckets(data)).toEqual([
      { le: 62.5, count: 0 },
      { le: 250, count: 641 },
      { le: 500, count: 1502 },
      { le: 1000, count: 1921 },
      { le: "+Inf", count: 2000 },
    ]);
    // Each bucket series is extrapolated on its own: a hair's dip is raised, as histogram_quantile does.
    expect(histogramBuckets(vector([{ le: "100" }, "10.2"], [{ le: "200" }, "9.9"], [{ le: "+Inf" }, "10"]))).toEqual([
      { le: 100, count: 10 },
      { le: 200, count: 10 },
      { le: "+Inf", count: 10 },
    ]);
  });

  it("buckets: errors for a missing +Inf, a duplicate or missing le, a scalar, NaN, a negative count", () => {
    const fails = (data: ResultData) => {
      try {
        histogramBuckets(data);
      } catch (e) {
        return `${(e as AnalysisError).kind}: ${(e as AnalysisError).message}`;
      }
      return "accepted";
    };
    expect(fails(vector([{ le: "100" }, "1"]))).toMatch(/^invalid_value: no "\+Inf" bucket/);
    expect(fails(vector([{ le: "100", pod: "a" }, "1"], [{ le: "100", pod: "b" }, "1"], [{ le: "+Inf" }, "2"]))).toMatch(/^several_series: several series have le="100"/);
    expect(fails(vector([{ job: "x" }, "1"]))).toMatch(/^wrong_type: a series has no "le" label/);
    expect(fails(vector([{ le: "abc" }, "1"], [{ le: "+Inf" }, "1"]))).toMatch(/^bad_response/);
    expect(fails({ resultType: "scalar", result: [1, "1"] })).toMatch(/^wrong_type: the query returned a scalar/);
    expect(fails(vector([{ le: "100" }, "NaN"], [{ le: "+Inf" }, "1"]))).toMatch(/^not_finite/);
    expect(fails(vector([{ le: "100" }, "-1"], [{ le: "+Inf" }, "1"]))).toMatch(/^invalid_value: the count at le="100" is -1/);
    expect(fails(vector())).toMatch(/^empty_result/);
  });
});
