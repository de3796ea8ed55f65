"""sha256 of model files, with a small on-disk cache so startup does not re-hash 300 MB.

The cache (``.verify-cache.json`` in the models directory) maps an absolute path to the
digest last computed for it, keyed on (size, mtime_ns, ctime_ns, inode). Any write to the
file changes ctime, which user code cannot set back, so a modified file is always re-hashed.
Cache write failures (read-only models dir) are ignored: verification still works, uncached.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_NAME = ".verify-cache.json"
_CACHE_VERSION = 1


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class HashCache:
    """Digest cache persisted as JSON; thread-safe, loaded lazily, saved after each update."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._entries: dict[str, dict[str, object]] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, object]]:
        if self._entries is None:
            self._entries = {}
            if self._path is not None and self._path.exists():
                try:
                    raw = json.loads(self._path.read_text())
                    if raw.get("version") == _CACHE_VERSION:
                        self._entries = dict(raw.get("entries", {}))
                except (OSError, ValueError, AttributeError) as e:
                    log.warning("ignoring unreadable hash cache %s: %s", self._path, e)
        return self._entries

    def digest(self, path: Path, full: bool = False) -> str:
        """sha256 of ``path``; served from the cache unless ``full`` or the file changed."""
        key = str(path.resolve())
        st = path.stat()
        with self._lock:
            hit = self._load().get(key)
        if not full and hit is not None and hit.get("stat") == _stat_key(st):
            return str(hit["sha256"])
        digest = sha256_file(path)
        st_after = path.stat()
        if _stat_key(st_after) == _stat_key(st):  # not modified while hashing
            with self._lock:
                self._load()[key] = {"stat": _stat_key(st), "sha256": digest}
                self._save()
        return digest

    def _save(self) -> None:
        if self._path is None or self._entries is None:
            return
        tmp = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"version": _CACHE_VERSION, "entries": self._entries}))
            os.replace(tmp, self._path)
        except OSError as e:
            log.debug("hash cache not saved (%s): %s", self._path, e)
            tmp.unlink(missing_ok=True)
