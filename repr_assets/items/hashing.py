"""Short, stable content hashes used for ids and versions."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any


def short_hash(*parts: str | bytes | memoryview, length: int = 12) -> str:
    """Hex digest of ``parts``; each part is length-prefixed so that ("ab", "c") != ("a", "bc").

    A part may be a ``memoryview`` of bytes (an array's buffer), hashed without a copy."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        digest.update(size.to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:length]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal parameters hash equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def model_version(kind: str, params: dict[str, Any], data_version: str) -> str:
    """A model version: the encoder kind, its parameters and the data it was fitted on."""
    return short_hash(kind, canonical_json(params), data_version)


def package_version() -> str:
    """The installed repr-assets version: a new release may compute things differently."""
    try:
        return version("repr-assets")
    except PackageNotFoundError:
        return "unknown"
