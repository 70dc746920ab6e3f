"""What every command shares: the error that becomes one line, and argument types."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2, nothing written."""


def integer(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum`` (and at most ``maximum``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum:,}"
            raise argparse.ArgumentTypeError(f"expected an integer {bounds}, got {text!r}")
        return value

    return parse


def number(
    minimum: float, maximum: float | None = None, exclusive: bool = False
) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[minimum, maximum]`` (above ``minimum`` when
    ``exclusive``)."""
    top = math.inf if maximum is None else maximum

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        above = value > minimum if exclusive else value >= minimum
        if not (above and value <= top and math.isfinite(value)):
            low = f"> {minimum:g}" if exclusive else f">= {minimum:g}"
            bounds = f"{low} and <= {top:g}" if maximum is not None else low
            raise argparse.ArgumentTypeError(f"expected a number {bounds}, got {text!r}")
        return value

    return parse
