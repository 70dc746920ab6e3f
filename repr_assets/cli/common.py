"""What every command shares: the error that becomes one line, and argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2, nothing written."""


def integer(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse


def number(minimum: float, maximum: float | None = None) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[minimum, maximum]``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = None
        in_range = value is not None and value == value and value >= minimum
        if in_range and maximum is not None:
            in_range = value is not None and value <= maximum
        if not in_range:
            bounds = f"in [{minimum:g}, {maximum:g}]" if maximum is not None else f">= {minimum:g}"
            raise argparse.ArgumentTypeError(f"expected a number {bounds}, got {text!r}")
        assert value is not None
        return value

    return parse
