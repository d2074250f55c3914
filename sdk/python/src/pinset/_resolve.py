"""``GET …/environments/{env}/resolve``, shared by the resolver and ``Client.resolve``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

from ._http import ConnectionTracker, Registry, path_of, send
from .errors import PinsetError, RegistryUnreachableError
from .models import Assignment


@dataclass(frozen=True)
class ResolveAnswer:
    """A 200 (``bundle`` set) or a 304 (``bundle`` None: the etag sent is still current)."""

    status: int
    bundle: Optional[Dict[str, Any]]
    version_set: Optional[str]
    etag: Optional[str]
    assignment: Optional[Assignment]
    stale: bool
    trace_id: Optional[str]


def environment_path(project: str, environment: str, *rest: str, query: Optional[Dict[str, Optional[str]]] = None) -> str:
    """``/v1/projects/{project}/environments/{environment}/…``, every segment encoded."""
    return path_of("v1", "projects", project, "environments", environment, *rest, query=query)


def _assignment(value: Optional[str]) -> Optional[Assignment]:
    if value == "stable":
        return "stable"
    if value == "candidate":
        return "candidate"
    return None


def request_resolve(
    registry: Registry,
    project: str,
    environment: str,
    *,
    subject: Optional[str] = None,
    at: Optional[str] = None,
    etag: Optional[str] = None,
    timeout: float,
    tracker: Optional[ConnectionTracker] = None,
) -> ResolveAnswer:
    """Asks ``resolve`` (with ``if-none-match`` when an etag is known).

    Raises RegistryUnreachableError when nothing answered and PinsetError for an error status or
    an answer that is not a bundle (``invalid_response``); the caller decides what is fatal.
    """
    path = environment_path(project, environment, "resolve", query={"subject": subject, "at": at})
    headers = {"accept": "application/json"}
    if etag is not None:
        headers["if-none-match"] = etag
    answer = send(registry, "GET", path, headers=headers, timeout=timeout, tracker=tracker)
    stale = answer.header("x-pinset-stale") == "true"
    assignment = _assignment(answer.header("x-pinset-assignment"))
    trace_id = answer.header("x-trace-id")
    if answer.status == 304:
        return ResolveAnswer(304, None, answer.header("x-pinset-version-set"), answer.header("etag"), assignment, stale, trace_id)
    if answer.status != 200:
        raise answer.error()
    bundle = answer.json()
    if not isinstance(bundle, dict) or not isinstance(bundle.get("id"), str) or not isinstance(bundle.get("components"), dict):
        raise PinsetError(200, "invalid_response", "the registry's resolve answer is not a bundle", trace_id=trace_id)
    version_set = answer.header("x-pinset-version-set") or bundle["id"]
    return ResolveAnswer(200, bundle, version_set, answer.header("etag") or f'"{version_set}"', assignment, stale, trace_id)


def is_transient(error: BaseException) -> bool:
    """An answer that may well be different on the next try: nothing answered, the registry is busy,
    restarting or without its database, or something in between (a proxy) answered garbage."""
    if isinstance(error, RegistryUnreachableError):
        return True
    if isinstance(error, PinsetError):
        return error.status in (408, 429) or error.status >= 500 or error.code == "invalid_response"
    return False
