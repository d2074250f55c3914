"""Unit tests without a registry: the SSE parser, the backoff, the cache file, problem parsing,
and what the package promises about itself (Python 3.9 syntax, type hints and docstrings)."""

from __future__ import annotations

import ast
import inspect
import json
import os
import shutil
import stat
import tempfile
import unittest
from email.message import Message
from pathlib import Path

import _support
from _support import SDK_ROOT

import pinset
from pinset._backoff import Backoff
from pinset._cache_file import CacheKey, CacheRecord, read_cache_file, write_cache_file
from pinset._sse import SseEvent, SseParser
from pinset.errors import PinsetError


class SseParserRules(unittest.TestCase):
    def test_line_endings_split_anywhere(self) -> None:
        text = "id: 1\r\nevent: state\r\ndata: a\r\n\r\nid: 2\rdata: b\r\rdata: c\n\n"
        whole = SseParser().push(text)
        for size in (1, 2, 3, 7):
            parser = SseParser()
            pieces = [parser.push(text[i : i + size]) for i in range(0, len(text), size)]
            self.assertEqual([e for p in pieces for e in p], whole, f"chunks of {size}")
        self.assertEqual(whole, [SseEvent("state", "a", "1"), SseEvent("message", "b", "2"), SseEvent("message", "c", "2")])

    def test_a_cr_at_the_end_of_a_chunk_waits_for_its_lf(self) -> None:
        parser = SseParser()
        self.assertEqual(parser.push("data: x\r"), [])
        self.assertEqual(parser.push("\n\r"), [])
        self.assertEqual(parser.push("\n"), [SseEvent("message", "x", None)])

    def test_bom_comments_multiline_data_and_field_without_colon(self) -> None:
        events = SseParser().push("\ufeff: comment\ndata: one\ndata:two\ndata\nevent: change\n\n")
        self.assertEqual(events, [SseEvent("change", "one\ntwo\n", None)])

    def test_an_event_without_data_is_not_dispatched_but_its_id_counts(self) -> None:
        parser = SseParser()
        self.assertEqual(parser.push("id: 5\nevent: change\n\n"), [])
        self.assertEqual(parser.last_event_id, "5")
        self.assertEqual(parser.push("data: later\n\n"), [SseEvent("message", "later", "5")])

    def test_ids_with_nul_are_ignored_and_retry_needs_digits(self) -> None:
        parser = SseParser()
        parser.push("id: 3\nid: bad\0id\nretry: 12x\nretry: 1500\n\n")
        self.assertEqual((parser.last_event_id, parser.retry_ms), ("3", 1500))

    def test_an_unterminated_event_is_dropped_at_the_end(self) -> None:
        parser = SseParser()
        self.assertEqual(parser.push("data: whole\n\ndata: half"), [SseEvent("message", "whole", None)])
        self.assertEqual(parser.end(), [])


class BackoffRules(unittest.TestCase):
    def test_doubles_with_equal_jitter_up_to_the_cap_and_resets(self) -> None:
        low = Backoff(0.5, 30, random=lambda: 0.0)
        high = Backoff(0.5, 30, random=lambda: 0.999999)
        lows = [low.next() for _ in range(10)]
        highs = [high.next() for _ in range(10)]
        self.assertEqual(lows[:4], [0.25, 0.5, 1.0, 2.0])
        self.assertEqual(lows[-1], 15.0)
        self.assertAlmostEqual(highs[0], 0.5, places=4)
        self.assertAlmostEqual(highs[-1], 30.0, places=4)
        low.reset()
        self.assertEqual((low.failures, low.next()), (0, 0.25))

    def test_days_of_failures_do_not_overflow(self) -> None:
        b = Backoff(0.5, 30)
        for _ in range(10_000):
            self.assertLessEqual(b.next(), 30.0)

    def test_refuses_options_that_cannot_work(self) -> None:
        for initial, maximum in ((0, 1), (-1, 1), (2, 1)):
            with self.assertRaises(ValueError):
                Backoff(initial, maximum)


