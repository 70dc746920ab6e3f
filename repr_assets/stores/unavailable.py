"""The error of a store that cannot be opened at all (a bucket that does not exist, wrong
credentials, no such server): one line naming the store and what its service said.

Kept apart from the stores, so that the command line can catch it without importing them.
"""

from __future__ import annotations

import re

_S3_ERROR = re.compile(r"<Code>([^<]+)</Code>\s*<Message>([^<]+)</Message>")
# What the object store's nested error says deep inside, that a person can act on.
_CAUSES = re.compile(
    r"(Connection refused|HTTP is not allowed|dns error[^,}\"]*|timed out|"
    r"failed to lookup address information[^,}\"]*|Unable to access[^,}\"]*|"
    r"[Pp]ermission denied|No such file or directory)"
)
_URL = re.compile(r"uri: Some\((https?://[^/)\s]+)")


class StoreUnavailableError(Exception):
    """``where`` cannot be opened; ``error`` is what the library raised."""

    def __init__(self, where: str, error: Exception) -> None:
        super().__init__(f"cannot open the LanceDB database {where}: {_reason(error)}")


def _reason(error: Exception) -> str:
    text = str(error)
    found = _S3_ERROR.search(text)
    if found:
        return f"{found.group(1)}: {found.group(2)}"
    cause = _CAUSES.search(text)
    if cause:
        url = _URL.search(text)
        return cause.group(1) + (f" ({url.group(1)})" if url else "")
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return first if len(first) <= 300 else first[:300] + "..."
