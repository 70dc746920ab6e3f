"""Encoders side by side: for each metric, every encoder's value and their order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Metrics where a smaller value is the better one; for every other metric, larger is better.
LOWER_IS_BETTER = frozenset({"davies_bouldin", "reconstruction_mse"})


def format_value(value: float, signed: bool = False) -> str:
    """A metric as reports print it: four decimals, or four significant digits below 0.01,
    where four decimals would hide it (a text autoencoder's error near 2e-4 read 0.0002)."""
    sign = "+" if signed else ""
    if value != 0 and abs(value) < 0.01:
        return f"{value:{sign}.3e}"
    return f"{value:{sign}.4f}"


@dataclass(frozen=True)
class MetricRanking:
    metric: str
    values: dict[str, float | None]
    order: list[str]
    """Encoders that have the metric, best first."""
    sign: float = -1.0

    @property
    def best(self) -> str | None:
        return self.order[0] if self.order else None

    def rank(self, encoder: str) -> int:
        """1 + the number of encoders strictly better as printed: values that print alike
        (0.9988 and 0.9988) tie, so a table never ranks what it shows as equal."""
        value = self.values[encoder]
        assert value is not None
        shown = float(format_value(value))
        return 1 + sum(
            self.sign * float(format_value(other)) < self.sign * shown
            for other in self.values.values()
            if other is not None
        )


def rank_encoders(values: Mapping[str, Mapping[str, float]]) -> list[MetricRanking]:
    """``values[encoder][metric]`` as one ranking per metric, metrics in name order."""
    encoders = list(values)
    metrics = sorted({metric for by_metric in values.values() for metric in by_metric})
    rankings = []
    for metric in metrics:
        present = {e: values[e][metric] for e in encoders if metric in values[e]}
        sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
        order = sorted(present, key=lambda e: (sign * present[e], encoders.index(e)))
        current = {e: values[e].get(metric) for e in encoders}
        rankings.append(MetricRanking(metric, current, order, sign))
    return rankings


def format_rankings(dataset: str, rankings: list[MetricRanking]) -> str:
    """A text table: a row per metric, a column per encoder (value and rank), the best."""
    if not rankings:
        return ""
    encoders = list(rankings[0].values)
    cells = [
        [
            "-"
            if (value := ranking.values[e]) is None
            else f"{format_value(value)} ({ranking.rank(e)})"
            for e in encoders
        ]
        for ranking in rankings
    ]
    # Wide enough for every cell plus two spaces: 3141.5066 (2) must not touch its neighbour.
    width = max(12, *(len(e) + 2 for e in encoders), *(len(c) + 2 for row in cells for c in row))
    lines = [
        f"{dataset}: encoders side by side (rank in brackets; lower is better for "
        f"{', '.join(sorted(LOWER_IS_BETTER))})",
        f"  {'metric':<34}" + "".join(f"{e:>{width}}" for e in encoders) + "  best",
    ]
    for ranking, row in zip(rankings, cells, strict=True):
        shown = "".join(f"{cell:>{width}}" for cell in row)
        lines.append(f"  {ranking.metric:<34}" + shown + f"  {ranking.best or '-'}")
    return "\n".join(lines)
