"""Client against the real registry: every method, the problem+json errors, an unreachable one."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import shutil
import tempfile
import time
import unittest
from typing import Any, List

from _fake_registry import FakeRegistry, http_answer
from _support import ADMIN_TOKEN, api, free_port, raw, shared_registry, unique

from pinset import BlobUpload, Client, PinsetError, RegistryUnreachableError


class ClientAgainstRegistry(unittest.TestCase):
    url: str
    client: Client

    @classmethod
    def setUpClass(cls) -> None:
        cls.url = shared_registry().url
        cls.client = Client(cls.url, ADMIN_TOKEN)
        cls.dir = tempfile.mkdtemp(prefix="pinset-py-client-")

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.dir, ignore_errors=True)

    def project(self) -> str:
        name = unique("cl")
        created = self.client.create_project(name, description="made by the Python SDK tests")
        self.assertEqual((created["name"], created["description"]), (name, "made by the Python SDK tests"))
        return name

    def publish_pair(self, project: str) -> Any:
        """Two version sets whose prompt and config differ."""
        sets = []
        for i in range(2):
            prompt = self.client.publish(project, "prompt", "answer", {"template": f"Answer {{{{question}}}} in {i + 1} words", "variables": ["question"]})
            config = self.client.publish(project, "config", "app", {"values": {"temperature": 0.1 * i}})
            sets.append(self.client.create_version_set(project, {"prompt": f"prompt/answer@{prompt['version']}", "cfg": f"config/app@{config['version']}"}, description=f"set {i}"))
        return sets

    def test_publish_get_and_identical_content(self) -> None:
        project = self.project()
        first = self.client.publish(project, "prompt", "greet", {"template": "Hi {{name}}", "variables": ["name"]}, annotations={"git.commit": "abc"})
        self.assertEqual((first["kind"], first["name"], first["version"], first["annotations"]), ("prompt", "greet", 1, {"git.commit": "abc"}))
        again = self.client.publish(project, "prompt", "greet", {"variables": ["name"], "template": "Hi {{name}}"})
        self.assertEqual((again["version"], again["digest"]), (1, first["digest"]))
        fetched = self.client.get_artifact(project, "prompt", "greet", 1)
        self.assertEqual(fetched["content"], {"template": "Hi {{name}}", "variables": ["name"]})
        self.assertEqual(self.client.get_artifact(project, "prompt", "greet", first["digest"])["version"], 1)
        self.assertEqual(self.client.get_artifact(project, "prompt", "greet")["version"], 1)

    def test_version_sets_bundles_and_diff(self) -> None:
        project = self.project()
        a, b = self.publish_pair(project)
        self.assertEqual(self.client.create_version_set(project, {"prompt": "prompt/answer@1", "cfg": "config/app@1"})["id"], a["id"])
        got = self.client.get_version_set(project, a["id"])
        self.assertEqual((got["id"], got.get("description"), sorted(got["components"])), (a["id"], "set 0", ["cfg", "prompt"]))
        bundle = self.client.get_bundle(project, b["id"])
        self.assertEqual(bundle["components"]["prompt"]["content"]["template"], "Answer {{question}} in 2 words")
        diff = self.client.diff(project, a["id"], b["id"])
        self.assertEqual((diff["from"], diff["to"]), (a["id"], b["id"]))
        changes = {c["slot"]: c for c in diff["components"]}
        self.assertEqual((changes["prompt"]["change"], changes["cfg"]["change"]), ("changed", "changed"))
        assert changes["prompt"]["detail"] is not None
        self.assertIn("+Answer {{question}} in 2 words", changes["prompt"]["detail"]["unified"])

    def test_deploy_resolve_at_and_rollback(self) -> None:
        project = self.project()
        a, b = self.publish_pair(project)
        env = self.client.create_environment(project, "prod")
        self.assertEqual((env["name"], env["active"], env["revision"], env["protected"]), ("prod", None, 0, False))
        first = self.client.deploy(project, "prod", a["id"], reason="first")
        self.assertEqual(first, {"active": a["id"], "revision": 1, "previous": None, "changed": True})
        again = self.client.deploy(project, "prod", a["id"], reason="same set")
        self.assertEqual((again["changed"], again["revision"]), (False, 1))
        time.sleep(0.01)
        between = dt.datetime.now(dt.timezone.utc)
        time.sleep(0.01)
        with self.assertRaises(PinsetError) as conflict:
            self.client.deploy(project, "prod", b["id"], expected_revision=0)
        self.assertEqual((conflict.exception.status, conflict.exception.code), (409, "conflict"))
        self.assertEqual(self.client.deploy(project, "prod", b["id"], expected_revision=1)["revision"], 2)

        now = self.client.resolve(project, "prod")
        status, headers, _ = raw(self.url, "GET", f"/v1/projects/{project}/environments/prod/resolve")
        self.assertEqual(status, 200)
        self.assertEqual((now.version_set, now.etag, now.stale, now.assignment), (b["id"], headers["etag"], False, None))
        self.assertEqual(now.bundle, self.client.get_bundle(project, b["id"]))
        self.assertEqual(self.client.resolve(project, "prod", at=between).version_set, a["id"])
        self.assertEqual(self.client.resolve(project, "prod", at=between.isoformat()).version_set, a["id"])
        with self.assertRaises(ValueError):
            self.client.resolve(project, "prod", at=dt.datetime.now())

        back = self.client.rollback(project, "prod", reason="bad answers")
        self.assertEqual(back, {"active": a["id"], "revision": 3, "previous": b["id"], "changed": True})
        self.assertEqual(self.client.get_environment(project, "prod")["active"], a["id"])
        self.assertEqual(self.client.rollback(project, "prod", to=b["id"])["active"], b["id"])
        history = self.client.request("GET", f"/v1/projects/{project}/environments/prod/history")
        self.assertEqual([h["action"] for h in history["items"]], ["rollback", "rollback", "deploy", "deploy"])

    def test_rollout_subject_assignment_and_observations(self) -> None:
        project = self.project()
        a, b = self.publish_pair(project)
        self.client.create_environment(project, "prod")
        self.client.deploy(project, "prod", a["id"])
        rollout = self.client.start_rollout(project, "prod", candidate=b["id"], percent=1, allow=["tenant-42"], reason="canary")
        self.assertEqual((rollout["stable"], rollout["candidate"], rollout["state"], rollout["allow"]), (a["id"], b["id"], "running", ["tenant-42"]))
        for subject in ("tenant-42", "tenant-7"):
            resolved = self.client.resolve(project, "prod", subject=subject)
            _, headers, _ = raw(self.url, "GET", f"/v1/projects/{project}/environments/prod/resolve?subject={subject}")
            self.assertEqual(resolved.assignment, headers["x-pinset-assignment"])
            self.assertEqual(resolved.version_set, headers["x-pinset-version-set"])
        self.assertEqual(self.client.resolve(project, "prod", subject="tenant-42").version_set, b["id"])

        end = dt.datetime.now(dt.timezone.utc)
        start = end - dt.timedelta(minutes=5)
        recorded = self.client.record_observation(
            project, "prod", version_set=b["id"], window_start=start, window_end=end,
            metrics={"quality.success_rate": 0.97, "latency": {"p95_ms": 840}}, sample_trace_ids=["t-1"],
        )  # fmt: skip
        self.assertEqual((recorded["side"], recorded["version_set"], recorded["sample_trace_ids"]), ("candidate", b["id"], ["t-1"]))
        self.assertEqual(recorded["metrics"], {"quality.success_rate": 0.97, "latency.p95_ms": 840})
        # Only the candidate has reported: the gate holds for lack of a baseline.
        self.assertEqual((recorded["decision"]["signal"], recorded["decision"]["action"]), ("yellow", "hold"))
        self.assertEqual(recorded["rollout"]["id"], rollout["id"])
        # Sample forms, requests and segments go through as given.
        sampled = self.client.record_observation(
            project, "prod", version_set=a["id"], window_start=start, window_end=end,
            metrics={"quality.success_rate": {"count": 1880, "trials": 2000}}, requests=2000, segments={"attack": 4},
        )  # fmt: skip
        self.assertEqual((sampled["side"], sampled["requests"], sampled["segments"]), ("stable", 2000, {"attack": 4}))
        self.assertEqual(sampled["metrics"], {"quality.success_rate": {"count": 1880, "trials": 2000}})

    def test_put_blob_streams_bytes_files_and_streams_under_their_sha256(self) -> None:
        project = self.project()
        payload = os.urandom(3 * 1024 * 1024 + 17)
        digest = "sha256:" + hashlib.sha256(payload).hexdigest()
        path = os.path.join(self.dir, "blob.bin")
        with open(path, "wb") as handle:
            handle.write(payload)
        self.assertFalse(self.client.blob_exists(project, digest))
        self.assertEqual(self.client.put_blob(project, path), BlobUpload(digest, len(payload), True))
        self.assertTrue(self.client.blob_exists(project, digest))
        self.assertEqual(self.client.put_blob(project, payload), BlobUpload(digest, len(payload), False))
        with open(path, "rb") as handle:
            self.assertEqual(self.client.put_blob(project, handle).digest, digest)

        class Pipe(io.RawIOBase):
            """An unseekable stream: read once."""

            def __init__(self, data: bytes) -> None:
                self.data = io.BytesIO(data)

            def readable(self) -> bool:
                return True

            def readinto(self, buffer: Any) -> int:
                chunk = self.data.read(len(buffer))
                buffer[: len(chunk)] = chunk
                return len(chunk)

        other = os.urandom(1000)
        uploaded = self.client.put_blob(project, Pipe(other))
        self.assertEqual(uploaded, BlobUpload("sha256:" + hashlib.sha256(other).hexdigest(), 1000, True))
        status, _, body = raw(self.url, "GET", f"/v1/projects/{project}/blobs/{uploaded.digest}")
        self.assertEqual((status, body), (200, other))

        with self.assertRaises(PinsetError) as mismatch:
            self.client.put_blob(project, b"these bytes", digest="sha256:" + "0" * 64)
        self.assertEqual((mismatch.exception.status, mismatch.exception.code), (400, "digest_mismatch"))
        self.assertFalse(self.client.blob_exists(project, "sha256:" + "0" * 64))
        with self.assertRaises(TypeError):
            self.client.put_blob(project, 12345)  # type: ignore[arg-type]

    def test_errors_are_problem_json(self) -> None:
        project = self.project()
        with self.assertRaises(PinsetError) as invalid:
            self.client.publish(project, "prompt", "bad", {"template": "Hi {{name}}", "variables": ["nome"]})
        error = invalid.exception
        self.assertEqual((error.status, error.code, error.title), (422, "validation_failed", "Unprocessable content"))
        self.assertTrue(error.detail)
        self.assertTrue(error.trace_id)
        self.assertIn({"path": "content.variables", "message": "placeholder {{name}} is used but not declared"}, error.errors)

        with self.assertRaises(PinsetError) as missing:
            self.client.get_version_set(project, "vs_" + "0" * 24)
        self.assertEqual((missing.exception.status, missing.exception.code), (404, "not_found"))
        status, headers, _ = raw(self.url, "GET", f"/v1/projects/{project}/version-sets/vs_{'0' * 24}", headers={"x-trace-id": "py-trace-1"})
        self.assertEqual((status, headers["x-trace-id"]), (404, "py-trace-1"))
        traced = Client(self.url, ADMIN_TOKEN, headers={"x-trace-id": "py-trace-2"})
        with self.assertRaises(PinsetError) as with_trace:
            traced.get_version_set(project, "vs_" + "0" * 24)
        self.assertEqual(with_trace.exception.trace_id, "py-trace-2")

        with self.assertRaises(PinsetError) as unauthorized:
            Client(self.url, "wrong-token").get_environment(project, "prod")
        self.assertEqual((unauthorized.exception.status, unauthorized.exception.code), (401, "unauthorized"))

        scoped = api(self.url, "POST", "/v1/tokens", {"name": unique("reader"), "scopes": ["read"], "projects": [project]})
        with self.assertRaises(PinsetError) as forbidden:
            Client(self.url, scoped["token"]).publish(project, "config", "x", {"values": {}})
        self.assertEqual((forbidden.exception.status, forbidden.exception.code), (403, "forbidden"))
        with self.assertRaises(PinsetError) as hidden:
            Client(self.url, scoped["token"]).get_environment("someone-elses", "prod")
        self.assertEqual(hidden.exception.status, 404)

    def test_names_cannot_escape_their_path_segment(self) -> None:
        project = self.project()
        with self.assertRaises(PinsetError) as caught:
            self.client.get_environment(project, "../../tokens")
        self.assertEqual(caught.exception.status, 400, caught.exception)
        sent: List[str] = []
        with FakeRegistry(lambda req: (sent.append(req.path), http_answer(404))[1]) as fake, self.assertRaises(PinsetError):
            Client(fake.url).resolve("p/../q", "prod?x=1#y", subject="a&b=c")
        self.assertEqual(sent, ["/v1/projects/p%2F..%2Fq/environments/prod%3Fx%3D1%23y/resolve?subject=a%26b%3Dc"])

    def test_unreachable_and_bad_arguments(self) -> None:
        port = free_port()
        with self.assertRaises(RegistryUnreachableError) as caught:
            Client(f"http://127.0.0.1:{port}").resolve("p", "prod")
        self.assertIn(f"cannot reach the registry at http://127.0.0.1:{port}/v1/projects/p/environments/prod/resolve: ECONNREFUSED", str(caught.exception))
        for url in ("ftp://x", "127.0.0.1:8080", "http://", "http://h/?q=1", "http://h:99999"):
            with self.assertRaises(ValueError, msg=url):
                Client(url)
        with self.assertRaises(ValueError):
            Client("http://h", "tok\nen")
        self.assertEqual(Client("http://h:8080/prefix/").url, "http://h:8080/prefix")


if __name__ == "__main__":
    unittest.main()
