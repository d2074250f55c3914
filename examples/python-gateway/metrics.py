"""The gateway's own counters, in the Prometheus text exposition format (version 0.0.4), with no
client library. Every request counter carries the ``version_set`` that served it, so a
dashboard or Pinset's gate can compare a candidate with the stable set."""

from __future__ import annotations

import threading
from typing import Dict, Iterable, List, Tuple

Labels = Tuple[Tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


class Metrics:
    """Counters and gauges by name and label set; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._help: Dict[str, Tuple[str, str]] = {}
        self._values: Dict[str, Dict[Labels, float]] = {}

    def declare(self, name: str, kind: str, help_text: str) -> None:
        """Registers a metric (``counter`` names end in ``_total``)."""
        with self._lock:
            self._help[name] = (kind, help_text)
            self._values.setdefault(name, {})

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Adds to a counter."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values[name]
            series[key] = series.get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        """Sets a gauge."""
        with self._lock:
            self._values[name][tuple(sorted(labels.items()))] = value

    def replace(self, name: str, value: float, **labels: str) -> None:
        """Sets a gauge as the only series of its name (an ``_info`` metric that names the current set)."""
        with self._lock:
            self._values[name] = {tuple(sorted(labels.items())): value}

    def exposition(self) -> str:
        """The scrape body."""
        lines: List[str] = []
        with self._lock:
            for name, (kind, help_text) in self._help.items():
                lines.append(f"# HELP {name} {help_text}")
                lines.append(f"# TYPE {name} {kind}")
                for labels, value in sorted(self._values[name].items()):
                    lines.append(f"{name}{_labels(labels)} {_number(value)}")
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def series(text: str) -> Iterable[Tuple[str, str]]:
    """``(name{labels}, value)`` pairs of an exposition (for tests and quick checks)."""
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            yield key, value
