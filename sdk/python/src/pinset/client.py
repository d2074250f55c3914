"""``Client``: typed calls for what runtimes and release pipelines ask the registry.

Every method sends one request on its own connection, so a ``Client`` can be shared between
threads. An error status raises :class:`~pinset.PinsetError` (problem+json ``status``, ``code``,
``title``, ``detail``, ``trace_id``); nothing answering raises
:class:`~pinset.RegistryUnreachableError`. The JSON shapes are ``openapi/pinset.yaml``'s.
"""

from __future__ import annotations

import datetime as _dt
import json
import ssl
from typing import Any, Dict, List, Mapping, Optional, Union, cast

from ._blob_source import BlobSource, open_blob
from ._http import Answer, Registry, path_of, send
from ._resolve import environment_path, request_resolve
from .models import (
    ArtifactVersion,
    ArtifactVersionWithContent,
    BlobUpload,
    Bundle,
    CodeRef,
    DeployResult,
    Environment,
    ObservationRecorded,
    Project,
    Resolution,
    Rollout,
    VersionSet,
    VersionSetDiff,
)

__all__ = ["Client"]

#: A time the registry takes: an aware ``datetime`` or an RFC 3339 string with a zone.
Time = Union[_dt.datetime, str]


def _time(value: Time, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(f"{name} must be timezone-aware (a naive datetime is ambiguous)")
        return value.isoformat()
    raise TypeError(f"{name} must be a datetime or an RFC 3339 string (got {type(value).__name__})")


def _drop_none(body: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


class Client:
    """The registry's API for runtimes and pipelines. ``url`` is the registry's base URL (no
    ``/v1``); ``token`` is sent as ``Authorization: Bearer …``; ``timeout`` (seconds) bounds the
    connect and each read of a request."""

    def __init__(
        self,
        url: str,
        token: Optional[str] = None,
        *,
        timeout: float = 30.0,
        headers: Optional[Mapping[str, str]] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        if not (timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds (got {timeout!r})")
        self._registry = Registry.parse(url, token, headers=headers, ssl_context=ssl_context)
        self._timeout = float(timeout)

    @property
    def url(self) -> str:
        """The registry's base URL, without a trailing slash."""
        return self._registry.base_url

    def __repr__(self) -> str:
        return f"<pinset.Client {self.url}>"

    # ------------------------------------------------------------------ plumbing

    def request(self, method: str, path: str, *, json_body: Any = None, headers: Optional[Mapping[str, str]] = None) -> Any:
        """Any route: ``path`` starts with ``/v1/`` (already encoded); returns the parsed JSON
        answer (None for an empty one). For routes this class has no method for."""
        return self._json(self._send(method, path, json_body=json_body, headers=headers))

    def _send(self, method: str, path: str, *, json_body: Any = None, headers: Optional[Mapping[str, str]] = None) -> Answer:
        merged = {"accept": "application/json"}
        body: Optional[bytes] = None
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            merged["content-type"] = "application/json"
        merged.update(headers or {})
        answer = send(self._registry, method, path, headers=merged, body=body, timeout=self._timeout)
        if not answer.ok:
            raise answer.error()
        return answer

    @staticmethod
    def _json(answer: Answer) -> Any:
        return answer.json() if answer.body else None

    # ------------------------------------------------------------------ runtime

    def resolve(self, project: str, environment: str, at: Optional[Time] = None, subject: Optional[str] = None) -> Resolution:
        """The bundle of the environment's active set — at ``at`` (a past time) or, during a
        rollout, the set ``subject`` is assigned to (``Resolution.assignment``). The registry
        refuses ``at`` with ``subject`` (400)."""
        answer = request_resolve(
            self._registry,
            project,
            environment,
            subject=subject,
            at=_time(at, "at") if at is not None else None,
            timeout=self._timeout,
        )
        assert answer.bundle is not None and answer.version_set is not None and answer.etag is not None
        return Resolution(cast(Bundle, answer.bundle), answer.version_set, answer.etag, answer.assignment, answer.stale, answer.trace_id)

    def get_environment(self, project: str, environment: str) -> Environment:
        """The environment's state: ``active``, ``revision``, ``rollout``, ``frozen``…"""
        return cast(Environment, self._json(self._send("GET", environment_path(project, environment))))

    # ------------------------------------------------------------------ version sets

    def get_version_set(self, project: str, version_set: str) -> VersionSet:
        """One version set: slot name to pinned artifact version."""
        return cast(VersionSet, self._json(self._send("GET", path_of("v1", "projects", project, "version-sets", version_set))))

    def get_bundle(self, project: str, version_set: str) -> Bundle:
        """A version set with every component's content inline (what ``resolve`` answers for it)."""
        return cast(Bundle, self._json(self._send("GET", path_of("v1", "projects", project, "version-sets", version_set, "bundle"))))

    def diff(self, project: str, from_set: str, to_set: str) -> VersionSetDiff:
        """Two version sets compared slot by slot (prompt text diff, breaking contract changes, …)."""
        path = path_of("v1", "projects", project, "diff", query={"from": from_set, "to": to_set})
        return cast(VersionSetDiff, self._json(self._send("GET", path)))

    def create_version_set(
        self,
        project: str,
        components: Mapping[str, str],
        *,
        code: Optional[CodeRef] = None,
        description: Optional[str] = None,
    ) -> VersionSet:
        """Pins a set: ``components`` maps slot names to ``"<kind>/<name>@<version|digest|latest>"``.
        The same pinned set again returns the existing one (same id)."""
        body = _drop_none({"components": dict(components), "code": code, "description": description})
        return cast(VersionSet, self._json(self._send("POST", path_of("v1", "projects", project, "version-sets"), json_body=body)))

    # ------------------------------------------------------------------ artifacts and blobs

    def publish(self, project: str, kind: str, name: str, content: Any, *, annotations: Optional[Mapping[str, str]] = None) -> ArtifactVersion:
        """Publishes a new version of an artifact (``content`` in the shape of ``kind``). Identical
        content returns the existing version."""
        body = _drop_none({"content": content, "annotations": dict(annotations) if annotations is not None else None})
        path = path_of("v1", "projects", project, "artifacts", kind, name)
        return cast(ArtifactVersion, self._json(self._send("POST", path, json_body=body)))

    def get_artifact(self, project: str, kind: str, name: str, ref: Union[int, str] = "latest") -> ArtifactVersionWithContent:
        """One artifact version with its content; ``ref`` is a version number, a digest or ``"latest"``."""
        path = path_of("v1", "projects", project, "artifacts", kind, name, "versions", str(ref))
        return cast(ArtifactVersionWithContent, self._json(self._send("GET", path)))

    def put_blob(self, project: str, data: BlobSource, *, digest: Optional[str] = None) -> BlobUpload:
        """Uploads bytes — ``bytes``, a file path, or a binary file object — streamed in 1 MiB
        chunks under their sha256 (computed first, in constant memory; an unseekable stream is
        spooled to a temporary file). The registry checks the digest while storing (400
        ``digest_mismatch`` keeps nothing). ``created`` is False when the project had them."""
        with open_blob(data, digest) as blob:
            path = path_of("v1", "projects", project, "blobs", blob.digest)
            headers = {"content-type": "application/octet-stream", "content-length": str(blob.size), "accept": "application/json"}
            answer = send(self._registry, "PUT", path, headers=headers, body=blob.chunks(), timeout=self._timeout)
        if not answer.ok:
            raise answer.error()
        stored = answer.json()
        return BlobUpload(stored.get("digest", blob.digest), int(stored.get("size", blob.size)), answer.status == 201)

    def blob_exists(self, project: str, digest: str) -> bool:
        """Whether the project holds the blob (``HEAD``: 404 also for a project the token cannot see)."""
        answer = send(self._registry, "HEAD", path_of("v1", "projects", project, "blobs", digest), timeout=self._timeout)
        if answer.ok:
            return True
        if answer.status == 404:
            return False
        raise answer.error()

    # ------------------------------------------------------------------ releases

    def create_project(self, project: str, *, description: Optional[str] = None) -> Project:
        """Creates a project (admin scope); an existing one is returned as it is."""
        body = _drop_none({"description": description})
        return cast(Project, self._json(self._send("PUT", path_of("v1", "projects", project), json_body=body)))

    def create_environment(self, project: str, environment: str, *, protected: Optional[bool] = None) -> Environment:
        """Creates an environment, or sets ``protected`` on an existing one (deploy scope)."""
        body = _drop_none({"protected": protected})
        return cast(Environment, self._json(self._send("PUT", environment_path(project, environment), json_body=body)))

    def deploy(self, project: str, environment: str, version_set: str, *, expected_revision: Optional[int] = None, reason: Optional[str] = None) -> DeployResult:
        """Makes ``version_set`` the active one (one atomic pointer switch). With
        ``expected_revision``, 409 ``conflict`` unless it is the current revision."""
        body = _drop_none({"version_set": version_set, "expected_revision": expected_revision, "reason": reason})
        return cast(DeployResult, self._json(self._send("POST", environment_path(project, environment, "deploy"), json_body=body)))

    def rollback(self, project: str, environment: str, *, to: Optional[str] = None, expected_revision: Optional[int] = None, reason: Optional[str] = None) -> DeployResult:
        """Switches back to the previously active set (or to ``to``)."""
        body = _drop_none({"to": to, "expected_revision": expected_revision, "reason": reason})
        return cast(DeployResult, self._json(self._send("POST", environment_path(project, environment, "rollback"), json_body=body)))

    def start_rollout(
        self,
        project: str,
        environment: str,
        *,
        candidate: str,
        percent: float,
        allow: Optional[List[str]] = None,
        auto: Optional[bool] = None,
        reason: Optional[str] = None,
    ) -> Rollout:
        """Starts a canary: ``percent`` of subjects (and every one in ``allow``) get ``candidate``."""
        body = _drop_none({"candidate": candidate, "percent": percent, "allow": allow, "auto": auto, "reason": reason})
        return cast(Rollout, self._json(self._send("PUT", environment_path(project, environment, "rollout"), json_body=body)))

    def record_observation(
        self,
        project: str,
        environment: str,
        *,
        version_set: str,
        window_start: Time,
        window_end: Time,
        metrics: Mapping[str, Any],
        sample_trace_ids: Optional[List[str]] = None,
        requests: Optional[int] = None,
        segments: Optional[Mapping[str, int]] = None,
    ) -> ObservationRecorded:
        """Posts the metrics observed for one side of the running rollout over a time window
        (``{"quality.success_rate": 0.97, "latency.p95_ms": 840}``, or sample forms such as
        ``{"quality.success_rate": {"count": 1812, "trials": 2000}}``), with the requests the side
        served and their segment counts when known; the answer carries the gate's decision and
        the rollout afterwards."""
        body = _drop_none(
            {
                "version_set": version_set,
                "window_start": _time(window_start, "window_start"),
                "window_end": _time(window_end, "window_end"),
                "metrics": dict(metrics),
                "requests": requests,
                "segments": dict(segments) if segments is not None else None,
                "sample_trace_ids": sample_trace_ids,
            }
        )
        path = environment_path(project, environment, "observations")
        return cast(ObservationRecorded, self._json(self._send("POST", path, json_body=body)))
