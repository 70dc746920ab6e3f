"""Text featuriser: bag of words and n-grams, TF-IDF or hashed, sublinear, L2-normalised."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer
from sklearn.preprocessing import normalize

from repr_assets.items.augment import Augmentation, word_dropout
from repr_assets.items.hashing import canonical_json, short_hash
from repr_assets.schema import (
    MAX_FEATURES,
    MAX_NGRAM,
    integer,
    list_of,
    object_of,
    one_of,
    optional,
    string,
)
from repr_assets.stores.model_files import MAX_FEATURISER_JSON_BYTES, ModelFileError, read_params
from repr_assets.stores.saved_arrays import ArraySpec, read_npy

SAVED_STATE = {
    "params": object_of(
        {
            "vectoriser": one_of("tfidf", "hashing"),
            "ngram_range": list_of(integer(1, MAX_NGRAM), 2, 2),
            "vocabulary_size": integer(1, MAX_FEATURES),
        }
    ),
    "vocabulary": optional(list_of(string(), 1, MAX_FEATURES)),
}
"""``featuriser.json`` and its bounds; ``idf.npy`` is ``(len(vocabulary),)`` floats."""


class TextFeaturiser:
    """Featurise text items (column ``text``) into ``(n, dim)`` float32 rows of unit norm.

    Each term count ``c`` becomes ``1 + log(c)`` (sublinear term frequency). With
    ``vectoriser="tfidf"``, terms are the ``vocabulary_size`` words and n-grams found in
    the most documents at ``fit``, weighted by smoothed inverse document frequency
    (scikit-learn's formula); with ``"hashing"``, terms are hashed into
    ``vocabulary_size`` buckets and nothing is fitted. ``fit`` streams over batches, so
    the texts are never all in memory at once.
    """

    kind = "text"

    def __init__(
        self,
        vectoriser: str = "tfidf",
        ngram_range: tuple[int, int] = (1, 2),
        vocabulary_size: int = 4096,
    ) -> None:
        self.vectoriser = vectoriser
        self.ngram_range = tuple(ngram_range)
        self.vocabulary_size = vocabulary_size
        self.vocabulary_: list[str] | None = None
        self.idf_: np.ndarray | None = None

    @property
    def params(self) -> dict[str, Any]:
        return {
            "vectoriser": self.vectoriser,
            "ngram_range": list(self.ngram_range),
            "vocabulary_size": self.vocabulary_size,
        }

    @property
    def fitted(self) -> bool:
        return self.vectoriser == "hashing" or self.vocabulary_ is not None

    @property
    def dim(self) -> int:
        if self.vectoriser == "hashing":
            return self.vocabulary_size
        return len(self._vocabulary())

    @property
    def version(self) -> str:
        state = "" if self.vectoriser == "hashing" else "\n".join(self._vocabulary())
        idf = b"" if self.idf_ is None else self.idf_.astype(np.float64).tobytes()
        return short_hash(self.kind, canonical_json(self.params), state, idf)

    def fit(self, batches: Iterable[pa.RecordBatch]) -> TextFeaturiser:
        if self.vectoriser == "hashing":
            return self
        analyse = self._counter(None).build_analyzer()
        document_frequency: Counter[str] = Counter()
        documents = 0
        for batch in batches:
            for text in batch.column("text").to_pylist():
                document_frequency.update(set(analyse(text or "")))
                documents += 1
        if not document_frequency:
            raise ValueError("no words to build a vocabulary from: every text is empty")
        # Most frequent first; ties broken by the term, so the vocabulary is reproducible.
        ranked = sorted(document_frequency.items(), key=lambda item: (-item[1], item[0]))
        vocabulary = sorted(term for term, _ in ranked[: self.vocabulary_size])
        df = np.array([document_frequency[term] for term in vocabulary], dtype=np.float64)
        self.vocabulary_ = vocabulary
        self.idf_ = np.log((1.0 + documents) / (1.0 + df)) + 1.0
        return self

    def featurise(self, batch: pa.RecordBatch) -> np.ndarray:
        texts = [text or "" for text in batch.column("text").to_pylist()]
        if self.vectoriser == "hashing":
            counts = HashingVectorizer(
                n_features=self.vocabulary_size,
                ngram_range=self.ngram_range,
                alternate_sign=False,
                norm=None,
            ).transform(texts)
        else:
            counts = self._counter(self._vocabulary()).transform(texts)
        counts = sp.csr_matrix(counts, dtype=np.float64)
        counts.data = 1.0 + np.log(counts.data)
        if self.idf_ is not None:
            counts.data *= self.idf_[counts.indices]
        # Rows with no known term stay zero: normalize leaves them alone, never NaN.
        return np.asarray(normalize(counts).toarray(), dtype=np.float32)

    def augmentations(self) -> dict[str, Augmentation]:
        return {"all": word_dropout()}

    def save(self, directory: Path) -> None:
        state = {"params": self.params, "vocabulary": self.vocabulary_}
        (directory / "featuriser.json").write_text(json.dumps(state))
        if self.idf_ is not None:
            np.save(directory / "idf.npy", self.idf_)

    @classmethod
    def load(cls, directory: Path) -> TextFeaturiser:
        """The featuriser saved in ``directory``; ``ModelFileError`` when it does not fit."""
        path, idf_path = directory / "featuriser.json", directory / "idf.npy"
        state = read_params(path, SAVED_STATE, MAX_FEATURISER_JSON_BYTES)
        params, vocabulary = state["params"], state["vocabulary"]
        low, high = params["ngram_range"]
        if low > high:
            raise ModelFileError(path, f"params.ngram_range: {low} is more than {high}")
        featuriser = cls(params["vectoriser"], (low, high), params["vocabulary_size"])
        if params["vectoriser"] == "hashing":
            if vocabulary is not None or idf_path.exists():
                raise ModelFileError(path, "a hashing featuriser has no vocabulary and no idf")
            return featuriser
        if vocabulary is None or len(vocabulary) > params["vocabulary_size"]:
            raise ModelFileError(
                path, f"vocabulary: expected 1..{params['vocabulary_size']} terms for tfidf"
            )
        if len(set(vocabulary)) != len(vocabulary):
            raise ModelFileError(path, "vocabulary: holds a term twice")
        idf = read_npy(idf_path, ArraySpec("f", ("terms",)), {"terms": len(vocabulary)})
        if (idf <= 0).any():
            raise ModelFileError(idf_path, "holds a weight that is not positive")
        featuriser.vocabulary_ = vocabulary
        featuriser.idf_ = idf
        return featuriser

    def _vocabulary(self) -> list[str]:
        if self.vocabulary_ is None:
            raise ValueError("the TF-IDF text featuriser is not fitted yet")
        return self.vocabulary_

    def _counter(self, vocabulary: list[str] | None) -> CountVectorizer:
        return CountVectorizer(
            ngram_range=self.ngram_range,
            vocabulary=vocabulary,
            lowercase=True,
            dtype=np.float64,
        )


__all__ = ["TextFeaturiser"]
