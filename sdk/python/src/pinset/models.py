"""The shapes the SDK hands out.

The ``TypedDict`` classes describe the registry's JSON as ``openapi/pinset.yaml`` defines it (the
contract; fields may be added, so code should ignore keys it does not know). They are plain
``dict`` objects at run time. The dataclasses are what the SDK itself builds: a resolver's
:class:`Snapshot`, a :class:`Resolution`, a :class:`BlobUpload`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Dict, List, Literal, Optional, TypedDict

__all__ = [
    "Assignment",
    "Source",
    "FieldError",
    "CodeRef",
    "PinnedComponent",
    "BundleFile",
    "BundleComponent",
    "Bundle",
    "VersionSet",
    "ComponentDiff",
    "VersionSetDiff",
    "ArtifactVersion",
    "ArtifactVersionWithContent",
    "Project",
    "Rollout",
    "Environment",
    "DeployResult",
    "DecisionReason",
    "Decision",
    "ObservationRecorded",
    "Snapshot",
    "Resolution",
    "BlobUpload",
]

#: During a rollout, which side a subject is on; ``None`` without a subject or a rollout.
Assignment = Literal["stable", "candidate"]
#: Where a snapshot's bundle came from.
Source = Literal["registry", "cache-file"]


class FieldError(TypedDict):
    """One field-level problem of a ``validation_failed`` answer."""

    path: str
    message: str


class CodeRef(TypedDict):
    """The code commit a version set pins."""

    repo: str
    commit: str


class PinnedComponent(TypedDict):
    """A slot of a version set: which artifact version it pins."""

    kind: str
    name: str
    version: int
    digest: str


class BundleFile(TypedDict):
    """A file of an ``index`` component; its bytes are fetched from ``url``."""

    path: str
    digest: str
    size: int
    url: str


class _BundleComponentRequired(PinnedComponent):
    content: Any


class BundleComponent(_BundleComponentRequired, total=False):
    """A pinned component with its content inline (``annotations``, and ``files`` for indexes)."""

    annotations: Dict[str, str]
    files: List[BundleFile]


class _BundleRequired(TypedDict):
    id: str
    components: Dict[str, BundleComponent]
    code: Optional[CodeRef]
    summary: Dict[str, str]
    created_at: str


class Bundle(_BundleRequired, total=False):
    """A version set with every component's content inline: what ``resolve`` answers."""

    description: Optional[str]


class _VersionSetRequired(TypedDict):
    id: str
    components: Dict[str, PinnedComponent]
    code: Optional[CodeRef]
    summary: Dict[str, str]
    created_at: str


class VersionSet(_VersionSetRequired, total=False):
    """A pinned set: slot name to artifact version, plus the code commit."""

    description: Optional[str]


# Functional syntax: the registry's field is called `from`, a Python keyword.
ComponentDiff = TypedDict(
    "ComponentDiff",
    {
        "slot": str,
        "change": Literal["added", "removed", "changed", "unchanged"],
        "from": Optional[PinnedComponent],
        "to": Optional[PinnedComponent],
        "detail": Optional[Dict[str, Any]],
    },
)
ComponentDiff.__doc__ = "One slot of a diff; ``detail`` is per kind (prompt text diff, contract changes, …)."

VersionSetDiff = TypedDict("VersionSetDiff", {"from": str, "to": str, "components": List[ComponentDiff]})
VersionSetDiff.__doc__ = "Two version sets compared slot by slot."


class ArtifactVersion(TypedDict):
    """An immutable, content-addressed version of an artifact."""

    kind: str
    name: str
    version: int
    digest: str
    size: int
    created_at: str
    annotations: Dict[str, str]


class ArtifactVersionWithContent(ArtifactVersion):
    """An artifact version with its ``content``."""

    content: Any


class Project(TypedDict):
    """A project: the unit of isolation."""

    name: str
    description: Optional[str]
    created_at: str


class Rollout(TypedDict):
    """A canary rollout between the stable set and a candidate."""

    id: str
    environment: str
    stable: str
    candidate: str
    percent: float
    allow: List[str]
    state: Literal["running", "paused", "promoted", "aborted"]
    auto: bool
    revision: int
    created_at: str
    updated_at: str
    ended_at: Optional[str]
    evidence: List[str]


class Environment(TypedDict):
    """Which version set is active in an environment, at which revision."""

    name: str
    active: Optional[str]
    revision: int
    updated_at: str
    protected: bool
    frozen: bool
    rollout: Optional[Rollout]


class DeployResult(TypedDict):
    """The pointer switch a deploy or rollback made. ``changed`` is false when the set deployed
    was already active: nothing was written and ``revision`` is the current one."""

    active: str
    revision: int
    previous: Optional[str]
    changed: bool


class DecisionReason(TypedDict):
    """Why the gate decided what it did, for one metric."""

    metric: str
    baseline: Optional[float]
    candidate: Optional[float]
    threshold: Any
    verdict: str


class Decision(TypedDict):
    """The gate's decision for a rollout: ``signal`` (green, yellow, red, black), ``action``
    (advance, hold, pause, rollback, stop) and the reasons per metric."""

    signal: Literal["green", "yellow", "red", "black"]
    action: Literal["advance", "hold", "pause", "rollback", "stop"]
    reasons: List[DecisionReason]


class ObservationRecorded(TypedDict):
    """An observation as recorded, with the gate's decision and the rollout after it."""

    id: str
    rollout_id: str
    version_set: str
    side: Literal["stable", "candidate"]
    window_start: str
    window_end: str
    metrics: Dict[str, float]
    sample_trace_ids: List[str]
    created_at: str
    decision: Decision
    rollout: Rollout


@dataclass(frozen=True)
class Snapshot:
    """What a :class:`~pinset.Resolver` holds: the bundle and what is known about it.

    A new ``Snapshot`` object replaces the old one on every change; a snapshot itself never
    changes, so it is safe to keep and to hand to other threads. Treat ``bundle`` as read-only:
    it is shared, not copied.
    """

    #: The parsed ``resolve`` answer.
    bundle: Bundle
    #: The version set id (``vs_…``); also ``bundle["id"]``.
    version_set: str
    #: The ``etag`` of the ``resolve`` answer (sent back as ``if-none-match``).
    etag: str
    #: The environment revision this snapshot is known current at, from the ``watch`` stream's
    #: event ids; ``None`` until a watch event arrived (and always in ``transport="poll"``).
    revision: Optional[int]
    #: ``"stable"``/``"candidate"`` when resolving for a subject during a rollout, else ``None``.
    assignment: Optional[Assignment]
    #: ``"cache-file"`` until the registry has confirmed or replaced a bundle read at start.
    source: Source
    #: True while the bundle is not known to be current (see docs/sdk.md). Still the best one: serve it.
    stale: bool
    #: When the registry served this bundle (for a cache file: when it was written).
    received_at: _dt.datetime


@dataclass(frozen=True)
class Resolution:
    """One ``resolve`` answer from :meth:`pinset.Client.resolve`."""

    bundle: Bundle
    version_set: str
    etag: str
    #: ``x-pinset-assignment``: the subject's side during a rollout, else ``None``.
    assignment: Optional[Assignment]
    #: ``x-pinset-stale``: the registry's database is away and it answered from memory.
    stale: bool
    trace_id: Optional[str]


@dataclass(frozen=True)
class BlobUpload:
    """A stored blob: its digest and size, and whether this upload stored new bytes."""

    digest: str
    size: int
    created: bool
