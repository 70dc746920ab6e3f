"""``repr-assets report``: the latest metrics per data set and encoder, each check with its
floor and where the floor came from, and the encoders side by side."""

from __future__ import annotations

import argparse
import json
from typing import Any

import duckdb

from repr_assets.cli.common import UsageError
from repr_assets.datasets.catalog import Catalog, UnknownDatasetError, declared_file
from repr_assets.datasets.declared import DeclarationError
from repr_assets.home import Home, home_from_environment
from repr_assets.quality.compare import format_rankings, format_value, rank_encoders
from repr_assets.quality.thresholds import BASELINE_ENCODER, report_outcomes
from repr_assets.stores.duckdb_file import connect
from repr_assets.stores.reports import latest_metrics


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
    if latest.empty:
        where = f" for data set {dataset!r}" if dataset else ""
        raise UsageError(f"no quality metrics{where} in {home.reports}")
    if output_format == "json":
        latest["computed_at"] = latest["computed_at"].astype(str)
        # Missing comparisons are NaN in pandas; JSON has null for them.
        print(json.dumps(json.loads(latest.to_json(orient="records")), indent=2))
        return
    print(format_report(latest, catalog))


def format_report(latest: Any, catalog: Catalog | None = None) -> str:
    """The latest metrics as text: a block per data set and encoder, with the change since
    the encoder's previous model version and its checks; then, per data set, the encoders
    side by side."""
    lines: list[str] = []
    # The baselines first: the encoders' checks below are measured against them.
    latest = latest.assign(_first=latest["encoder"] != BASELINE_ENCODER)
    latest = latest.sort_values(["dataset", "_first", "encoder", "metric"], kind="stable")
    for (dataset, _, encoder), group in latest.groupby(
        ["dataset", "_first", "encoder"], sort=False
    ):
        version = group["model_version"].iloc[0]
        previous = group["previous_model_version"].dropna()
        if encoder == BASELINE_ENCODER:
            lines.append(f"{dataset} / baselines on the raw features (featuriser {version})")
        else:
            against = f", change since {previous.iloc[0]}" if len(previous) else ", first version"
            lines.append(f"{dataset} / {encoder}  (model {version}{against})")
        for row in group.itertuples():
            change = "" if row.delta != row.delta else f"{format_value(row.delta, True):>12}"
            lines.append(f"  {row.metric:<34}{format_value(row.value):>12}{change}")
        if encoder != BASELINE_ENCODER:
            lines += _checks(latest, str(dataset), str(encoder), catalog)
        lines.append("")
    for dataset, group in latest.groupby("dataset", sort=True):
        values = {
            str(encoder): dict(zip(rows["metric"], rows["value"], strict=True))
            for encoder, rows in group.groupby("encoder", sort=False)
            if encoder != BASELINE_ENCODER
        }
        if len(values) > 1:
            lines += [format_rankings(str(dataset), rank_encoders(values)), ""]
    return "\n".join(lines).rstrip()


def _checks(latest: Any, dataset: str, encoder: str, catalog: Catalog | None) -> list[str]:
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
    for row in latest[latest["dataset"] == dataset].itertuples():
        values.setdefault(str(row.encoder), {})[str(row.metric)] = float(row.value)
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
