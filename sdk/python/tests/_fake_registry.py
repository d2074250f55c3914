"""A scripted HTTP server on raw sockets, for the answers a real registry never gives: bodies that
are not JSON or are cut off, event streams with odd frames, refusals the real one cannot produce.

``FakeRegistry(handler)``: ``handler(request)`` returns the raw bytes to send (then the
connection closes) or an iterator of byte chunks (sent one by one; the iterator may wait; the
connection closes when it is exhausted).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

Reply = Union[bytes, Iterator[bytes]]


@dataclass
class Request:
    """What the client sent: method, path (with query) and lower-cased headers."""

    method: str
    path: str
    headers: Dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """The last path segment without the query: ``resolve``, ``watch``…"""
        return self.path.split("?")[0].rsplit("/", 1)[-1]


class FakeRegistry:
    """Serves ``handler`` on a free port until ``close()``; ``requests`` records every request."""

    def __init__(self, handler: Callable[[Request], Reply], tls: Optional[ssl.SSLContext] = None) -> None:
        self.handler = handler
        self.tls = tls
        self.requests: List[Request] = []
        self.stopped = threading.Event()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._clients: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def to(self, endpoint: str) -> List[Request]:
        """The recorded requests to ``endpoint`` (``resolve``, ``watch``…)."""
        return [r for r in list(self.requests) if r.endpoint == endpoint]

    def stream(self, *chunks: bytes) -> Iterator[bytes]:
        """A reply that sends ``chunks`` and then holds the connection open until ``close()``."""
        yield from chunks
        self.stopped.wait(30)

    def close(self) -> None:
        """Stops serving; open streams end."""
        self.stopped.set()
        try:
            self._server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._server.close()
        for client in list(self._clients):
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> "FakeRegistry":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._clients.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            if self.tls is not None:
                client = self.tls.wrap_socket(client, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = client.recv(65536)
                if not chunk:
                    return
                data += chunk
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {}
            for line in head[1:]:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            request = Request(method, path, headers)
            self.requests.append(request)
            reply = self.handler(request)
            if isinstance(reply, (bytes, bytearray)):
                client.sendall(reply)
            else:
                for chunk in reply:
                    if self.stopped.is_set():
                        break
                    client.sendall(chunk)
        except OSError:
            pass
        finally:
            client.close()


def http_answer(status: int, body: bytes = b"", content_type: str = "application/json", headers: Optional[Dict[str, str]] = None, length: Optional[int] = None) -> bytes:
    """A raw answer; ``length`` may claim more bytes than ``body`` has (a cut-off answer)."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    size = len(body) if length is None else length
    return f"HTTP/1.1 {status} Status\r\ncontent-type: {content_type}\r\ncontent-length: {size}\r\nconnection: close\r\n{extra}\r\n".encode() + body


def bundle_of(version_set: str, text: str = "hello") -> Dict[str, Any]:
    """A minimal bundle for ``version_set``."""
    return {
        "id": version_set,
        "components": {"cfg": {"kind": "config", "name": "app", "version": 1, "digest": "sha256:" + "0" * 64, "content": {"values": {"text": text}}}},
        "code": None,
        "summary": {},
        "created_at": "2026-01-01T00:00:00.000Z",
    }


def resolve_answer(version_set: str, headers: Optional[Dict[str, str]] = None) -> bytes:
    """A 200 resolve answer as the registry sends it."""
    base = {"etag": f'"{version_set}"', "x-pinset-version-set": version_set, "x-trace-id": "fake-trace"}
    base.update(headers or {})
    return http_answer(200, json.dumps(bundle_of(version_set)).encode(), headers=base)


def sse_head(headers: Optional[Dict[str, str]] = None) -> bytes:
    """The head of an event stream (chunk-free: the body runs until the connection closes)."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return f"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n{extra}\r\n".encode()


def state_event(active: str, revision: int, kind: str = "state", stale: bool = False) -> bytes:
    """One watch frame: ``id``, ``event`` and the environment JSON."""
    data: Dict[str, Any] = {"name": "prod", "active": active, "revision": revision}
    if stale:
        data["stale"] = True
    return f"id: {revision}\nevent: {kind}\ndata: {json.dumps(data)}\n\n".encode()


VS_A = "vs_" + "a" * 24
VS_B = "vs_" + "b" * 24
