"""Renders a pinned prompt: ``{{ name }}`` placeholders (the registry's own syntax, dotted names
allowed) filled from the request's variables."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Union

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")

Rendered = Union[str, List[Dict[str, str]]]


class RenderError(ValueError):
    """The request cannot be rendered with this prompt (a variable is missing)."""


class NotAPrompt(LookupError):
    """The pinned set has no usable prompt in the configured slot: a configuration problem."""


def placeholders(text: str) -> List[str]:
    """The placeholder names ``text`` uses, in first-use order."""
    seen: Dict[str, None] = {}
    for match in PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


def fill(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with every placeholder replaced; every one must have a value."""
    missing = [name for name in placeholders(text) if name not in variables]
    if missing:
        raise RenderError(f"missing variables: {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: variables[m.group(1)], text)


def render(bundle: Mapping[str, Any], slot: str, variables: Mapping[str, str]) -> Rendered:
    """The prompt in ``slot`` of ``bundle``: a string for a template prompt, a list of
    ``{"role", "content"}`` messages for a chat prompt."""
    component = bundle.get("components", {}).get(slot)
    if not isinstance(component, dict) or component.get("kind") != "prompt":
        raise NotAPrompt(f"the pinned set {bundle.get('id')} has no prompt in slot {slot!r}")
    content = component.get("content") or {}
    if isinstance(content.get("template"), str):
        return fill(content["template"], variables)
    if isinstance(content.get("messages"), list):
        return [{"role": m["role"], "content": fill(m["content"], variables)} for m in content["messages"]]
    raise NotAPrompt(f"the prompt in slot {slot!r} has neither a template nor messages")
