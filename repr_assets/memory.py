"""Handing freed memory back to the operating system between the steps of a run.

Arrow's allocator (mimalloc) and glibc's ``malloc`` both keep memory that was freed for
reuse. After a step that streamed a million rows through Arrow and LanceDB, that cache is
hundreds of MiB that the next step's own arrays are then stacked on, so the run's peak
grows with every step. Releasing it at step boundaries keeps each step's peak its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

import pyarrow as pa


def release_free_memory(collect: bool = True) -> None:
    """Return cached free memory of Arrow's pool and of the C heap to the system.

    ``collect`` first runs the cycle collector, which frees arrays held only by reference
    cycles; it walks every tracked object (about a second in a process that has imported
    Dagster and torch, on a loaded machine), so a caller whose garbage is freed by
    reference counting alone passes ``False``.
    """
    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], Any] | None:
    """glibc's ``malloc_trim``, or ``None`` where there is none (macOS, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], Any] = libc.malloc_trim
        return trim
    except (OSError, AttributeError):
        return None
