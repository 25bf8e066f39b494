"""Content-addressed file storage for the electronic archive."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class FileStore(Protocol):
    """Stores bytes under their SHA-256 and gives them back."""

    def put(self, data: bytes) -> str:
        """Store the bytes; return their SHA-256 (hex)."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under a SHA-256; FileNotFoundError if absent."""
        ...


class DirectoryStore:
    """Files on disk at ROOT/ab/cd/<sha256>, written atomically and fsynced."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise FileNotFoundError(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store the bytes; return their SHA-256 (hex)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        """The bytes stored under a SHA-256."""
        return self._path(sha256).read_bytes()


class MemoryStore:
    """An in-memory store for tests of code that only needs somewhere to put files."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        """Store the bytes; return their SHA-256 (hex)."""
        digest = hashlib.sha256(data).hexdigest()
        self.files[digest] = data
        return digest

    def get(self, sha256: str) -> bytes:
        """The bytes stored under a SHA-256."""
        try:
            return self.files[sha256]
        except KeyError as exc:
            raise FileNotFoundError(sha256) from exc
