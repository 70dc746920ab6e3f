"""The repr-assets code location: the graph of every built-in data set, and of every data
set that ``repr-assets run --source`` declared in this home.

The home folder is read from ``REPR_ASSETS_HOME`` here, once, because it is process-level
configuration: the Dagster instance itself (``DAGSTER_HOME``) lives inside it.
"""

import dagster as dg

from repr_assets.datasets import BUILTIN_DATASETS, stored_datasets
from repr_assets.home import home_from_environment
from repr_assets.orchestration import build_definitions

home = home_from_environment()
defs: dg.Definitions = build_definitions(
    [*BUILTIN_DATASETS.values(), *stored_datasets(home.models)], home
)
