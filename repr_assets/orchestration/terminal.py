"""The logger of runs started from the terminal: the steps' own lines, nothing else.

It prints what a step logged itself (``  items: 1,797 entries read: ...``) on stderr and
drops Dagster's own events, whose failures carry whole stack traces: ``repr-assets run``
says what failed in one line of its summary instead.
"""

from __future__ import annotations

import logging
import sys

import dagster as dg

from repr_assets.names import step_asset

TERMINAL_LOGGER = "repr_assets_terminal"


@dg.logger(config_schema={}, description="The steps' own lines on stderr, no Dagster events.")
def terminal_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    log = logging.getLogger(TERMINAL_LOGGER)
    log.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_step_lines)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


def _step_lines(record: logging.LogRecord) -> bool:
    """Keep what a step logged itself, as ``step: message``; drop Dagster's own events."""
    meta = getattr(record, "dagster_meta", None)
    if meta is None or meta.get("dagster_event") is not None:
        return False
    step = step_asset(meta.get("step_key") or "")
    record.msg, record.args = f"  {step}: {meta['orig_message']}", ()
    return True
