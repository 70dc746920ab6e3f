"""One writer per LanceDB table at a time, across threads and processes.

Lance does not see two concurrent ``merge_insert`` s that insert the same new key as a
conflict: each commits, and the table ends up holding the key twice (seen here with 8
processes upserting overlapping ids, with and without a scalar index on the key). So every
write of a table, from the check of its schema to its commit, runs holding that table's
lock: an ``flock`` on a file of the lock folder, which serialises the writers of one
machine, or of every machine that mounts the folder from a volume that honours ``flock``.
The lock is re-entrant within a thread, so a write that calls another (an upsert that
replaces the table) does not wait for itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from repr_assets.home import local_path


@dataclass
class _Held:
    thread_lock: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    handle: IO[str] | None = None


_held: dict[Path, _Held] = {}
_registry = threading.Lock()


def default_lock_folder(uri: str) -> Path:
    """Beside a database on disk (``<uri>.locks``); for one on object storage, a folder
    of this machine's temporary directory named after the URI."""
    path = local_path(uri)
    if path is not None:
        return path.with_name(path.name + ".locks")
    digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "repr-assets-locks" / digest


@contextlib.contextmanager
def table_lock(folder: Path, table: str) -> Iterator[None]:
    """Hold the write lock of ``table`` for the block."""
    path = folder / f"{table}.lock"
    with _registry:
        held = _held.setdefault(path, _Held())
    with held.thread_lock:
        if held.depth == 0:
            folder.mkdir(parents=True, exist_ok=True)
            held.handle = path.open("a")
            fcntl.flock(held.handle, fcntl.LOCK_EX)
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0 and held.handle is not None:
                held.handle.close()  # closing the file releases the flock
                held.handle = None
