"""The repr-assets code location: the graph of every built-in data set, of every data set
declared in ``pipelines/datasets.yaml``, and of every data set that
``repr-assets run --source`` declared in this home.

The home folder is read from ``REPR_ASSETS_HOME`` here, once, because it is process-level
configuration: the Dagster instance itself (``DAGSTER_HOME``) lives inside it.
"""

from pathlib import Path

import dagster as dg

from repr_assets.datasets import BUILTIN_DATASETS, stored_datasets
from repr_assets.declared import load_declared
from repr_assets.home import home_from_environment
from repr_assets.orchestration import build_definitions

DECLARED = Path(__file__).with_name("datasets.yaml")

home = home_from_environment()
declared = load_declared(DECLARED)
# A name declared in the YAML wins over the spec an earlier `run --source` stored.
names = {d.spec.name for d in declared} | set(BUILTIN_DATASETS)
specs = [
    *BUILTIN_DATASETS.values(),
    *(d.spec for d in declared),
    *(s for s in stored_datasets(home.models) if s.name not in names),
]
defs: dg.Definitions = build_definitions(
    specs, home, {d.spec.name: d.refit_schedule for d in declared if d.refit_schedule}
)
