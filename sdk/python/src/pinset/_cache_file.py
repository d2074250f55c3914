"""The resolver's last-known-good file: the newest bundle it received, with what it was resolved
for, so a process that starts while the registry is away can still serve.

The format is the JavaScript SDK's (``pinset-resolver-cache/1``), so either SDK can start from a
file the other wrote; this one adds ``revision``, which the other ignores.

Written atomically: a temporary file in the same directory (same filesystem, so the rename is
atomic), fsync'd, renamed over the old file, then the directory fsync'd so the rename itself
survives a crash. A reader sees the old file or the new one, never a torn mix. Mode 0600: a
bundle can hold prompts and configuration that are not for other local users. A missing
directory is created (mode 0700).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

CACHE_FORMAT = "pinset-resolver-cache/1"

#: A path as ``open`` takes it.
PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class CacheKey:
    """What a cache file must have been written for to be usable by a resolver."""

    project: str
    environment: str
    subject: Optional[str]


@dataclass(frozen=True)
class CacheRecord:
    """The file's content."""

    project: str
    environment: str
    subject: Optional[str]
    version_set: str
    etag: str
    assignment: Optional[str]
    #: When the registry served the bundle (ISO 8601).
    saved_at: str
    bundle: Dict[str, Any]
    revision: Optional[int] = None

    def to_json(self) -> str:
        """The file's text."""
        return json.dumps(
            {
                "format": CACHE_FORMAT,
                "project": self.project,
                "environment": self.environment,
                "subject": self.subject,
                "version_set": self.version_set,
                "etag": self.etag,
                "assignment": self.assignment,
                "saved_at": self.saved_at,
                "revision": self.revision,
                "bundle": self.bundle,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ) + "\n"


def write_cache_file(path: PathLike, record: CacheRecord) -> None:
    """Replaces ``path`` atomically with ``record`` (mode 0600); raises OSError when it cannot."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    temp = os.path.join(directory, f".{os.path.basename(target)}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(record.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _sync_directory(directory)


def _sync_directory(directory: str) -> None:
    # Some filesystems (and Windows) refuse to open or fsync a directory; the data is durable already.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class CacheRead:
    """The outcome of reading a cache file: ``record`` when usable, else ``reason``; ``missing``
    tells "no file yet" (normal on a first start) apart from a file that is not trusted."""

    record: Optional[CacheRecord]
    reason: Optional[str]
    missing: bool = False


def read_cache_file(path: PathLike, expected: CacheKey) -> CacheRead:
    """Reads and checks the file. A missing, unreadable or malformed file, or one written for another
    project, environment or subject, is not used; ``reason`` says why."""
    name = os.fspath(path)
    try:
        with open(name, "r", encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return CacheRead(None, f"cache file {name} does not exist", missing=True)
    except (OSError, UnicodeDecodeError) as error:
        return CacheRead(None, f"cache file {name} cannot be read ({_why(error)})")
    try:
        parsed = json.loads(text)
    except ValueError:
        return CacheRead(None, f"cache file {name} is not valid JSON")
    record, problem = _record_of(parsed)
    if record is None:
        return CacheRead(None, f"cache file {name} is not a {CACHE_FORMAT} file ({problem})")
    for field in ("project", "environment", "subject"):
        got, want = getattr(record, field), getattr(expected, field)
        if got != want:
            return CacheRead(None, f"cache file {name} was written for {field} {json.dumps(got)}, not {json.dumps(want)}")
    return CacheRead(record, None)


def _why(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _record_of(value: Any) -> Tuple[Optional[CacheRecord], str]:
    if not isinstance(value, dict):
        return None, "not an object"
    if value.get("format") != CACHE_FORMAT:
        return None, f"format is {json.dumps(value.get('format'))}"
    checks = {
        "project": isinstance(value.get("project"), str),
        "environment": isinstance(value.get("environment"), str),
        "subject": value.get("subject") is None or isinstance(value.get("subject"), str),
        "version_set": isinstance(value.get("version_set"), str),
        "etag": isinstance(value.get("etag"), str),
        "assignment": value.get("assignment") in (None, "stable", "candidate"),
        "saved_at": isinstance(value.get("saved_at"), str),
        "bundle": isinstance(value.get("bundle"), dict),
        "revision": value.get("revision") is None or (type(value.get("revision")) is int and value["revision"] >= 0),
    }
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        return None, f"bad {', '.join(bad)}"
    bundle = value["bundle"]
    # A bundle that names another set than the record says was tampered with or torn: not trusted.
    if bundle.get("id") != value["version_set"] or not isinstance(bundle.get("components"), dict):
        return None, "the bundle does not match its version_set"
    return (
        CacheRecord(
            project=value["project"],
            environment=value["environment"],
            subject=value["subject"],
            version_set=value["version_set"],
            etag=value["etag"],
            assignment=value["assignment"],
            saved_at=value["saved_at"],
            bundle=bundle,
            revision=value.get("revision"),
        ),
        "",
    )
