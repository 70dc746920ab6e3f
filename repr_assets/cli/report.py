"""``repr-assets report``: the latest metrics per data set and encoder, each check with its
floor and where the floor came from, and the encoders side by side."""

from __future__ import annotations

import argparse
import dataclasses
import json

import duckdb

from repr_assets.cli.common import UsageError
from repr_assets.datasets.catalog import Catalog, declared_file
from repr_assets.datasets.errors import DeclarationError, UnknownDatasetError
from repr_assets.home import Home, home_from_environment
from repr_assets.quality.compare import format_rankings, format_value, rank_encoders
from repr_assets.quality.thresholds import BASELINE_ENCODER, report_outcomes
from repr_assets.stores.duckdb_file import connect
from repr_assets.stores.reports import MetricChange, latest_metrics


def main(args: argparse.Namespace) -> int:
    home = home_from_environment()
    if not home.reports.exists():
        raise UsageError(f"no reports under {home.root} yet: run `repr-assets run` first")
    print_report(home, args.dataset, args.format, Catalog(home, declared_file()))
    return 0


def print_report(home: Home, dataset: str | None, output_format: str, catalog: Catalog) -> None:
    try:
        with connect(home.reports, read_only=True) as connection:
            latest = latest_metrics(connection, dataset)
    except duckdb.IOException as error:
        raise UsageError(f"cannot read {home.reports} (is a run writing it?): {error}") from None
    if not latest:
        where = f" for data set {dataset!r}" if dataset else ""
        raise UsageError(f"no quality metrics{where} in {home.reports}")
    if output_format == "json":
        records = [dataclasses.asdict(row) for row in latest]
        print(json.dumps(records, indent=2, default=str))
        return
    print(format_report(latest, catalog))


def format_report(latest: list[MetricChange], catalog: Catalog | None = None) -> str:
    """The latest metrics as text: a block per data set and encoder, with the change since
    the encoder's previous model version and its checks; then, per data set, the encoders
    side by side."""
    lines: list[str] = []
    # The baselines first: the encoders' checks below are measured against them.
    blocks: dict[tuple[str, bool, str], list[MetricChange]] = {}
    for row in sorted(latest, key=lambda r: (r.dataset, r.encoder != BASELINE_ENCODER)):
        blocks.setdefault((row.dataset, row.encoder != BASELINE_ENCODER, row.encoder), [])
        blocks[(row.dataset, row.encoder != BASELINE_ENCODER, row.encoder)].append(row)
    for (dataset, _, encoder), group in blocks.items():
        version = group[0].model_version
        previous = [r.previous_model_version for r in group if r.previous_model_version]
        if encoder == BASELINE_ENCODER:
            lines.append(f"{dataset} / baselines on the raw features (featuriser {version})")
        else:
            against = f", change since {previous[0]}" if previous else ", first version"
            lines.append(f"{dataset} / {encoder}  (model {version}{against})")
        for row in group:
            change = "" if row.delta is None else f"{format_value(row.delta, True):>12}"
            lines.append(f"  {row.metric:<34}{format_value(row.value):>12}{change}")
        if encoder != BASELINE_ENCODER:
            lines += _checks(latest, dataset, encoder, catalog)
        lines.append("")
    for dataset in sorted({row.dataset for row in latest}):
        values: dict[str, dict[str, float]] = {}
        for row in latest:
            if row.dataset == dataset and row.encoder != BASELINE_ENCODER:
                values.setdefault(row.encoder, {})[row.metric] = row.value
        if len(values) > 1:
            lines += [format_rankings(dataset, rank_encoders(values)), ""]
    return "\n".join(lines).rstrip()


def _checks(
    latest: list[MetricChange], dataset: str, encoder: str, catalog: Catalog | None
) -> list[str]:
    """Each check of ``encoder``: value, floor, verdict and where the floor came from."""
    if catalog is None:
        return []
    try:
        thresholds = catalog.get(dataset).thresholds
    except UnknownDatasetError:  # dropped since: its history stays, its floors are gone
        return []
    except DeclarationError as error:  # its YAML entry is broken: say so, show the rest
        return [f"  checks: not shown: {error}"]
    values: dict[str, dict[str, float]] = {}
    for row in latest:
        if row.dataset == dataset:
            values.setdefault(row.encoder, {})[row.metric] = row.value
    outcomes = report_outcomes(values, thresholds, encoder)
    lines = ["  checks"]
    width = max(len(outcome.check) for outcome in outcomes) + 2
    for outcome in outcomes:
        if outcome.value is None or outcome.minimum is None:
            shown = (
                "not computed"
                if outcome.value is None
                else f"{format_value(outcome.value)}, no floor"
            )
            lines.append(f"    {outcome.check:<{width}}{shown} ({outcome.source})")
            continue
        verdict = "pass" if outcome.passed else "FAIL"
        lines.append(
            f"    {outcome.check:<{width}}{format_value(outcome.value)} >= "
            f"{format_value(outcome.minimum)}  {verdict}"
            f"  ({outcome.source})"
        )
    return lines
