"""The code location that ``workspace.yaml`` loads."""
