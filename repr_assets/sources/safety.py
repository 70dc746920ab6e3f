"""Walking a source folder safely: nothing outside its root, nothing too large."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from repr_assets.sources.base import Quarantined


@dataclass(frozen=True)
class SourceFile:
    """A regular file inside the root: its path and its root-relative, '/'-separated ref."""

    path: Path
    ref: str
    size: int


def walk_files(
    root: Path, max_bytes: int, recursive: bool = True
) -> Iterator[SourceFile | Quarantined]:
    """Every regular file under ``root`` in sorted order, or why it is set aside.

    Symbolic links are followed only when they resolve inside ``root``; linked folders are
    never descended into, so a link cannot make the walk loop. A file over ``max_bytes`` is
    refused from its size on disk, before it is opened. Hidden files are skipped.
    """
    root = root.resolve()
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        here = Path(folder)
        for name in list(dirs):
            path = here / name
            if name.startswith(".") or not recursive:
                dirs.remove(name)
            elif path.is_symlink():
                dirs.remove(name)
                if not _inside(path.resolve(), root):
                    yield Quarantined(_ref(path, root), "symlink pointing outside the source root")
        for name in sorted(files):
            if name.startswith("."):
                continue
            yield _checked(here / name, root, max_bytes)


def _checked(path: Path, root: Path, max_bytes: int) -> SourceFile | Quarantined:
    ref = _ref(path, root)
    if path.is_symlink():
        target = path.resolve()
        if not _inside(target, root):
            return Quarantined(ref, "symlink pointing outside the source root")
    try:
        stat = path.stat()
    except OSError as error:
        return Quarantined(ref, f"cannot read: {error.strerror or error}")
    if not path.is_file():
        return Quarantined(ref, "not a regular file")
    if stat.st_size > max_bytes:
        return Quarantined(ref, f"too large: {stat.st_size:,} bytes, the limit is {max_bytes:,}")
    return SourceFile(path, ref, stat.st_size)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _ref(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing to read more than ``max_bytes`` (the file may have grown)."""
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"too large: over {max_bytes:,} bytes")
    return data
