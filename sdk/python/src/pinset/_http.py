"""The SDK's HTTP layer, on ``http.client``: one connection per request (no shared state between
threads), no redirects followed, and every network failure turned into
:class:`~pinset.errors.RegistryUnreachableError` naming the URL.

Open connections are registered with a :class:`ConnectionTracker` so that another thread (a
resolver's ``close()``) can shut them down and unblock a read that would otherwise wait for the
next event of a quiet stream.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Mapping, Optional, Union

from .errors import PinsetError, RegistryUnreachableError

USER_AGENT = "pinset-python/0.1.0"

Body = Union[bytes, Iterable[bytes], None]


@dataclass(frozen=True)
class Registry:
    """Where the registry is and how to ask it: base URL parts, default headers, TLS context."""

    scheme: str
    host: str
    port: int
    #: A path prefix in front of ``/v1`` (a registry behind a path-routing proxy); "" usually.
    prefix: str
    headers: Mapping[str, str] = field(default_factory=dict)
    ssl_context: Optional[ssl.SSLContext] = None

    @classmethod
    def parse(
        cls,
        url: str,
        token: Optional[str] = None,
        *,
        headers: Optional[Mapping[str, str]] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> "Registry":
        """Checks and splits ``url`` (``http(s)://host[:port][/prefix]``); raises ``ValueError`` for one that can never work."""
        if not isinstance(url, str):
            raise TypeError(f"The registry URL must be a string (got {type(url).__name__})")
        parts = urllib.parse.urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f'The registry URL must start with http:// or https:// and name a host (got "{url}")')
        if parts.query or parts.fragment:
            raise ValueError(f'The registry URL must not have a query or fragment (got "{url}")')
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as error:
            raise ValueError(f'The registry URL has an invalid port (got "{url}")') from error
        merged: Dict[str, str] = {"user-agent": USER_AGENT}
        merged.update({k.lower(): v for k, v in (headers or {}).items()})
        if token:
            if any(c in token for c in "\r\n"):
                raise ValueError("The token must not contain line breaks")
            merged["authorization"] = f"Bearer {token}"
        return cls(scheme, parts.hostname, port, parts.path.rstrip("/"), merged, ssl_context)

    @property
    def base_url(self) -> str:
        """The URL as given, normalised: no trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.prefix}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (which starts with ``/v1/…``), for messages."""
        return f"{self.base_url}{path}"

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        """A new, not yet connected connection; ``timeout`` bounds the connect and each socket read."""
        if self.scheme == "https":
            context = self.ssl_context or ssl.create_default_context()
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def path_of(*segments: str, query: Optional[Mapping[str, Optional[str]]] = None) -> str:
    """``/seg/seg…?query`` with every segment percent-encoded (a name can never inject a path)."""
    path = "".join("/" + urllib.parse.quote(s, safe="") for s in segments)
    pairs = [(k, v) for k, v in (query or {}).items() if v is not None]
    if pairs:
        path += "?" + urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)
    return path


