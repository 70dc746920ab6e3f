"""The repository's code location (``workspace.yaml``): every data set of the catalog of
``REPR_ASSETS_HOME``, with those declared in ``pipelines/datasets.yaml`` beside this file.

The home folder is read from ``REPR_ASSETS_HOME`` here, once, because it is process-level
configuration: the Dagster instance itself (``DAGSTER_HOME``) lives inside it.
"""

from pathlib import Path

import dagster as dg

from repr_assets.home import home_from_environment
from repr_assets.orchestration.definitions import build_location

DECLARED = Path(__file__).with_name("datasets.yaml")

defs: dg.Definitions = build_location(home_from_environment(), DECLARED)
