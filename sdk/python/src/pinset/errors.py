"""The errors the SDK raises.

- :class:`PinsetError`: the registry answered, and the answer was an error (its problem+json
  ``status``, ``code``, ``title``, ``detail`` and ``trace_id``), or an answer the SDK cannot use
  (``code == "invalid_response"``: not JSON, cut off).
- :class:`RegistryUnreachableError`: nothing answered (refused, reset, DNS, time-out).
- :class:`ResolverStartError`: a :class:`~pinset.Resolver` has no first snapshot.
  :class:`ResolverRefusedError` is the case where the registry said no (bad token, unknown
  environment, nothing deployed): it is both a ``ResolverStartError`` and a ``PinsetError``.
"""

from __future__ import annotations

import email.message
import errno
import json
import socket
import ssl
from typing import Any, Dict, List, Mapping, Optional, Union

from .models import FieldError

__all__ = ["PinsetError", "RegistryUnreachableError", "ResolverStartError", "ResolverRefusedError"]

#: Codes for answers that carry no problem body (HEAD, or a proxy in front of the registry).
CODE_BY_STATUS: Dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "unprocessable",
    423: "locked",
    429: "rate_limited",
    503: "unavailable",
}


class PinsetError(Exception):
    """The registry answered with an error status, or with an answer that cannot be used.

    Attributes mirror the registry's ``application/problem+json`` body: ``status`` (the HTTP
    status), ``code`` (stable machine code such as ``not_found`` or ``validation_failed``),
    ``title``, ``detail``, ``trace_id`` (also the ``x-trace-id`` header: quote it to the
    registry's operators), ``type`` and ``errors`` (field-level problems of a validation error).
    """

    status: int
    code: str
    title: str
    detail: str
    trace_id: Optional[str]
    type: Optional[str]
    errors: List[FieldError]
    problem: Optional[Dict[str, Any]]

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: Optional[str] = None,
        trace_id: Optional[str] = None,
        type: Optional[str] = None,
        errors: Optional[List[FieldError]] = None,
        problem: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title if title is not None else code.replace("_", " ").capitalize()
        self.trace_id = trace_id
        self.type = type
        self.errors = list(errors or [])
        self.problem = problem

    def __str__(self) -> str:
        trace = f", trace {self.trace_id}" if self.trace_id else ""
        fields = "".join(f"; {e['path']}: {e['message']}" for e in self.errors)
        return f"{self.detail}{fields} (HTTP {self.status} {self.code}{trace})"

    def __repr__(self) -> str:
        return f"PinsetError(status={self.status!r}, code={self.code!r}, detail={self.detail!r}, trace_id={self.trace_id!r})"

    @classmethod
    def from_answer(cls, status: int, reason: str, headers: Union[email.message.Message, Mapping[str, str]], body: bytes) -> "PinsetError":
        """Builds the error from an HTTP answer; ``headers`` must be case-insensitive (an ``http.client`` message)."""
        problem: Optional[Dict[str, Any]] = None
        text: Optional[str] = None
        if body:
            try:
                parsed = json.loads(body.decode("utf-8"))
                if isinstance(parsed, dict):
                    problem = parsed
            except (UnicodeDecodeError, ValueError):
                decoded = body.decode("utf-8", errors="replace").strip()
                # A short plain-text answer (a proxy's "Bad Gateway") says more than the status; an HTML page does not.
                if 0 < len(decoded) < 200 and "<" not in decoded:
                    text = decoded
        p = problem or {}
        code = _string(p.get("code")) or CODE_BY_STATUS.get(status) or f"http_{status}"
        detail = (
            _string(p.get("detail"))
            or _string(p.get("title"))
            or text
            or f"The registry answered HTTP {status}{' ' + reason if reason else ''}"
        )
        return cls(
            status,
            code,
            detail,
            title=_string(p.get("title")) or reason or None,
            trace_id=_string(p.get("trace_id")) or headers.get("x-trace-id") or None,
            type=_string(p.get("type")),
            errors=_field_errors(p.get("errors")),
            problem=problem,
        )


def _string(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value != "" else None


def _field_errors(value: Any) -> List[FieldError]:
    if not isinstance(value, list):
        return []
    out: List[FieldError] = []
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("message"), str):
            out.append({"path": item["path"], "message": item["message"]})
    return out


class RegistryUnreachableError(Exception):
    """The registry could not be reached at all (refused, DNS, reset, TLS, time-out): nothing answered.

    ``url`` is what was asked; ``reason`` is the short cause (``ECONNREFUSED``, ``timed out``…),
    and the original exception is chained as ``__cause__``.
    """

    url: str
    reason: str

    def __init__(self, url: str, cause: BaseException) -> None:
        self.url = url
        self.reason = describe_cause(cause)
        super().__init__(f"cannot reach the registry at {url}: {self.reason}")
        self.__cause__ = cause


def describe_cause(error: BaseException) -> str:
    """The useful part of a network error: the errno name when there is one (``ECONNREFUSED``)."""
    if isinstance(error, socket.timeout):
        return str(error) or "timed out"
    if isinstance(error, ssl.SSLError):  # Its errno says nothing; its text names the TLS problem.
        return str(error)
    code = error.errno if isinstance(error, OSError) and not isinstance(error, socket.gaierror) else None
    if code is not None and code in errno.errorcode:
        return errno.errorcode[code]
    message = str(error)
    return message or type(error).__name__


class ResolverStartError(Exception):
    """A :class:`~pinset.Resolver` has no first snapshot: the registry did not answer and there is
    no usable cache file, or the registry refused (see :class:`ResolverRefusedError`), or
    ``wait_ready`` timed out (``timed_out`` is then true and the resolver keeps trying).

    The underlying error is ``__cause__``.
    """

    timed_out: bool

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class ResolverRefusedError(ResolverStartError, PinsetError):
    """The registry answered the resolver's first request with a refusal (401/403 token, 404
    environment or nothing deployed, 400): a configuration problem, raised once and not retried,
    even when a cache file exists. Carries the registry's ``status``, ``code``, ``detail``,
    ``trace_id``."""

    def __init__(self, message: str, refusal: PinsetError) -> None:
        PinsetError.__init__(
            self,
            refusal.status,
            refusal.code,
            refusal.detail,
            title=refusal.title,
            trace_id=refusal.trace_id,
            type=refusal.type,
            errors=refusal.errors,
            problem=refusal.problem,
        )
        self.timed_out = False
        self.message = message
        self.args = (message,)

    def __str__(self) -> str:
        return self.message
