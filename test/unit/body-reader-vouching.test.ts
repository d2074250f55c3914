/**
 * The body reader vouches for a UTF-8 body whose raw text holds no escape that could make
 * unstorable text, so validation skips the walk over its strings; any other body is walked.
 * Observed through a handler that slips a NUL into the parsed body after the reader: a vouched
 * body is not walked (the NUL goes unseen), a walked one is caught. Real HTTP, the real reader.
 */
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bodyReader } from "../../src/http/body-limits.js";
import { findUnstorableText } from "../../src/http/storable-text.js";

let url = "";
let close = () => {};

beforeAll(async () => {
  const app = express();
  app.post("/", bodyReader("small", { maxJsonBytes: 1 << 20, maxBlobBytes: 1 << 20 }), (req, res) => {
    (req.body as Record<string, unknown>).slipped = "\u0000";
    res.json({ walked: findUnstorableText(req.body, "body") !== undefined });
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  close = () => server.close();
});
afterAll(() => close());

async function walked(body: Buffer | string, contentType = "application/json"): Promise<boolean> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": contentType }, body });
  expect(res.status).toBe(200);
  return ((await res.json()) as { walked: boolean }).walked;
}

describe("the body reader's raw-text scan", () => {
  it("vouches for a UTF-8 body without \\u0000 or \\uD… escapes (raw non-ASCII and other escapes included)", async () => {
    expect(await walked('{"a":"café 😀 \\u00e9 \\n"}')).toBe(false);
    expect(await walked('{"a":1}', "application/json; charset=utf-8")).toBe(false);
  });

  it("walks a body with such an escape, and a body in another charset", async () => {
    expect(await walked('{"a":"\\ud83d\\ude00"}')).toBe(true);
    expect(await walked('{"a":"\\u0000"}')).toBe(true);
    expect(await walked(Buffer.from('{"a":"x"}', "utf16le"), "application/json; charset=utf-16le")).toBe(true);
  });
});
