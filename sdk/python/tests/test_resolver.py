"""Resolver against the real registry: first snapshot, watch, Last-Event-ID resume, polling
fallback, cache file start and recovery, rollout assignment, refusals, close."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import tempfile
import threading
import time
import unittest
import warnings
from typing import Any, List, Tuple

from _proxy import TcpProxy, answer, header_of
from _support import ADMIN_TOKEN, FAST, Project, api, free_port, raw, shared_registry, wait_for

from pinset import AsyncResolver, PinsetError, RegistryUnreachableError, Resolver, ResolverRefusedError, ResolverStartError, Snapshot


class ResolverAgainstRegistry(unittest.TestCase):
    project: Project
    url: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.url = shared_registry().url
        cls.project = Project(cls.url, count=6)
        cls.dir = tempfile.mkdtemp(prefix="pinset-py-resolver-")

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self) -> None:
        self.open: List[Resolver] = []
        self.proxies: List[TcpProxy] = []

    def tearDown(self) -> None:
        for r in self.open:
            r.close()
            self.assertFalse(r._thread.is_alive(), "close() must end the resolver's thread")
        for proxy in self.proxies:
            proxy.close()

    def resolver(self, env: str, **options: Any) -> Tuple[Resolver, List[Snapshot]]:
        url = options.pop("url", self.url)
        token = options.pop("token", ADMIN_TOKEN)
        r = Resolver(url, token, self.project.name, env, **{**FAST, **options})
        self.open.append(r)
        changes: List[Snapshot] = []
        r.on_change(lambda nxt, previous: changes.append(nxt))
        return r, changes

    def proxy(self, port: int = 0, **kwargs: Any) -> TcpProxy:
        p = TcpProxy(int(self.url.rsplit(":", 1)[1]), **kwargs).start(port)
        self.proxies.append(p)
        return p

    def test_first_snapshot_is_what_resolve_answers(self) -> None:
        sets = self.project.sets
        env = self.project.environment(sets[0])
        r, _ = self.resolver(env)
        first = r.wait_ready(10)
        bundle, headers = self.project.resolve_json(env)
        self.assertEqual(first.bundle, bundle)
        self.assertEqual((first.version_set, first.etag, first.stale, first.source, first.assignment), (sets[0], headers["etag"], False, "registry", None))
        self.assertEqual(r.current().version_set, first.version_set)
        # The watch stream's state event confirms the set at the environment's revision.
        wait_for(lambda: r.current().revision == self.project.revision(env), "the revision from the watch stream")
        self.assertEqual(r.current().bundle, bundle)

    def test_a_deploy_reaches_on_change_within_a_second(self) -> None:
        sets = self.project.sets
        env = self.project.environment(sets[0])
        proxy = self.proxy()
        r, changes = self.resolver(env, url=proxy.url)
        r.wait_ready(10)
        wait_for(lambda: r.current().revision is not None, "the watch stream's state event")
        deployed_at = time.monotonic()
        self.project.deploy(env, sets[1])
        wait_for(lambda: changes, "the change", timeout=1.0, interval=0.005)
        self.assertLess(time.monotonic() - deployed_at, 1.0)
        self.assertEqual((changes[0].version_set, changes[0].stale, changes[0].revision), (sets[1], False, self.project.revision(env)))
        self.assertEqual(r.current().bundle, self.project.resolve_json(env)[0])
        # One resolve at start, one stream, one resolve for the change: the state event at connect asked for nothing.
        self.assertEqual([h.split(" ")[1].split("?")[0].rsplit("/", 1)[1] for h in proxy.heads], ["resolve", "watch", "resolve"])

    def test_resumes_with_last_event_id_after_the_stream_is_cut(self) -> None:
        sets = self.project.sets
        env = self.project.environment(sets[0])
        proxy = self.proxy()
        r, changes = self.resolver(env, url=proxy.url)
        r.wait_ready(10)
        wait_for(lambda: r.current().revision is not None, "the watch stream's state event")
        seen = self.project.revision(env)
        # The network hangs: the stream is cut and the reconnect waits, while a deploy happens.
        proxy.hold()
        proxy.cut()
        wait_for(lambda: r.stale, "stale after the cut")
        wait_for(lambda: len(proxy.requests_to("/watch")) == 2, "the reconnect")
        self.project.deploy(env, sets[5])
        self.assertEqual(r.version_set, sets[0])
        proxy.release()
        wait_for(lambda: changes, "the catch-up")
        self.assertEqual((r.current().version_set, r.current().stale), (sets[5], False))
        watches = proxy.requests_to("/watch")
        self.assertIsNone(header_of(watches[0], "last-event-id"))
        self.assertEqual(header_of(watches[1], "last-event-id"), str(seen))
        self.assertEqual(r.current().revision, seen + 1)

    def test_polls_with_etag_where_watch_answers_404(self) -> None:
        sets = self.project.sets
        env = self.project.environment(sets[0])
        no_watch = lambda head: answer(404, b'{"status":404,"code":"not_found","detail":"no watch here"}') if " /v1/" in head and "/watch" in head.split(" ")[1] else None
        proxy = self.proxy(intercept=no_watch)
        r, changes = self.resolver(env, url=proxy.url, poll_interval=0.1)
        r.wait_ready(10)
        wait_for(lambda: len(proxy.requests_to("/resolve")) >= 3, "a few polls")
        self.assertTrue(all(header_of(h, "if-none-match") == f'"{sets[0]}"' for h in proxy.requests_to("/resolve")[1:]), "polls send the etag held")
        self.project.deploy(env, sets[2])
        wait_for(lambda: changes, "the change by polling", timeout=3)
        self.assertEqual((r.current().version_set, r.current().stale), (sets[2], False))
        self.assertEqual(len(proxy.requests_to("/watch")), 1, "watch is not retried for 5 minutes")

    def test_polls_only_with_transport_poll(self) -> None:
        sets = self.project.sets
        env = self.project.environment(sets[0])
        proxy = self.proxy()
        r, changes = self.resolver(env, url=proxy.url, transport="poll", poll_interval=0.1)
        r.wait_ready(10)
        self.project.deploy(env, sets[3])
        wait_for(lambda: changes, "the change by polling", timeout=3)
        self.assertEqual(r.current().bundle, self.project.resolve_json(env)[0])
        self.assertEqual(proxy.requests_to("/watch"), [])

    def test_starts_from_the_cache_file_with_nothing_listening_then_recovers(self) -> None:
        sets = self.project.sets
        env = self.project.environment(sets[0])
        cache_file = os.path.join(self.dir, "nested", f"{env}.json")
        first, _ = self.resolver(env, cache_file=cache_file)
        first.wait_ready(10)
        first.close()
        self.assertEqual(stat.S_IMODE(os.stat(cache_file).st_mode), 0o600)

        port = free_port()
        second, changes = self.resolver(env, url=f"http://127.0.0.1:{port}", cache_file=cache_file)
        errors: List[BaseException] = []
        second.on_error(errors.append)
        snap = second.wait_ready(10)
        self.assertEqual((snap.version_set, snap.source, snap.stale), (sets[0], "cache-file", True))
        self.assertEqual(snap.bundle, self.project.resolve_json(env)[0])
        self.project.deploy(env, sets[4])
        wait_for(lambda: len(errors) >= 3, "retries against the dead port")
        self.assertTrue(all(isinstance(e, RegistryUnreachableError) for e in errors), errors)
        self.assertEqual((second.version_set, second.stale), (sets[0], True))

        self.proxy(port)
        wait_for(lambda: changes, "the recovery", timeout=10)
        self.assertEqual((second.current().version_set, second.current().source, second.current().stale), (sets[4], "registry", False))
        self.assertEqual(second.current().bundle, self.project.resolve_json(env)[0])

    def test_no_registry_and_no_cache_file_raises_a_start_error_naming_both(self) -> None:
        port = free_port()
        missing = os.path.join(self.dir, "absent.json")
        r, _ = self.resolver("env-x", url=f"http://127.0.0.1:{port}", cache_file=missing)
        with self.assertRaises(ResolverStartError) as caught:
            r.wait_ready(10)
        self.assertNotIsInstance(caught.exception, PinsetError)
        self.assertRegex(
            str(caught.exception),
            rf"^Cannot resolve {self.project.name}/env-x: cannot reach the registry at http://127\.0\.0\.1:{port}/.*: ECONNREFUSED; "
            rf"and there is nothing to start from: cache file .*absent\.json does not exist$",
        )
        self.assertIsInstance(caught.exception.__cause__, RegistryUnreachableError)

    def test_a_refusal_at_start_is_raised_once_even_with_a_cache_file(self) -> None:
        sets = self.project.sets
        env = self.project.environment(sets[0])
        cache_file = os.path.join(self.dir, f"{env}-refused.json")
        good, _ = self.resolver(env, cache_file=cache_file)
        good.wait_ready(10)
        good.close()
        proxy = self.proxy()
        bad, _ = self.resolver(env, url=proxy.url, token="not-a-token", cache_file=cache_file)
        with self.assertRaises(ResolverRefusedError) as caught:
            bad.wait_ready(10)
        self.assertIsInstance(caught.exception, PinsetError)
        self.assertEqual((caught.exception.status, caught.exception.code), (401, "unauthorized"))
        self.assertTrue(caught.exception.trace_id)
        bad._thread.join(5)
        self.assertFalse(bad._thread.is_alive(), "a refused resolver stops: nothing to retry")
        self.assertEqual(len(proxy.heads), 1)
        with self.assertRaises(ResolverRefusedError):
            bad.wait_ready(0)

        api(self.url, "PUT", self.project.env_path("never-deployed"))
        empty, _ = self.resolver("never-deployed")
        with self.assertRaises(ResolverRefusedError) as nothing:
            empty.wait_ready(10)
        self.assertEqual(nothing.exception.status, 404)
        self.assertIn(f"Cannot resolve {self.project.name}/never-deployed: ", str(nothing.exception))

    def test_with_a_subject_follows_its_rollout_assignment(self) -> None:
        sets = self.project.sets
        env = self.project.environment(sets[0])
        r, changes = self.resolver(env, subject="tenant-42")
        first = r.wait_ready(10)
        self.assertEqual((first.version_set, first.assignment), (sets[0], None))
        wait_for(lambda: r.current().revision is not None, "the watch stream")
        api(self.url, "PUT", self.project.env_path(env, "/rollout"), {"candidate": sets[1], "percent": 0.01, "allow": ["tenant-42"]})
        wait_for(lambda: changes, "the assignment change", timeout=3)
        bundle, headers = self.project.resolve_json(env, "tenant-42")
        self.assertEqual(headers["x-pinset-assignment"], "candidate")
        self.assertEqual((r.current().version_set, r.current().assignment), (sets[1], headers["x-pinset-assignment"]))
        self.assertEqual(r.current().bundle, bundle)
        # Another subject outside the allow list stays on the stable set, as the registry says.
        other, _ = self.resolver(env, subject="tenant-7")
        stable, other_headers = self.project.resolve_json(env, "tenant-7")
        self.assertEqual((other.wait_ready(10).assignment, other.current().bundle), (other_headers["x-pinset-assignment"], stable))

    def test_a_change_listener_that_raises_is_reported_and_stops_nothing(self) -> None:
        sets = self.project.sets
        env = self.project.environment(sets[0])
        r, changes = self.resolver(env)
        errors: List[BaseException] = []
        r.on_error(errors.append)

        def boom(nxt: Snapshot, previous: Snapshot) -> None:
            raise ValueError("listener bug")

        r.on_change(boom)
        late: List[str] = []
        unsubscribe = r.on_change(lambda nxt, previous: late.append(f"{previous.version_set}->{nxt.version_set}"))
        r.wait_ready(10)
        wait_for(lambda: r.current().revision is not None, "the watch stream")
        self.project.deploy(env, sets[1])
        wait_for(lambda: len(late) == 1, "the other listener")
        self.assertEqual(late, [f"{sets[0]}->{sets[1]}"])
        self.assertTrue(any(isinstance(e, ValueError) for e in errors))
        unsubscribe()
        self.project.deploy(env, sets[2])
        wait_for(lambda: len(changes) == 2, "the second change")
        self.assertEqual(len(late), 1, "unsubscribed")

    def test_close_is_prompt_idempotent_and_a_context_manager(self) -> None:
        env = self.project.environment(self.project.sets[0])
        with Resolver(self.url, ADMIN_TOKEN, self.project.name, env, **FAST) as r:
            r.wait_ready(10)
            wait_for(lambda: r.current().revision is not None, "the watch stream")
            started = time.monotonic()
        self.assertLess(time.monotonic() - started, 2.0, "close() unblocks the stream read at once")
        self.assertFalse(r._thread.is_alive())
        r.close()
        self.assertTrue(r.closed)
        self.assertEqual(r.current().version_set, self.project.sets[0], "the last snapshot stays readable")

    def test_wait_ready_times_out_without_giving_up(self) -> None:
        hold = threading.Event()
        proxy = self.proxy(intercept=lambda head: (hold.wait(5), None)[1])
        r, _ = self.resolver(self.project.environment(self.project.sets[0]), url=proxy.url)
        with self.assertRaises(ResolverStartError) as caught:
            r.wait_ready(0.2)
        self.assertTrue(caught.exception.timed_out)
        hold.set()
        self.assertEqual(r.wait_ready(10).version_set, self.project.sets[0])

    @unittest.skipUnless(hasattr(os, "fork"), "POSIX only")
    def test_a_forked_worker_keeps_following_deploys(self) -> None:
        # gunicorn --preload: the resolver is made in the master, the workers are forks of it.
        sets = self.project.sets
        env = self.project.environment(sets[0])
        r, _ = self.resolver(env)
        r.wait_ready(10)
        wait_for(lambda: r.current().revision is not None, "the watch stream")
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "use of fork() may lead to deadlocks"
            pid = os.fork()
        if pid == 0:  # The worker: no unittest machinery from here on.
            code = 1
            try:
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and r.current().version_set != sets[1]:
                    time.sleep(0.01)
                os.write(write_end, r.current().version_set.encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        self.project.deploy(env, sets[1])
        _, status = os.waitpid(pid, 0)
        seen = os.read(read_end, 100).decode()
        os.close(read_end)
        self.assertEqual((os.waitstatus_to_exitcode(status), seen), (0, sets[1]))

    def test_async_resolver_delivers_changes_on_the_loop(self) -> None:
        sets = self.project.sets
        env = self.project.environment(sets[0])

        async def scenario() -> Tuple[str, str, bool]:
            loop = asyncio.get_running_loop()
            seen: "asyncio.Future[Tuple[str, bool]]" = loop.create_future()

            async def on_change(nxt: Snapshot, previous: Snapshot) -> None:
                seen.set_result((nxt.version_set, asyncio.get_running_loop() is loop))

            async with AsyncResolver(self.url, ADMIN_TOKEN, self.project.name, env, **FAST) as r:
                first = await r.wait_ready(10)
                r.on_change(on_change)
                await loop.run_in_executor(None, wait_for, lambda: r.current().revision is not None, "the watch stream")
                await loop.run_in_executor(None, self.project.deploy, env, sets[1])
                version_set, on_loop = await asyncio.wait_for(seen, 5)
                return first.version_set, version_set, on_loop

        self.assertEqual(asyncio.run(scenario()), (sets[0], sets[1], True))


if __name__ == "__main__":
    unittest.main()
