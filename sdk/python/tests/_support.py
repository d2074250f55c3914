"""Test support: a real registry process (embedded database, temporary data dir, free port, known
admin token), shared by every test module of one run and stopped at exit; raw HTTP helpers that
do not go through the SDK; and small utilities.

Importing this module puts ``sdk/python/src`` first on ``sys.path``, so the suite tests the
sources without installing them.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
SDK_ROOT = HERE.parent
REPO_ROOT = SDK_ROOT.parent.parent
if str(SDK_ROOT / "src") not in sys.path:
    sys.path.insert(0, str(SDK_ROOT / "src"))

ADMIN_TOKEN = "python-sdk-test-admin-0123456789abcdef"
#: Fast retries: the suite waits for backoff cycles.
FAST: Dict[str, Any] = {"retry_initial": 0.05, "retry_max": 0.2}


def registry_command() -> List[str]:
    """How to run the registry — the one place to change it (e.g. for a compiled ``dist/main.js``).

    ``PINSET_TEST_REGISTRY_COMMAND`` overrides it (a shell-quoted command run from the repository
    root); ``PINSET_TEST_NODE`` names the node binary (the vitest wrapper passes its own).
    """
    override = os.environ.get("PINSET_TEST_REGISTRY_COMMAND")
    if override:
        return shlex.split(override)
    node = os.environ.get("PINSET_TEST_NODE") or shutil.which("node")
    if not node:
        raise RuntimeError("node is not on PATH: set PINSET_TEST_NODE to run the registry")
    return [node, "--import", "tsx", "src/main.ts"]


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: the registry gets SIGTERM if the test process dies without running atexit (SIGKILL).
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort, other platforms rely on atexit.
        pass


class RegistryProcess:
    """``node src/main.ts`` on the embedded database in a temporary data dir."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = tempfile.mkdtemp(prefix="pinset-py-sdk-")
        self._out: List[str] = []
        self._err: List[str] = []
        self.process: Optional[subprocess.Popen[bytes]] = None
        self._readers: List[threading.Thread] = []

    def start(self, timeout: float = 90.0) -> "RegistryProcess":
        """Starts it and waits until it prints that it listens."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "PINSET_DATA_DIR": self.data_dir,
            "PINSET_ADMIN_TOKEN": ADMIN_TOKEN,
            "PINSET_RATE_LIMIT_RPS": "0",
            "LOG_LEVEL": "warn",
        }
        self.process = subprocess.Popen(
            registry_command(),
            cwd=str(REPO_ROOT),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        for stream, sink in ((self.process.stdout, self._out), (self.process.stderr, self._err)):
            reader = threading.Thread(target=self._drain, args=(stream, sink), daemon=True)
            reader.start()
            self._readers.append(reader)
        deadline = time.monotonic() + timeout
        while "Pinset listening on" not in "".join(self._out):
            if self.process.poll() is not None:
                raise RuntimeError(f"the registry exited with {self.process.returncode}: {''.join(self._err)}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the registry did not start in {timeout} s: {''.join(self._out)}{''.join(self._err)}")
            time.sleep(0.05)
        return self

    @staticmethod
    def _drain(stream: Any, sink: List[str]) -> None:
        for line in iter(stream.readline, b""):
            sink.append(line.decode("utf-8", errors="replace"))

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; removes the data dir."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            for reader in self._readers:
                reader.join(5)
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


_shared: Optional[RegistryProcess] = None
_shared_lock = threading.Lock()


def shared_registry() -> RegistryProcess:
    """The registry of this test run, started on first use (a cold start takes seconds)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            registry = RegistryProcess()
            atexit.register(registry.stop)
            _shared = registry.start()
        return _shared


# ---------------------------------------------------------------------- raw HTTP (no SDK)


def raw(base_url: str, method: str, path: str, body: Any = None, token: Optional[str] = ADMIN_TOKEN, headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], bytes]:
    """One request with ``http.client``: (status, lower-cased headers, body)."""
    host_port = base_url.split("://", 1)[1]
    host, port = host_port.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=15)
    sent = dict(headers or {})
    if token:
        sent["authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["content-type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def api(base_url: str, method: str, path: str, body: Any = None) -> Any:
    """A request that must succeed (2xx); returns the parsed JSON."""
    status, _, data = raw(base_url, method, path, body)
    if not 200 <= status < 300:
        raise AssertionError(f"{method} {path} answered {status}: {data.decode(errors='replace')}")
    return json.loads(data) if data else None


_counter = [0]


def unique(prefix: str) -> str:
    """A name no other test of this run uses."""
    _counter[0] += 1
    return f"{prefix}-{os.getpid()}-{_counter[0]}"


class Project:
    """A project with ``count`` distinct version sets, each a config artifact in slot ``cfg`` and
    a template prompt in slot ``prompt`` (``Hello {{name}}, this is set <i>``)."""

    def __init__(self, base_url: str, count: int = 6, name: Optional[str] = None) -> None:
        self.url = base_url
        self.name = name or unique("py")
        api(base_url, "PUT", f"/v1/projects/{self.name}")
        self.sets: List[str] = []
        for i in range(count):
            config = api(base_url, "POST", f"/v1/projects/{self.name}/artifacts/config/app", {"content": {"values": {"i": i}}})
            prompt = api(
                base_url,
                "POST",
                f"/v1/projects/{self.name}/artifacts/prompt/greeting",
                {"content": {"template": f"Hello {{{{name}}}}, this is set {i}", "variables": ["name"]}},
            )
            created = api(
                base_url,
                "POST",
                f"/v1/projects/{self.name}/version-sets",
                {"components": {"cfg": f"config/app@{config['version']}", "prompt": f"prompt/greeting@{prompt['version']}"}},
            )
            self.sets.append(created["id"])

    def env_path(self, env: str, suffix: str = "") -> str:
        """``/v1/projects/<name>/environments/<env><suffix>``."""
        return f"/v1/projects/{self.name}/environments/{env}{suffix}"

    def environment(self, version_set: str) -> str:
        """A fresh environment with ``version_set`` deployed."""
        env = unique("env")
        api(self.url, "PUT", self.env_path(env))
        self.deploy(env, version_set)
        return env

    def deploy(self, env: str, version_set: str) -> None:
        """Deploys through the raw API."""
        api(self.url, "POST", self.env_path(env, "/deploy"), {"version_set": version_set})

    def resolve_json(self, env: str, subject: Optional[str] = None) -> Tuple[Any, Dict[str, str]]:
        """The registry's own resolve answer: (bundle, headers)."""
        query = f"?subject={subject}" if subject else ""
        status, headers, body = raw(self.url, "GET", self.env_path(env, f"/resolve{query}"))
        assert status == 200, body
        return json.loads(body), headers

    def revision(self, env: str) -> int:
        """The environment's current revision."""
        return int(api(self.url, "GET", self.env_path(env))["revision"])


def wait_for(check: Callable[[], Any], what: str, timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Polls ``check`` until it returns something truthy; fails naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
