"""Sources: where items come from, read in batches, with unreadable items set aside.

``open_source`` picks the reader of a data set's ``source``: the built-in digits and the
generated data sets (``shapes``, ``swiss_roll``, ``s_curve``), a folder
of images (ImageFolder layout), a folder of IDX files, or a CSV, Parquet or JSONL file.
"""

from __future__ import annotations

from pathlib import Path

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.items.hashing import short_hash
from repr_assets.sources.base import Quarantined, ReadBatch, Source, SourceError
from repr_assets.sources.digits import DigitsSource
from repr_assets.sources.files import TABLE_SUFFIXES
from repr_assets.sources.generated import GENERATED_SOURCES
from repr_assets.sources.idx import IDXFolderSource, looks_like_idx_folder
from repr_assets.sources.images import ImageFolderSource
from repr_assets.sources.records import inspect_record_file
from repr_assets.sources.safety import SourceFile, walk_files


def source_fingerprint(spec: DatasetSpec) -> str:
    """A hash of what the source holds now, from names, sizes and modification times only:
    it changes when a file is added, removed, replaced or appended to."""
    if spec.source is None:
        return short_hash("builtin", spec.name)
    path = Path(spec.source)
    if not path.exists():
        return short_hash("missing", spec.source)
    if path.is_file():
        stat = path.stat()
        return short_hash(path.name, str(stat.st_size), str(stat.st_mtime_ns))
    listing = []
    for entry in walk_files(path, max_bytes=2**62):
        if isinstance(entry, SourceFile):
            stat = entry.path.stat()
            listing.append(f"{entry.ref}\t{stat.st_size}\t{stat.st_mtime_ns}")
    return short_hash("\n".join(listing))


def open_source(spec: DatasetSpec) -> Source:
    """The reader of ``spec``'s source, its columns checked; a ``SourceError`` says why not."""
    if spec.source is None:
        if spec.name == "digits":
            return DigitsSource()
        if spec.name in GENERATED_SOURCES:
            return GENERATED_SOURCES[spec.name]()
        raise SourceError(f"data set {spec.name!r} has no source")
    path = Path(spec.source)
    if not path.exists():
        raise SourceError(f"no such file or folder: {spec.source}")
    if path.is_dir():
        if spec.factor_columns:
            raise SourceError(
                f"{spec.source} is a folder, whose images have no columns to hold factors: "
                "factor columns need a CSV, Parquet or JSONL source"
            )
        if spec.modality != "image":
            raise SourceError(
                f"{spec.source} is a folder, which holds images, not {spec.modality} items"
            )
        if looks_like_idx_folder(path):
            return IDXFolderSource(path, spec.max_item_bytes, spec.max_image_pixels)
        return ImageFolderSource(path, spec.max_item_bytes, spec.max_image_pixels)
    if spec.modality == "image":
        raise SourceError(f"{spec.source} is a file: image sources are folders")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        known = ", ".join(sorted(TABLE_SUFFIXES))
        raise SourceError(f"{spec.source}: unknown file type {path.suffix!r}; use one of {known}")
    return inspect_record_file(
        path,
        spec.modality,
        spec.label_column,
        spec.id_column,
        spec.text_column,
        spec.max_item_bytes,
        spec.factor_columns,
    )


__all__ = [
    "Quarantined",
    "ReadBatch",
    "Source",
    "SourceError",
    "open_source",
    "source_fingerprint",
]