class CacheFileRules(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="pinset-py-cache-")
        self.key = CacheKey("p", "prod", None)
        self.record = CacheRecord("p", "prod", None, "vs_" + "a" * 24, '"etag"', None, "2026-01-01T00:00:00.000Z", {"id": "vs_" + "a" * 24, "components": {}}, 9)

    def tearDown(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_round_trip_mode_0600_no_temporary_files_left(self) -> None:
        path = os.path.join(self.dir, "deep", "er", "cache.json")
        write_cache_file(path, self.record)
        self.assertEqual(read_cache_file(path, self.key).record, self.record)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) & 0o077, 0, "a created directory is private")
        self.assertEqual(os.listdir(os.path.dirname(path)), ["cache.json"])

    def test_replacing_a_world_readable_file_leaves_0600(self) -> None:
        path = os.path.join(self.dir, "cache.json")
        Path(path).write_text("old")
        os.chmod(path, 0o644)
        write_cache_file(path, self.record)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_a_failed_write_leaves_the_old_file_and_no_temporary(self) -> None:
        path = os.path.join(self.dir, "cache.json")
        write_cache_file(path, self.record)
        before = Path(path).read_bytes()
        bad = CacheRecord(**{**self.record.__dict__, "bundle": {"id": self.record.version_set, "components": {}, "x": object()}})
        with self.assertRaises(TypeError):
            write_cache_file(path, bad)
        self.assertEqual(Path(path).read_bytes(), before)
        self.assertEqual(os.listdir(self.dir), ["cache.json"])

    def test_reads_a_file_the_javascript_sdk_wrote(self) -> None:
        path = os.path.join(self.dir, "js.json")
        js = {
            "format": "pinset-resolver-cache/1",
            "project": "p",
            "environment": "prod",
            "subject": None,
            "version_set": self.record.version_set,
            "etag": '"etag"',
            "assignment": None,
            "saved_at": "2026-01-01T00:00:00.000Z",
            "bundle": self.record.bundle,
        }
        Path(path).write_text(json.dumps(js) + "\n")
        read = read_cache_file(path, self.key)
        self.assertIsNotNone(read.record)
        assert read.record is not None
        self.assertIsNone(read.record.revision)

    def test_untrusted_files_say_why(self) -> None:
        path = os.path.join(self.dir, "cache.json")
        cases = {
            "": "is not valid JSON",
            "[]": "not an object",
            '{"format": "other/1"}': 'format is "other/1"',
            json.dumps({**json.loads(self.record.to_json()), "etag": 5, "assignment": "maybe"}): "bad etag, assignment",
            json.dumps({**json.loads(self.record.to_json()), "subject": "tenant-1"}): 'written for subject "tenant-1", not null',
            json.dumps({**json.loads(self.record.to_json()), "project": "q"}): 'written for project "q", not "p"',
        }
        for text, reason in cases.items():
            Path(path).write_text(text)
            read = read_cache_file(path, self.key)
            self.assertIsNone(read.record, text)
            self.assertIn(reason, read.reason or "", text)
            self.assertFalse(read.missing)
        missing = read_cache_file(os.path.join(self.dir, "none.json"), self.key)
        self.assertTrue(missing.missing)


class ProblemParsing(unittest.TestCase):
    def headers(self, **values: str) -> Message:
        message = Message()
        for k, v in values.items():
            message[k.replace("_", "-")] = v
        return message

    def test_problem_json_fields(self) -> None:
        body = json.dumps({"type": "urn:x", "title": "Validation failed", "status": 422, "detail": "bad", "code": "validation_failed", "trace_id": "t1", "errors": [{"path": "content.x", "message": "m"}, {"bogus": 1}]})
        error = PinsetError.from_answer(422, "Unprocessable Entity", self.headers(x_trace_id="other"), body.encode())
        self.assertEqual((error.status, error.code, error.title, error.detail, error.trace_id, error.type), (422, "validation_failed", "Validation failed", "bad", "t1", "urn:x"))
        self.assertEqual(error.errors, [{"path": "content.x", "message": "m"}])
        self.assertEqual(str(error), "bad; content.x: m (HTTP 422 validation_failed, trace t1)")

    def test_answers_without_a_problem(self) -> None:
        empty = PinsetError.from_answer(401, "Unauthorized", self.headers(x_trace_id="h"), b"")
        self.assertEqual((empty.code, empty.detail, empty.trace_id, empty.title), ("unauthorized", "The registry answered HTTP 401 Unauthorized", "h", "Unauthorized"))
        odd = PinsetError.from_answer(418, "", self.headers(), "\u00ff".encode("latin-1"))
        self.assertEqual(odd.code, "http_418")


class PackagePromises(unittest.TestCase):
    def test_every_source_file_parses_as_python_3_9(self) -> None:
        for path in sorted((SDK_ROOT / "src" / "pinset").glob("*.py")):
            ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))

    def test_public_api_has_docstrings_and_type_hints(self) -> None:
        self.assertTrue((SDK_ROOT / "src" / "pinset" / "py.typed").is_file())
        for name in pinset.__all__:
            obj = getattr(pinset, name)
            self.assertTrue(inspect.getdoc(obj), name)
            if not inspect.isclass(obj):
                continue
            for member_name, member in vars(obj).items():
                if member_name.startswith("_") or not callable(member):
                    continue
                self.assertTrue(inspect.getdoc(member), f"{name}.{member_name} has no docstring")
                hints = inspect.signature(member)
                self.assertIsNot(hints.return_annotation, inspect.Signature.empty, f"{name}.{member_name} has no return type")
                for param in list(hints.parameters.values())[1:]:
                    if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) and name == "AsyncResolver":
                        continue  # Forwarded to Resolver as they are.
                    self.assertIsNot(param.annotation, inspect.Parameter.empty, f"{name}.{member_name}({param.name}) has no type")

    def test_importable_as_the_issue_says(self) -> None:
        from pinset import Client, PinsetError, Resolver, ResolverStartError  # noqa: F401

        self.assertEqual(pinset.__version__, "0.1.0")
        self.assertTrue(_support.SDK_ROOT.joinpath("pyproject.toml").is_file())


if __name__ == "__main__":
    unittest.main()
