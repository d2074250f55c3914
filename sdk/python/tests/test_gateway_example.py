"""examples/python-gateway against the real registry: renders the pinned prompt, picks up a
deploy within a second without a restart, counts requests by version set in a valid Prometheus
exposition, refuses a request it cannot render, stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request
from typing import Any, Dict, List, Tuple

from _support import ADMIN_TOKEN, REPO_ROOT, SDK_ROOT, Project, free_port, shared_registry, wait_for

GATEWAY = REPO_ROOT / "examples" / "python-gateway" / "gateway.py"


def get(url: str, data: Any = None) -> Tuple[int, Dict[str, str], bytes]:
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


class GatewayExample(unittest.TestCase):
    def test_renders_picks_up_a_deploy_within_a_second_and_counts_by_version_set(self) -> None:
        registry = shared_registry()
        project = Project(registry.url, count=2)
        env = project.environment(project.sets[0])
        port = free_port()
        out: List[str] = []
        process = subprocess.Popen(
            [sys.executable, str(GATEWAY), "--port", str(port)],
            env={
                **os.environ,
                "PYTHONPATH": str(SDK_ROOT / "src"),
                "PYTHONDONTWRITEBYTECODE": "1",
                "PINSET_URL": registry.url,
                "PINSET_TOKEN": ADMIN_TOKEN,
                "PINSET_PROJECT": project.name,
                "PINSET_ENVIRONMENT": env,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        reader = threading.Thread(target=lambda: [out.append(line.decode()) for line in iter(process.stdout.readline, b"")], daemon=True)  # type: ignore[union-attr]
        reader.start()
        try:
            wait_for(lambda: any("gateway listening" in line for line in out) or process.poll() is not None, "the gateway to start", timeout=30)
            self.assertIsNone(process.poll(), "".join(out))
            base = f"http://127.0.0.1:{port}"

            status, headers, body = get(f"{base}/v1/render?name=Ada")
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body), {"version_set": project.sets[0], "stale": False, "prompt": "Hello Ada, this is set 0"})
            self.assertEqual(headers["x-pinset-version-set"], project.sets[0])
            status, _, body = get(f"{base}/v1/render", {"variables": {"name": "Bo"}})
            self.assertEqual(json.loads(body)["prompt"], "Hello Bo, this is set 0")

            status, _, body = get(f"{base}/v1/render?nom=Ada")
            self.assertEqual((status, json.loads(body)["error"]), (400, "missing variables: name"))
            status, _, _ = get(f"{base}/v1/render", {"variables": "nope"})
            self.assertEqual(status, 400)

            wait_for(lambda: json.loads(get(f"{base}/healthz")[2]).get("status") == "ok", "health")
            time.sleep(0.2)  # The resolver's watch stream is open by now.
            deployed_at = time.monotonic()
            project.deploy(env, project.sets[1])
            served = wait_for(
                lambda: (lambda b: b if b["prompt"] == "Hello Ada, this is set 1" else None)(json.loads(get(f"{base}/v1/render?name=Ada")[2])),
                "the deployed prompt",
                timeout=1.0,
                interval=0.02,
            )
            self.assertLess(time.monotonic() - deployed_at, 1.0)
            self.assertEqual(served["version_set"], project.sets[1])

            status, headers, body = get(f"{base}/metrics")
            self.assertEqual(status, 200)
            self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
            text = body.decode()
            # Each request is counted under the set that served it (polls before the switch under the first).
            self.assertRegex(text, rf'gateway_requests_total{{status="200",version_set="{project.sets[0]}"}} ([2-9]|\d\d+)\n')
            self.assertRegex(text, rf'gateway_requests_total{{status="200",version_set="{project.sets[1]}"}} [1-9]')
            self.assertIn(f'gateway_requests_total{{status="400",version_set="{project.sets[0]}"}} 1', text)
            self.assertIn(f'gateway_render_errors_total{{reason="bad_request",version_set="{project.sets[0]}"}} 1', text)
            self.assertIn("gateway_version_set_changes_total 1", text)
            self.assertIn(f'gateway_version_set_info{{version_set="{project.sets[1]}"}} 1', text)
            self.assertNotIn(f'gateway_version_set_info{{version_set="{project.sets[0]}"}}', text)
            self.assertIn("gateway_pinset_stale 0", text)
            promtool = shutil.which("promtool")
            if promtool:
                check = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
                self.assertEqual((check.returncode, check.stdout + check.stderr), (0, b""))

            process.send_signal(signal.SIGTERM)
            self.assertEqual(process.wait(10), 0, "".join(out))
            self.assertTrue(any(f"now serving {project.sets[1]}" in line for line in out), out)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            reader.join(5)
            process.stdout.close()  # type: ignore[union-attr]


if __name__ == "__main__":
    unittest.main()
