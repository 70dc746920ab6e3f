"""The code location that ``repr-assets ui`` loads (``dagster dev -m`` this module), from
any folder: every data set of the catalog of ``REPR_ASSETS_HOME``, with the declared ones
of ``$REPR_ASSETS_DATASETS`` (or of ``pipelines/datasets.yaml`` under the current folder)."""

from repr_assets.datasets.catalog import declared_file
from repr_assets.home import home_from_environment
from repr_assets.orchestration.definitions import build_location

defs = build_location(home_from_environment(), declared_file())
