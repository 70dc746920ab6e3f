"""The pipeline's steps as plain functions: what each Dagster asset, the CLI and a notebook
call. No Dagster here."""
