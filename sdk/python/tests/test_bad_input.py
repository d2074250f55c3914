"""Bad input against a scripted registry: answers that are not JSON or are cut off, event streams
with frames that carry no data, refusals, cache files that are corrupt or belong elsewhere, a
stream that goes silent or comes from a registry without its database."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import unittest
from typing import Any, List

import _support  # noqa: F401 - puts the SDK's sources on sys.path
from _fake_registry import VS_A, VS_B, FakeRegistry, Request, bundle_of, http_answer, resolve_answer, sse_head, state_event
from _support import FAST, free_port, wait_for

from pinset import Client, PinsetError, RegistryUnreachableError, Resolver, ResolverRefusedError, ResolverStartError, Snapshot
from pinset._cache_file import CacheRecord, write_cache_file

PROBLEM_403 = json.dumps(
    {"type": "urn:pinset:problem:forbidden", "title": "Forbidden", "status": 403, "detail": "This route needs the read scope, which the token does not have", "code": "forbidden", "trace_id": "t-403"}
).encode()


class BadInput(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="pinset-py-bad-")
        self.open: List[Any] = []

    def tearDown(self) -> None:
        for thing in reversed(self.open):
            thing.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def fake(self, handler: Any) -> FakeRegistry:
        registry = FakeRegistry(handler)
        self.open.append(registry)
        return registry

    def resolver(self, url: str, **options: Any) -> Resolver:
        r = Resolver(url, "token", "p", "prod", **{**FAST, **options})
        self.open.append(r)
        return r

    def cache(self, environment: str = "prod", version_set: str = VS_A, **fields: Any) -> str:
        path = os.path.join(self.dir, "cache.json")
        record = CacheRecord("p", environment, None, version_set, f'"{version_set}"', None, "2026-01-01T00:00:00.000Z", bundle_of(version_set), 3)
        write_cache_file(path, record)
        if fields:
            with open(path) as handle:
                data = json.load(handle)
            data.update(fields)
            with open(path, "w") as handle:
                json.dump(data, handle)
        return path

    # ------------------------------------------------------------------ answers that are not answers

    def test_a_resolve_answer_that_is_not_json_at_start(self) -> None:
        fake = self.fake(lambda req: http_answer(200, b"<html>proxy login</html>", "text/html"))
        with self.assertRaises(ResolverStartError) as caught:
            self.resolver(fake.url).wait_ready(5)
        self.assertNotIsInstance(caught.exception, PinsetError, "garbage is transient, not a refusal")
        self.assertIn("is not JSON", str(caught.exception))
        self.assertIn("nothing to start from: no cache_file is configured", str(caught.exception))
        # The same answer with a cache file: the resolver starts from it.
        r = self.resolver(fake.url, cache_file=self.cache())
        snap = r.wait_ready(5)
        self.assertEqual((snap.version_set, snap.source, snap.stale, snap.revision), (VS_A, "cache-file", True, 3))
        self.assertEqual(fake.to("resolve")[-1].headers.get("if-none-match"), f'"{VS_A}"')

    def test_a_truncated_resolve_answer(self) -> None:
        body = json.dumps(bundle_of(VS_A)).encode()
        fake = self.fake(lambda req: http_answer(200, body[:40], length=len(body), headers={"x-trace-id": "cut"}))
        with self.assertRaises(ResolverStartError) as caught:
            self.resolver(fake.url).wait_ready(5)
        self.assertRegex(str(caught.exception), r"cut off after 40 of \d+ bytes")
        with self.assertRaises(PinsetError) as client_error:
            Client(fake.url).resolve("p", "prod")
        self.assertEqual((client_error.exception.code, client_error.exception.status, client_error.exception.trace_id), ("invalid_response", 200, "cut"))

    def test_after_start_garbage_and_cut_answers_never_raise(self) -> None:
        resolves = iter([resolve_answer(VS_A), http_answer(200, b"not json"), http_answer(200, b'{"id":', length=500), resolve_answer(VS_B)])

        def handler(req: Request) -> Any:
            if req.endpoint == "resolve":
                return next(resolves, resolve_answer(VS_B))
            return iter([sse_head(), state_event(VS_B, 2)])

        fake = self.fake(handler)
        r = self.resolver(fake.url)
        errors: List[BaseException] = []
        r.on_error(errors.append)
        changes: List[Snapshot] = []
        r.on_change(lambda nxt, previous: changes.append(nxt))
        self.assertEqual(r.wait_ready(5).version_set, VS_A)
        wait_for(lambda: changes, "the change once the registry answers properly")
        self.assertEqual((r.current().version_set, r.current().revision), (VS_B, 2))
        codes = [e.code for e in errors if isinstance(e, PinsetError)]
        self.assertEqual(codes[:2], ["invalid_response", "invalid_response"])
        # The event was not handled until its resolve succeeded, so each reconnect asked for it again.
        self.assertTrue(all("last-event-id" not in w.headers for w in fake.to("watch")[:3]))

    def test_event_stream_frames_without_data_or_with_bad_data_are_ignored(self) -> None:
        frames = [
            sse_head(),
            b"id: 5\nevent: change\n\n",  # no data line: not dispatched
            b"event: change\ndata: not json\n\n",
            b"data: [1, 2]\n\n",
            b': hb\n\ndata: {"active": "vs_x"}\n\n',  # no revision: not an environment
            b"data\n\n",  # a field name alone: empty data
            state_event(VS_B, 7, "change"),
        ]
        def handler(req: Request) -> Any:
            if req.endpoint == "resolve":
                return resolve_answer(VS_B if len(fake.to("resolve")) > 1 else VS_A)
            return fake.stream(*frames)

        fake = self.fake(handler)
        r = self.resolver(fake.url)
        errors: List[BaseException] = []
        r.on_error(errors.append)
        r.wait_ready(5)
        wait_for(lambda: r.version_set == VS_B, "the one real event")
        self.assertEqual(r.current().revision, 7)
        self.assertEqual(len(fake.to("resolve")), 2, "only the real event asked resolve")
        self.assertEqual(len(fake.to("watch")), 1, "the stream was not treated as failed")
        self.assertEqual(errors, [])

    def test_a_refusal_at_start_is_raised_once_and_not_retried(self) -> None:
        fake = self.fake(lambda req: http_answer(403, PROBLEM_403, "application/problem+json", headers={"x-trace-id": "t-403"}))
        r = self.resolver(fake.url, cache_file=self.cache())
        with self.assertRaises(PinsetError) as caught:
            r.wait_ready(5)
        error = caught.exception
        self.assertIsInstance(error, ResolverRefusedError)
        self.assertIsInstance(error, ResolverStartError)
        self.assertEqual((error.status, error.code, error.title, error.trace_id), (403, "forbidden", "Forbidden", "t-403"))
        self.assertEqual(error.detail, "This route needs the read scope, which the token does not have")
        self.assertTrue(str(error).startswith("Cannot resolve p/prod: This route needs the read scope"))
        time.sleep(0.5)
        self.assertEqual(len(fake.requests), 1, "a refusal is not retried")
        self.assertFalse(r._thread.is_alive())

    # ------------------------------------------------------------------ cache files not to trust

    def test_a_corrupt_cache_file_is_ignored_with_a_warning(self) -> None:
        path = os.path.join(self.dir, "cache.json")
        with open(path, "w") as handle:
            handle.write('{"format": "pinset-resolver-cache/1", "project": "p", "environ')
        with self.assertLogs("pinset.resolver", "WARNING") as logs:
            r = self.resolver(f"http://127.0.0.1:{free_port()}", cache_file=path)
            with self.assertRaises(ResolverStartError) as caught:
                r.wait_ready(5)
        self.assertIn("ignoring the cache file: cache file", logs.output[0])
        self.assertIn("is not valid JSON", logs.output[0])
        self.assertRegex(str(caught.exception), r"ECONNREFUSED; and there is nothing to start from: cache file .* is not valid JSON$")

    def test_a_cache_file_of_another_environment_is_not_trusted(self) -> None:
        path = self.cache(environment="staging")
        with self.assertLogs("pinset.resolver", "WARNING") as logs:
            r = self.resolver(f"http://127.0.0.1:{free_port()}", cache_file=path)
            with self.assertRaises(ResolverStartError) as caught:
                r.wait_ready(5)
        self.assertIn('was written for environment "staging", not "prod"', logs.output[0])
        self.assertIn('was written for environment "staging", not "prod"', str(caught.exception))
        # With the registry up, its etag is not sent and the file is rewritten for this environment.
        fake = self.fake(lambda req: resolve_answer(VS_B) if req.endpoint == "resolve" else http_answer(404))
        with self.assertLogs("pinset.resolver", "WARNING"):
            up = self.resolver(fake.url, cache_file=path)
            self.assertEqual(up.wait_ready(5).version_set, VS_B)
        self.assertNotIn("if-none-match", fake.to("resolve")[0].headers)
        with open(path) as handle:
            self.assertEqual((json.load(handle)["environment"]), "prod")

    def test_a_cache_file_whose_bundle_does_not_match_is_not_trusted(self) -> None:
        path = self.cache(version_set=VS_A, bundle=bundle_of(VS_B))
        with self.assertLogs("pinset.resolver", "WARNING") as logs, self.assertRaises(ResolverStartError):
            self.resolver(f"http://127.0.0.1:{free_port()}", cache_file=path).wait_ready(5)
        self.assertIn("the bundle does not match its version_set", logs.output[0])

    def test_a_cache_file_that_cannot_be_written_is_reported_and_the_resolver_carries_on(self) -> None:
        blocker = os.path.join(self.dir, "not-a-directory")
        with open(blocker, "w") as handle:
            handle.write("a file where the cache directory should be")
        fake = self.fake(lambda req: resolve_answer(VS_A) if req.endpoint == "resolve" else fake.stream(sse_head(), state_event(VS_A, 1)))
        with self.assertLogs("pinset.resolver", "WARNING") as logs:
            r = self.resolver(fake.url, cache_file=os.path.join(blocker, "cache.json"))
            self.assertEqual(r.wait_ready(5).version_set, VS_A)
        self.assertRegex(logs.output[0], r"ignoring the cache file: cache file .* cannot be read \(Not a directory\)")
        self.assertRegex(logs.output[1], r"cannot write the cache file .*: \[Errno \d+\]")
        wait_for(lambda: r.current().revision == 1, "the watch stream")
        self.assertFalse(r.stale)

    # ------------------------------------------------------------------ streams

    def test_a_watch_answer_that_is_not_an_event_stream_means_polling(self) -> None:
        def handler(req: Request) -> Any:
            if req.endpoint == "watch":
                return http_answer(200, b"{}", "application/json")
            return resolve_answer(VS_B if len(fake.to("resolve")) > 3 else VS_A)

        fake = self.fake(handler)
        r = self.resolver(fake.url, poll_interval=0.05)
        r.wait_ready(5)
        wait_for(lambda: r.version_set == VS_B, "the change by polling")
        self.assertEqual(len(fake.to("watch")), 1)

    def test_a_silent_stream_is_reconnected_after_the_idle_timeout(self) -> None:
        def handler(req: Request) -> Any:
            if req.endpoint == "resolve":
                return resolve_answer(VS_A)
            return fake.stream(sse_head(), state_event(VS_A, 1))

        fake = self.fake(handler)
        r = self.resolver(fake.url, idle_timeout=0.3)
        errors: List[BaseException] = []
        r.on_error(errors.append)
        r.wait_ready(5)
        wait_for(lambda: len(fake.to("watch")) >= 2, "the reconnect", timeout=5)
        self.assertTrue(any(isinstance(e, RegistryUnreachableError) and "silent for 0.3 s" in str(e) for e in errors), errors)
        self.assertEqual(fake.to("watch")[1].headers.get("last-event-id"), "1")

    def test_a_registry_without_its_database_marks_the_snapshot_stale_until_it_recovers(self) -> None:
        def handler(req: Request) -> Any:
            if req.endpoint == "resolve":
                return resolve_answer(VS_A, {"x-pinset-stale": "true"} if len(fake.to("resolve")) == 1 else None)
            first = len(fake.to("watch")) == 1
            return fake.stream(sse_head({"x-pinset-stale": "true"} if first else None), state_event(VS_A, 4, stale=first))

        fake = self.fake(handler)
        r = self.resolver(fake.url, poll_interval=0.2)
        self.assertTrue(r.wait_ready(5).stale)
        wait_for(lambda: len(fake.to("watch")) >= 2, "the re-check of a stale stream")
        wait_for(lambda: not r.stale, "current again once the registry says so")
        self.assertEqual(r.current().revision, 4)

    # ------------------------------------------------------------------ client

    def test_client_errors_from_answers_without_a_problem_body(self) -> None:
        answers = {
            "html": http_answer(502, b"<html><body>Bad gateway</body></html>", "text/html"),
            "text": http_answer(503, b"upstream connect error", "text/plain", headers={"x-trace-id": "from-header"}),
            "json": http_answer(200, b"{not json", "application/json"),
        }
        fake = self.fake(lambda req: answers[req.path.split("/")[3]])
        client = Client(fake.url, "token")
        with self.assertRaises(PinsetError) as html:
            client.get_environment("html", "prod")
        self.assertEqual((html.exception.status, html.exception.code, html.exception.detail), (502, "http_502", "The registry answered HTTP 502 Status"))
        with self.assertRaises(PinsetError) as text:
            client.get_environment("text", "prod")
        self.assertEqual((text.exception.code, text.exception.detail, text.exception.trace_id), ("unavailable", "upstream connect error", "from-header"))
        with self.assertRaises(PinsetError) as garbage:
            client.get_environment("json", "prod")
        self.assertEqual(garbage.exception.code, "invalid_response")


if __name__ == "__main__":
    unittest.main()
