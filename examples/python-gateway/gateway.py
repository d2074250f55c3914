"""An LLM gateway's front door, with the standard library and the ``pinset`` SDK only.

It resolves one environment's pinned version set with a :class:`pinset.Resolver` (kept current
over ``watch``: a deploy or rollback reaches it within a second, no restart), renders the pinned
prompt for each request, and exposes Prometheus counters labelled with the version set that
served each request. It does not call a model: the rendered prompt and the pinned model are what
it would send.

    PINSET_URL=http://127.0.0.1:8080 PINSET_TOKEN=… PINSET_PROJECT=support-bot \\
    PINSET_ENVIRONMENT=production python3 gateway.py --port 8000

Routes: ``GET /v1/render?<variable>=<value>…`` or ``POST /v1/render`` with
``{"variables": {…}}``; ``GET /metrics``; ``GET /healthz``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Mapping, Optional, Tuple

from metrics import Metrics
from render import NotAPrompt, RenderError, render

from pinset import Resolver, ResolverStartError, Snapshot

MAX_BODY = 1024 * 1024


def build_metrics() -> Metrics:
    """The gateway's metric families."""
    m = Metrics()
    m.declare("gateway_requests_total", "counter", "Render requests by the version set that served them and HTTP status.")
    m.declare("gateway_render_errors_total", "counter", "Render requests that failed, by version set and reason.")
    m.declare("gateway_version_set_changes_total", "counter", "Deploys and rollbacks picked up without a restart.")
    m.declare("gateway_version_set_info", "gauge", "The version set being served (value 1).")
    m.declare("gateway_pinset_stale", "gauge", "1 while the served set is not known to be current (registry away).")
    return m


class Gateway:
    """The state the request handlers share: the resolver, the prompt slot, the metrics."""

    def __init__(self, resolver: Resolver, slot: str) -> None:
        self.resolver = resolver
        self.slot = slot
        self.metrics = build_metrics()
        resolver.on_change(self._changed)
        self.metrics.replace("gateway_version_set_info", 1, version_set=resolver.current().version_set)

    def _changed(self, nxt: Snapshot, previous: Snapshot) -> None:
        self.metrics.inc("gateway_version_set_changes_total")
        self.metrics.replace("gateway_version_set_info", 1, version_set=nxt.version_set)
        print(f"gateway: now serving {nxt.version_set} (was {previous.version_set})", flush=True)

    def answer(self, variables: Mapping[str, str]) -> Tuple[int, Dict[str, Any], str]:
        """(status, JSON body, version set) for one render request."""
        # One snapshot per request: a deploy landing mid-request cannot mix two sets' components.
        snap = self.resolver.current()
        bundle: Any = snap.bundle
        try:
            rendered = render(bundle, self.slot, variables)
        except RenderError as error:
            self.metrics.inc("gateway_render_errors_total", version_set=snap.version_set, reason="bad_request")
            return 400, {"error": str(error), "version_set": snap.version_set}, snap.version_set
        except NotAPrompt as error:
            self.metrics.inc("gateway_render_errors_total", version_set=snap.version_set, reason="no_prompt")
            return 500, {"error": str(error), "version_set": snap.version_set}, snap.version_set
        body: Dict[str, Any] = {"version_set": snap.version_set, "stale": snap.stale}
        body["messages" if isinstance(rendered, list) else "prompt"] = rendered
        model = next((c["content"] for c in bundle["components"].values() if c.get("kind") == "model"), None)
        if model is not None:
            body["model"] = model
        return 200, body, snap.version_set

    def scrape(self) -> str:
        """The metrics exposition, with the stale gauge read now."""
        self.metrics.set("gateway_pinset_stale", 1 if self.resolver.stale else 0)
        return self.metrics.exposition()


