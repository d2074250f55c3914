"""A byte-for-byte TCP forwarder in front of the test registry.

Closing it cuts every open connection, as a registry that crashed or a network that failed would;
starting one on a fixed port is "the registry came back". It records the request head of each
connection (the SDK sends one request per connection), and ``intercept`` may answer a request
itself instead of forwarding it (a registry without ``watch``, a proxy that mangles it).
"""

from __future__ import annotations

import socket
import threading
from typing import Callable, List, Optional, Set, Tuple

#: Given the request head (request line and headers, as text), raw bytes to answer with, or None to forward.
Intercept = Callable[[str], Optional[bytes]]


class TcpProxy:
    """``TcpProxy(target_port).start(port=0)``; ``url``, ``heads``, ``close()``."""

    def __init__(self, target_port: int, intercept: Optional[Intercept] = None) -> None:
        self.target_port = target_port
        self.intercept = intercept
        self.heads: List[str] = []
        self.port = 0
        self._server: Optional[socket.socket] = None
        self._sockets: Set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._gate = threading.Event()
        self._gate.set()

    @property
    def url(self) -> str:
        """Where to point the SDK."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> "TcpProxy":
        """Listens (on ``port``, or a free one) and forwards until ``close()``."""
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(64)
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def requests_to(self, endpoint: str) -> List[str]:
        """The recorded heads whose path ends with ``endpoint`` (before any query)."""
        return [h for h in list(self.heads) if h.split(" ", 2)[1].split("?")[0].endswith(endpoint)]

    def hold(self) -> None:
        """New requests are accepted and recorded but wait (a network that hangs) until ``release()``."""
        self._gate.clear()

    def release(self) -> None:
        """Held and new requests are forwarded again."""
        self._gate.set()

    def cut(self) -> None:
        """Cuts every open connection and keeps listening."""
        with self._lock:
            sockets = list(self._sockets)
            self._sockets.clear()
        self._shutdown(sockets)

    def close(self) -> None:
        """Stops listening and cuts every connection."""
        with self._lock:
            self._closed = True
            sockets = list(self._sockets)
        self._gate.set()
        if self._server is not None:
            try:
                self._server.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._server.close()
        self._shutdown(sockets)

    @staticmethod
    def _shutdown(sockets: List[socket.socket]) -> None:
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _track(self, s: socket.socket) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._sockets.add(s)
            return True

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self._track(client):
                client.close()
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _read_head(self, client: socket.socket) -> Tuple[bytes, str]:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        return data, head

    def _serve(self, client: socket.socket) -> None:
        try:
            data, head = self._read_head(client)
            if not head:
                return
            self.heads.append(head)
            self._gate.wait()
            answer = self.intercept(head) if self.intercept else None
            if answer is not None:
                client.sendall(answer)
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            if not self._track(upstream):
                upstream.close()
                return
            upstream.sendall(data)
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            self._pipe(client, upstream)
        except OSError:
            pass
        finally:
            client.close()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def header_of(head: str, name: str) -> Optional[str]:
    """A header's value in a recorded request head (case-insensitive), or None."""
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def answer(status: int, body: bytes = b"", content_type: str = "application/problem+json", extra: str = "") -> bytes:
    """A complete raw HTTP/1.1 answer that closes the connection."""
    return (
        f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n".encode()
        + body
    )
