"""A Dagster Component: the whole graph of one data set, declared in a ``defs.yaml``.

    # defs/reviews/defs.yaml, in a project laid out for ``dg``
    type: repr_assets.orchestration.component.RepresentationDataset
    attributes:
      name: reviews
      dataset:
        source: reviews.csv             # relative to this defs.yaml
        modality: text
        text_column: review
        label_column: topic
        encoders: [pca, autoencoder]
        refit_schedule: "0 3 * * 0"

``dataset`` holds the fields of a data set in ``pipelines/datasets.yaml`` (see
``repr_assets.datasets.declared``), checked the same way. The home folder is ``REPR_ASSETS_HOME``.
"""

from typing import Any

import dagster as dg
from pydantic import Field

from repr_assets.datasets.catalog import Catalog, RunOptions
from repr_assets.datasets.declared import declared_dataset
from repr_assets.home import home_from_environment
from repr_assets.orchestration.definitions import build_definitions


class RepresentationDataset(dg.Component, dg.Model, dg.Resolvable):
    """Items, features, a model and embeddings per encoder, the quality report, the served
    embeddings, a job, a refit schedule and (with a source) a landing sensor."""

    name: str
    dataset: dict[str, Any] = Field(default_factory=dict)

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        declared = declared_dataset(context.path / "defs.yaml", self.name, self.dataset)
        crons = {self.name: declared.refit_schedule} if declared.refit_schedule else {}
        home = home_from_environment()
        # The options earlier runs of it were given, as the catalog applies them elsewhere.
        stored = Catalog(home).stored_run_options(self.name) or RunOptions()
        return build_definitions([stored.apply(declared.spec)], home, crons)