class Handler(BaseHTTPRequestHandler):
    """Routes requests to the :class:`Gateway` held by the server."""

    server_version = "pinset-python-gateway/0.1"
    gateway: Gateway  # Set on the class by serve().

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name.
        """Quiet: the counters are the record."""

    def do_GET(self) -> None:
        """``/v1/render?…``, ``/metrics``, ``/healthz``."""
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/metrics":
            self._send(200, self.gateway.scrape().encode(), "text/plain; version=0.0.4; charset=utf-8")
        elif url.path == "/healthz":
            snap = self.gateway.resolver.current()
            self._json(200, {"status": "ok", "version_set": snap.version_set, "stale": snap.stale})
        elif url.path == "/v1/render":
            self._render(dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)))
        else:
            self._json(404, {"error": f"no route {url.path}"})

    def do_POST(self) -> None:
        """``/v1/render`` with ``{"variables": {"name": "value", …}}``."""
        if urllib.parse.urlsplit(self.path).path != "/v1/render":
            self._json(404, {"error": "no such route"})
            return
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self._json(413, {"error": f"the body is larger than {MAX_BODY} bytes"})
            return
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
            variables = payload.get("variables", {}) if isinstance(payload, dict) else None
            if not isinstance(variables, dict):
                raise ValueError("variables must be an object")
        except ValueError as error:
            self._json(400, {"error": f"the body must be JSON like {{\"variables\": {{…}}}}: {error}"})
            return
        self._render({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in variables.items()})

    def _render(self, variables: Dict[str, str]) -> None:
        status, body, version_set = self.gateway.answer(variables)
        self.gateway.metrics.inc("gateway_requests_total", version_set=version_set, status=str(status))
        self._json(status, body, {"x-pinset-version-set": version_set})

    def _json(self, status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(self, status: int, data: bytes, content_type: str, headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def serve(args: argparse.Namespace) -> int:
    """Starts the resolver, then the HTTP server; stops both on SIGTERM/SIGINT."""
    token = args.token
    if not token and args.token_file:
        with open(args.token_file, encoding="utf-8") as handle:
            token = handle.read().strip()
    resolver = Resolver(args.url, token, args.project, args.environment, cache_file=args.cache_file)
    try:
        first = resolver.wait_ready(timeout=30)
    except ResolverStartError as error:
        print(f"gateway: {error}", file=sys.stderr, flush=True)
        resolver.close()
        return 1
    Handler.gateway = Gateway(resolver, args.slot)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    source = " from the cache file" if first.source == "cache-file" else ""
    print(f"gateway listening on http://{host}:{port} serving {first.version_set}{source}", flush=True)
    started = time.monotonic()
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    resolver.close()
    print(f"gateway: stopped after {time.monotonic() - started:.1f} s", flush=True)
    return 0


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """Flags, each defaulting to an environment variable."""
    env = os.environ.get
    p = argparse.ArgumentParser(description="A Pinset-resolved LLM gateway (standard library only).")
    p.add_argument("--url", default=env("PINSET_URL", "http://127.0.0.1:8080"), help="the registry (PINSET_URL)")
    p.add_argument("--token", default=env("PINSET_TOKEN"), help="a token with read on the project (PINSET_TOKEN)")
    p.add_argument("--token-file", default=env("PINSET_TOKEN_FILE"), help="or a file holding it (PINSET_TOKEN_FILE)")
    p.add_argument("--project", default=env("PINSET_PROJECT"), required=env("PINSET_PROJECT") is None)
    p.add_argument("--environment", default=env("PINSET_ENVIRONMENT"), required=env("PINSET_ENVIRONMENT") is None)
    p.add_argument("--cache-file", default=env("PINSET_CACHE_FILE"), help="last-known-good bundle (PINSET_CACHE_FILE)")
    p.add_argument("--slot", default=env("GATEWAY_PROMPT_SLOT", "prompt"), help="the prompt's slot in the set (default: prompt)")
    p.add_argument("--host", default=env("GATEWAY_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("GATEWAY_PORT", "8000")))
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(serve(parse_args()))
