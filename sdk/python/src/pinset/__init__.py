"""Pinset's Python SDK.

- :class:`Resolver` keeps one environment's pinned bundle in memory and current (``watch``
  stream, ``etag`` polling fallback, backoff, last-known-good cache file); :class:`AsyncResolver`
  is the same for asyncio.
- :class:`Client` makes typed calls: resolve, version sets and bundles, diff, publish, blobs,
  deploy, rollback, rollouts, observations.
- :class:`PinsetError` is the registry's problem+json answer; :class:`RegistryUnreachableError`
  means nothing answered; :class:`ResolverStartError` means a resolver has no first snapshot.

Standard library only. See docs/sdk.md in the Pinset repository.
"""

import logging as _logging

from .aio import AsyncResolver
from .client import Client
from .errors import PinsetError, RegistryUnreachableError, ResolverRefusedError, ResolverStartError
from .models import BlobUpload, Resolution, Snapshot
from .resolver import Resolver

__version__ = "0.1.0"

__all__ = [
    "AsyncResolver",
    "BlobUpload",
    "Client",
    "PinsetError",
    "RegistryUnreachableError",
    "Resolution",
    "Resolver",
    "ResolverRefusedError",
    "ResolverStartError",
    "Snapshot",
]

# A library must not print on its own: warnings reach the application's logging configuration.
_logging.getLogger("pinset").addHandler(_logging.NullHandler())