class ConnectionTracker:
    """The sockets in flight, so that ``abort_all()`` from another thread unblocks them.

    It keeps the socket objects themselves: ``http.client`` drops ``connection.sock`` once a
    response says ``connection: close``, but the response still reads from that socket.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Dict[http.client.HTTPConnection, socket.socket] = {}
        self._aborted = False

    def connect(self, connection: http.client.HTTPConnection) -> socket.socket:
        """Connects and registers ``connection``; returns its socket. Registered only once
        connected (so ``abort_all`` always finds the socket), and refused when ``abort_all``
        came first."""
        connection.connect()
        sock = connection.sock
        with self._lock:
            if self._aborted or sock is None:
                connection.close()
                raise ConnectionAbortedError("the connection's owner was closed")
            self._open[connection] = sock
        return sock

    def discard(self, connection: http.client.HTTPConnection) -> None:
        """Forgets a connection (it was closed by its user)."""
        with self._lock:
            self._open.pop(connection, None)

    def abort_all(self) -> None:
        """Shuts down every registered socket: a blocked read returns or raises at once."""
        with self._lock:
            self._aborted = True
            for sock in self._open.values():
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # Already closed by its reader: nothing left to unblock.


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer."""

    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300

    def header(self, name: str) -> Optional[str]:
        """A response header (case-insensitive), or None."""
        return self.headers.get(name)

    def error(self) -> PinsetError:
        """The registry's problem+json answer as an exception."""
        return PinsetError.from_answer(self.status, self.reason, self.headers, self.body)

    def json(self) -> Any:
        """The parsed JSON body; ``PinsetError(code="invalid_response")`` when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise PinsetError(
                self.status,
                "invalid_response",
                f"the registry's answer is not JSON ({len(self.body)} bytes, content-type {self.header('content-type') or 'none'})",
                trace_id=self.header("x-trace-id"),
            ) from None


def send(
    registry: Registry,
    method: str,
    path: str,
    *,
    headers: Optional[Mapping[str, str]] = None,
    body: Body = None,
    timeout: float,
    tracker: Optional[ConnectionTracker] = None,
) -> Answer:
    """Sends one request and reads the whole answer.

    ``body`` may be bytes or an iterable of byte chunks (streamed; then ``headers`` must carry
    ``content-length``). Raises RegistryUnreachableError when nothing answered and
    ``PinsetError(code="invalid_response")`` when the answer was cut off.
    """
    url = registry.url(path)
    connection = registry.connect(timeout)
    response: Optional[http.client.HTTPResponse] = None
    try:
        if tracker is not None:
            tracker.connect(connection)
        try:
            write_request(connection, registry, method, path, headers, body)
            response = connection.getresponse()
        except OSError as sent_error:
            # The registry may refuse a body early (413) and close while it is still being
            # sent: its answer is then already waiting in the socket, and says more than EPIPE.
            response = _early_answer(connection, sent_error, url)
        data = b"" if method == "HEAD" or response.status in (204, 304) else response.read()
        return Answer(response.status, response.reason, response.headers, data)
    except http.client.IncompleteRead as error:
        status = response.status if response is not None else 0
        expected = f" of {len(error.partial) + error.expected}" if error.expected is not None else ""
        raise PinsetError(
            status,
            "invalid_response",
            f"the registry's answer to {method} {url} was cut off after {len(error.partial)}{expected} bytes",
            trace_id=response.headers.get("x-trace-id") if response is not None else None,
        ) from None
    except (OSError, http.client.HTTPException) as error:
        raise RegistryUnreachableError(url, error) from error
    finally:
        if tracker is not None:
            tracker.discard(connection)
        if response is not None:
            response.close()
        connection.close()


def write_request(
    connection: http.client.HTTPConnection,
    registry: Registry,
    method: str,
    path: str,
    headers: Optional[Mapping[str, str]],
    body: Body,
) -> None:
    merged = dict(registry.headers)
    merged.update({k.lower(): v for k, v in (headers or {}).items()})
    if isinstance(body, (bytes, bytearray, memoryview)):
        merged["content-length"] = str(len(body))
    elif body is None and method in ("POST", "PUT", "PATCH"):
        merged["content-length"] = "0"
    connection.putrequest(method, registry.prefix + path, skip_accept_encoding=True)
    for name, value in merged.items():
        connection.putheader(name, value)
    connection.endheaders()
    if isinstance(body, (bytes, bytearray, memoryview)):
        connection.send(bytes(body))
    elif body is not None:
        for chunk in body:
            if chunk:
                connection.send(chunk)


def _early_answer(connection: http.client.HTTPConnection, sent_error: OSError, url: str) -> http.client.HTTPResponse:
    if connection.sock is None:  # The connect itself failed: nobody answered.
        raise RegistryUnreachableError(url, sent_error) from sent_error
    try:
        return connection.getresponse()
    except (OSError, http.client.HTTPException):
        raise RegistryUnreachableError(url, sent_error) from sent_error
