"""Sets of string ids as 64-bit hashes: membership and repeats without a Python object per id.

A million ids in a Python set take about 100 MiB, besides a Python string per id; their
hashes take 8 MB, and NumPy sorts and searches them in bulk. Equal hashes are confirmed
on the strings themselves, so a collision never gives a wrong answer.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HASH_BASE = np.uint64(0x100000001B3)  # the 64-bit FNV prime: odd, so powers never vanish
_HASH_COLUMNS_UP_TO = 64  # longest ids of one length hashed column by column


def hash_strings(strings: pa.Array) -> np.ndarray:
    """A 64-bit polynomial hash of each string, in NumPy over Arrow's buffers.

    Hashing 500k ids this way takes a fraction of what Arrow's own hash table (``unique``,
    ``count_distinct``) or a Python set takes here. Equal strings hash equal; unequal ones
    rarely collide, so callers compare the strings of equal hashes (``IdSet.contains``,
    the store's check for repeated ids) before they answer.
    """
    if strings.type != pa.string():
        strings = strings.cast(pa.string())  # 32-bit offsets, read below
    offsets = np.frombuffer(strings.buffers()[1], np.int32)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    start, stop = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    if stop == start:
        return np.zeros(len(strings), np.uint64)
    data = np.frombuffer(strings.buffers()[2], np.uint8)[start:stop]
    width = int(lengths.max())
    powers = np.cumprod(np.full(width, _HASH_BASE, np.uint64))
    if width <= _HASH_COLUMNS_UP_TO and int(lengths.min()) == width:
        # Ids of one length (counters, digests): a column of bytes at a time, 3x faster.
        sums = np.zeros(len(strings), np.uint64)
        for column, byte in enumerate(data.reshape(len(strings), width).T):
            sums += byte.astype(np.uint64) * powers[column]
    else:
        starts = offsets[:-1] - start
        # Each byte's place in its string, to weigh it by base ** place.
        place = np.arange(stop - start) - np.repeat(starts, lengths)
        # A trailing 0 lets every start index the array, empty strings at the end included.
        terms = np.append(data.astype(np.uint64) * powers[place], np.uint64(0))
        sums = np.add.reduceat(terms, starts)
        sums[lengths == 0] = 0  # reduceat gives a term, not 0, for an empty string
    return sums * _HASH_BASE + lengths.astype(np.uint64)


class IdSet:
    """A fixed set of string ids, hashed once, asked about batch after batch.

    ``pc.is_in`` builds a hash table of its whole value set on every call: against a
    million current ids, that is 0.4 s for each 8k-row batch, most of an incremental run.
    """

    def __init__(self, ids: pa.Array) -> None:
        hashes = hash_strings(ids)
        self.order = np.argsort(hashes)
        self.hashes = hashes[self.order]
        self.ids = ids

    def contains(self, values: pa.Array) -> np.ndarray:
        """Whether each of ``values`` is in the set, as a boolean mask."""
        found = np.zeros(len(values), bool)
        hashes = hash_strings(values)
        first = np.searchsorted(self.hashes, hashes)
        # Compare the strings of every set entry of an equal hash: almost always one.
        pending = np.arange(len(values))
        step = 0
        while len(pending):
            at = first[pending] + step
            same_hash = at < len(self.hashes)
            same_hash[same_hash] = self.hashes[at[same_hash]] == hashes[pending[same_hash]]
            pending, at = pending[same_hash], at[same_hash]
            candidates = self.ids.take(pa.array(self.order[at]))
            equal = pc.equal(values.take(pa.array(pending)), candidates)
            hit = equal.fill_null(False).to_numpy(zero_copy_only=False)
            found[pending[hit]] = True
            pending = pending[~hit]
            step += 1
        return found
