"""Text tables for the terminal: columns as wide as their widest cell."""

from __future__ import annotations

from collections.abc import Sequence


def aligned(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """``header`` and ``rows`` as lines of columns separated by two spaces; a column is
    right-aligned where ``right`` says so (numbers), else left-aligned. The last column is
    not padded, so long values (paths) do not leave trailing blanks."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(width) if is_right else cell.ljust(width)
            for cell, width, is_right in zip(row, widths, right, strict=True)
        ]
        if not right[-1]:
            cells[-1] = row[-1]
        lines.append("  ".join(cells))
    return "\n".join(lines)
