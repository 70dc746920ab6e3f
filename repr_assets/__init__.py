"""repr-assets: representation learning and vector search as Dagster assets.

The package root and its core modules never import Dagster; the Dagster layer lives in
``repr_assets.orchestration`` and is imported only by code locations and the CLI.
"""

__version__ = "0.1.0"
