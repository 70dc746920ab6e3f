"""The repr-assets code location: the graph of every built-in data set.

The home folder is read from ``REPR_ASSETS_HOME`` here, once, because it is process-level
configuration: the Dagster instance itself (``DAGSTER_HOME``) lives inside it.
"""

import dagster as dg

from repr_assets.datasets import BUILTIN_DATASETS
from repr_assets.home import home_from_environment
from repr_assets.orchestration import build_definitions

defs: dg.Definitions = build_definitions(list(BUILTIN_DATASETS.values()), home_from_environment())
