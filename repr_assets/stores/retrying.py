"""Trying an action again, with back-off, while it fails for a passing reason: another
process's lock on a DuckDB file, a commit conflict on a LanceDB table."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def retrying(
    attempt: Callable[[], T],
    passing: Callable[[Exception], bool],
    wait: float,
    *,
    on_retry: Callable[[Exception], None] | None = None,
) -> T:
    """``attempt()``, tried again while it raises an error that ``passing`` says will pass,
    for up to ``wait`` seconds; any other error, or one past the deadline, at once.

    The delay doubles from 50 ms up to 1 s, with jitter so that writers who collided once
    do not collide again in step.
    """
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return attempt()
        except Exception as error:
            if not passing(error) or time.monotonic() + delay > deadline:
                raise
            if on_retry is not None:
                on_retry(error)
        time.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, 1.0)
