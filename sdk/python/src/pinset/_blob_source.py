"""What ``Client.put_blob`` uploads: bytes, a file path or a binary file object, with its sha256
and size known before the first byte is sent (the digest is in the URL, the size is
``content-length`` so an oversized blob is refused before it is streamed)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from typing import IO, Any, Iterator, Optional, Protocol, Tuple, Union

CHUNK = 1024 * 1024

class BinaryReader(Protocol):
    """A binary file object, or anything with ``read(size) -> bytes`` (a pipe, a socket file)."""

    def read(self, size: int = -1, /) -> Optional[bytes]:
        """Up to ``size`` bytes; empty at the end."""
        ...


#: What ``put_blob`` uploads. A ``str`` is always a path, never content: pass ``bytes`` for content.
BlobSource = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", BinaryReader]


class Blob:
    """Bytes ready to stream: ``digest`` (``sha256:<hex>``), ``size`` and ``chunks()``."""

    def __init__(self, digest: str, size: int, reader: Optional[BinaryReader], data: Optional[bytes] = None) -> None:
        self.digest = digest
        self.size = size
        self._reader = reader
        self._data = data

    def chunks(self) -> Iterator[bytes]:
        """The bytes in chunks of at most 1 MiB; stops at ``size`` even if the source grew."""
        if self._data is not None:
            view = memoryview(self._data)
            for start in range(0, len(view), CHUNK):
                yield bytes(view[start : start + CHUNK])
            return
        assert self._reader is not None
        left = self.size
        while left > 0:
            chunk = self._reader.read(min(CHUNK, left))
            if not chunk:
                raise OSError(f"the blob source ended {left} bytes early (it changed while uploading)")
            left -= len(chunk)
            yield chunk


def _hash_stream(reader: BinaryReader, sink: Optional[IO[bytes]] = None) -> Tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = reader.read(CHUNK)
        if not chunk:
            break
        if not isinstance(chunk, (bytes, bytearray)):
            raise TypeError("put_blob needs a binary file object (opened with 'rb')")
        digest.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink.write(chunk)
    return f"sha256:{digest.hexdigest()}", size


@contextlib.contextmanager
def open_blob(data: BlobSource, digest: Optional[str] = None) -> Iterator[Blob]:
    """Prepares ``data`` for upload; ``digest`` given by the caller is trusted here (the registry checks it)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        yield Blob(digest or f"sha256:{hashlib.sha256(raw).hexdigest()}", len(raw), None, raw)
        return
    if isinstance(data, (str, os.PathLike)):
        with open(os.fspath(data), "rb") as handle:
            if digest is None:
                digest, size = _hash_stream(handle)
                handle.seek(0)
            else:
                size = os.fstat(handle.fileno()).st_size
            yield Blob(digest, size, handle)
        return
    if not callable(getattr(data, "read", None)):
        raise TypeError(f"put_blob takes bytes, a path or a binary file object (got {type(data).__name__})")
    reader: BinaryReader = data
    try:
        seekable = bool(getattr(reader, "seekable")())
    except (AttributeError, OSError, ValueError):
        seekable = False
    if seekable:
        start = getattr(reader, "tell")()
        found, size = _hash_stream(reader)
        getattr(reader, "seek")(start)
        yield Blob(digest or found, size, reader)
        return
    # A pipe or socket can be read once: spool it to disk while hashing, then stream the copy.
    with tempfile.TemporaryFile() as spool:
        found, size = _hash_stream(reader, spool)
        spool.seek(0)
        yield Blob(digest or found, size, spool)
