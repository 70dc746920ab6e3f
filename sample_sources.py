"""Small real sources that tests and benchmarks write for themselves."""

from __future__ import annotations

import csv
import gzip
import io
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image
from sklearn.datasets import load_digits

TOPICS = {
    "sport": "match goal team coach season player league score stadium referee win cup",
    "food": "recipe oven flour sugar dinner taste spicy garlic bake kitchen salad soup",
    "tech": "software laptop chip code server network battery screen update cloud app data",
    "travel": "flight hotel beach passport journey train island museum luggage map tour trip",
}


def gaussian_blobs(
    n: int = 240, d: int = 6, n_classes: int = 4, spread: float = 1.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Gaussian blobs ``(n, d)`` float32 and their classes: continuous values,
    so no exact distance ties."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(n_classes, d))
    y = rng.integers(0, n_classes, size=n)
    Z = centres[y] + spread * rng.normal(size=(n, d))
    return Z.astype(np.float32), y


def digit_images(count: int, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """``count`` scikit-learn digits as ``(count, size, size)`` uint8 images, and labels."""
    bunch = load_digits()
    pixels = np.rint(bunch.images[:count] * (255.0 / 16.0)).astype(np.uint8)
    images = np.stack(
        [
            np.asarray(Image.fromarray(p).resize((size, size), Image.Resampling.BILINEAR))
            for p in pixels
        ]
    )
    return images, bunch.target[:count]


def write_image_folder(root: Path, count: int = 200, size: int = 16) -> Path:
    """PNG digits in class folders ``root/<digit>/<n>.png`` (the ImageFolder layout)."""
    images, labels = digit_images(count, size)
    for n, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{n:05d}.png")
    return root


def write_idx(root: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    """``PREFIX-images-idx3-ubyte`` and ``PREFIX-labels-idx1-ubyte``, gzipped if ``gz``."""
    root.mkdir(parents=True, exist_ok=True)
    count, height, width = images.shape
    image_bytes = (
        struct.pack(">HBBIII", 0, 8, 3, count, height, width) + images.astype(np.uint8).tobytes()
    )
    label_bytes = struct.pack(">HBBI", 0, 8, 1, count) + labels.astype(np.uint8).tobytes()
    suffix = ".gz" if gz else ""
    opener = gzip.open if gz else open
    with opener(root / f"{prefix}-images-idx3-ubyte{suffix}", "wb") as handle:
        handle.write(image_bytes)
    with opener(root / f"{prefix}-labels-idx1-ubyte{suffix}", "wb") as handle:
        handle.write(label_bytes)


def topic_sentences(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` (sentence, topic) pairs: 6-10 words of one topic with a few common words."""
    rng = np.random.default_rng(seed)
    common = ["the", "a", "of", "and", "to", "in", "is", "was", "it", "very", "really"]
    rows = []
    names = sorted(TOPICS)
    for n in range(count):
        topic = names[n % len(names)]
        words = list(rng.choice(TOPICS[topic].split(), size=rng.integers(4, 8)))
        words += list(rng.choice(common, size=3))
        rng.shuffle(words)
        rows.append((" ".join(words).capitalize() + f" ({n})", topic))
    return rows


def write_text_csv(path: Path, count: int = 240, seed: int = 0) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "topic", "stars"])
        for n, (sentence, topic) in enumerate(topic_sentences(count, seed)):
            writer.writerow([sentence, topic, n % 5 + 1])
    return path


def tabular_rows(count: int, seed: int = 0) -> pa.Table:
    """Three classes of rows: numeric columns around class centres, a correlated category,
    a few missing values."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 3
    centres = np.array([[0.0, 5.0, -2.0], [3.0, 1.0, 2.0], [-3.0, -4.0, 0.0]])
    numbers = centres[labels] + rng.normal(0, 0.7, size=(count, 3))
    colour = np.array(["red", "green", "blue"])[labels]
    flip = rng.random(count) < 0.1
    colour[flip] = "grey"
    width = numbers[:, 2].tolist()
    for row in range(0, count, 17):
        width[row] = None
    return pa.table(
        {
            "height": numbers[:, 0],
            "weight": numbers[:, 1],
            "width": pa.array(width, pa.float64()),
            "colour": colour,
            "species": [f"s{label}" for label in labels],
        }
    )


def write_parquet(path: Path, count: int = 300, seed: int = 0) -> Path:
    pq.write_table(tabular_rows(count, seed), path)
    return path


# Topics told apart by meaning rather than by shared words: each sentence draws two of
# many topic words, so a test sentence often has none of the words its class was fitted on.
SEMANTIC_TOPICS = {
    "animals": "dog cat horse rabbit parrot tiger elephant giraffe wolf dolphin owl hamster "
    "kitten puppy lion zebra monkey squirrel eagle turtle",
    "cooking": "oven recipe soup bread pasta frying baking spices garlic onion dough sauce "
    "stew roast vegetables saucepan omelette flour butter dessert",
    "weather": "rain snow storm thunder sunshine fog hail wind drizzle blizzard humidity "
    "forecast clouds temperature frost heatwave breeze lightning monsoon hurricane",
    "computers": "laptop keyboard software processor memory compiler server database "
    "monitor programmer browser algorithm network firmware mouse printer chip "
    "spreadsheet website password",
    "sport": "football tennis goalkeeper marathon referee tournament basketball stadium "
    "swimmer cyclist umpire coach athlete trophy league hockey sprint skiing rugby golf",
}
TEMPLATES = [
    "I keep thinking about the {a} and the {b}.",
    "Yesterday we talked about {a}, and later about {b}.",
    "Nobody expected the {a} to matter so much, nor the {b}.",
    "There was a long story about a {a} near the {b}.",
    "My neighbour only wants to discuss {a} and {b}.",
    "The article mentioned the {a} twice and the {b} once.",
]


def semantic_topic_sentences(count: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    names = sorted(SEMANTIC_TOPICS)
    rows = []
    for n in range(count):
        topic = names[n % len(names)]
        a, b = rng.choice(SEMANTIC_TOPICS[topic].split(), size=2, replace=False)
        rows.append((TEMPLATES[rng.integers(len(TEMPLATES))].format(a=a, b=b), topic))
    return rows


def write_semantic_csv(path: Path, count: int = 300, seed: int = 0) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence", "topic"])
        writer.writerows(semantic_topic_sentences(count, seed))
    return path


def png_bytes(size: int = 8, value: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_rows(path: Path, count: int, start: int = 0) -> Path:
    """``count`` rows of three classes (rows ``start`` on), as a CSV with a label."""
    table = tabular_rows(start + count).slice(start)
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(table.column_names)
        for row in table.to_pylist():
            writer.writerow(["" if v is None else v for v in row.values()])
    return path


def embedding_batches(
    item_ids: list[str],
    labels: list[str | None],
    vectors: np.ndarray,
    model_version: str = "v1",
    splits: list[str | None] | None = None,
    rows: int = 8192,
) -> Iterator[pa.RecordBatch]:
    """Rows of an embeddings table (``embedding_schema``), ``rows`` a batch."""
    from repr_assets.items.schemas import vector_array
    from repr_assets.pipeline.embed import embedding_schema

    schema = embedding_schema(vectors.shape[1])
    for start in range(0, len(item_ids), rows):
        stop = min(start + rows, len(item_ids))
        size = stop - start
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(item_ids[start:stop], pa.string()),
                pa.array(labels[start:stop], pa.string()),
                pa.array(splits[start:stop] if splits else [None] * size, pa.string()),
                vector_array(vectors[start:stop]),
                pa.array([model_version] * size, pa.string()),
                pa.array(["run-1"] * size, pa.string()),
            ],
            schema=schema,
        )
