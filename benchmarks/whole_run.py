"""``repr-assets run`` against the script a user would write instead, in the same run.

The hand-written script (``HAND_WRITTEN``, run as its own process as a user runs it) does
the work of a default run without this project: it reads the images, scales the pixels
to [0, 1], fits scikit-learn's PCA (16 components), trains the same MLP autoencoder
(256-128-16, Adam, batches of 128, the same epochs) in a plain PyTorch loop, writes the
items, features and both embeddings with LanceDB's ``create_table``, and computes the
report's scikit-learn metrics on a seeded 80/20 split: silhouette, Davies-Bouldin,
Calinski-Harabasz, the logistic-regression probe, 10-NN accuracy, trustworthiness on
2,000 items, and k-means NMI and ARI. It leaves out what the run does besides
(invariance under augmentation, intrinsic dimension, continuity, effective rank, recall
of the search path, plots, the checks and safe publishing), so the ratio is an upper
bound of what the project costs for the same work.

Each side runs in a fresh home, the two in turn (``suite.best_times``), ours first: the
script trains for as many epochs as the run's log says its autoencoder trained.

    python -m benchmarks.whole_run [--idx-items 70000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cli_run import repr_assets_command, run_checked

HAND_WRITTEN = r"""
import gzip, struct, sys, time
from pathlib import Path
started = time.perf_counter()
import lancedb, numpy as np, pyarrow as pa, torch
from sklearn import cluster, decomposition, linear_model, manifold, metrics, model_selection
from sklearn import neighbors, preprocessing

source, database, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
if source == "digits":
    from sklearn.datasets import load_digits
    bunch = load_digits()
    X, y = (bunch.data / 16.0).astype(np.float32), bunch.target
else:
    def idx(path):
        with gzip.open(path) as handle:
            data = handle.read()
        dims = data[3]
        shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
        return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)
    folder = Path(source)
    images = [idx(folder / f"{p}-images-idx3-ubyte.gz") for p in ("train", "t10k")]
    labels = [idx(folder / f"{p}-labels-idx1-ubyte.gz") for p in ("train", "t10k")]
    X = (np.concatenate(images).reshape(-1, 28 * 28) / 255.0).astype(np.float32)
    y = np.concatenate(labels)
ids = [f"item-{i:07d}" for i in range(len(X))]
train, test = model_selection.train_test_split(
    np.arange(len(X)), test_size=0.2, stratify=y, random_state=0
)

def vectors(Z):
    return pa.FixedSizeListArray.from_arrays(pa.array(Z.astype(np.float32).ravel()), Z.shape[1])

db = lancedb.connect(database)
labels_text = pa.array(y.astype(str))
db.create_table("items", pa.table({"item_id": ids, "label": labels_text}))
db.create_table("features", pa.table({"item_id": ids, "vector": vectors(X)}))

codes = {"pca": decomposition.PCA(16, random_state=0).fit(X[train]).transform(X)}
torch.manual_seed(0)
d = X.shape[1]
encoder = torch.nn.Sequential(
    torch.nn.Linear(d, 256), torch.nn.GELU(), torch.nn.Linear(256, 128), torch.nn.GELU(),
    torch.nn.Linear(128, 16),
)
decoder = torch.nn.Sequential(
    torch.nn.Linear(16, 128), torch.nn.GELU(), torch.nn.Linear(128, 256), torch.nn.GELU(),
    torch.nn.Linear(256, d),
)
model = torch.nn.Sequential(encoder, decoder)
optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
fit = torch.from_numpy(X[train])
for epoch in range(epochs):
    for batch in torch.randperm(len(fit)).split(128):
        loss = torch.nn.functional.mse_loss(model(fit[batch]), fit[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
with torch.no_grad():
    codes["autoencoder"] = encoder(torch.from_numpy(X)).numpy()

rng = np.random.default_rng(0)
for name, Z in codes.items():
    db.create_table(name, pa.table({"item_id": ids, "label": labels_text, "vector": vectors(Z)}))
    found = {}
    found["silhouette"] = metrics.silhouette_score(
        Z, y, sample_size=min(len(Z), 10_000), random_state=0
    )
    found["davies_bouldin"] = metrics.davies_bouldin_score(Z, y)
    found["calinski_harabasz"] = metrics.calinski_harabasz_score(Z, y)
    scaled = preprocessing.StandardScaler().fit(Z[train])
    probe = linear_model.LogisticRegression(max_iter=1000).fit(scaled.transform(Z[train]), y[train])
    found["linear_probe_accuracy"] = probe.score(scaled.transform(Z[test]), y[test])
    knn = neighbors.KNeighborsClassifier(10, metric="cosine").fit(Z[train], y[train])
    found["knn_accuracy"] = knn.score(Z[test[:20_000]], y[test[:20_000]])
    sample = rng.choice(len(Z), min(len(Z), 2000), replace=False)
    found["trustworthiness"] = manifold.trustworthiness(X[sample], Z[sample], n_neighbors=10)
    clusters = cluster.KMeans(10, n_init=1, random_state=0).fit_predict(Z[test])
    found["kmeans_nmi"] = metrics.normalized_mutual_info_score(y[test], clusters)
    found["kmeans_ari"] = metrics.adjusted_rand_score(y[test], clusters)
    print(name, {k: round(float(v), 4) for k, v in found.items()})
print(f"seconds {time.perf_counter() - started:.2f}")
"""

FIT_LINE = re.compile(r"autoencoder_model: autoencoder \w+: fitted on \d+ items in (\d+) epochs")


@dataclass(frozen=True)
class WholeRun:
    source: str
    items: int
    epochs: int
    ours_s: float
    script_s: float
    script_output: str

    @property
    def ratio(self) -> float:
        return self.ours_s / self.script_s


def _run(command: list[str], home: Path) -> str:
    run = run_checked(command, home)
    return run.stdout + run.stderr  # a run's step lines, fit lines among them, are on stderr


def epochs_trained(output: str) -> int:
    """The epochs the autoencoder trained for, from its fit line in a run's output."""
    found = FIT_LINE.search(output)
    if found is None:
        raise ValueError("the run printed no autoencoder fit line")
    return int(found.group(1))


def measure(source: str, items: int, rounds: int, scratch: Path) -> WholeRun:
    """Our run of ``source`` ("digits", or an IDX folder) against the script, in turn.

    Ours runs first; the script trains for as many epochs as that run's autoencoder did.
    """
    from benchmarks.suite import best_times

    homes = iter(range(1_000))
    scratch = scratch / ("digits" if source == "digits" else "idx")
    run_args = ["run", "--dataset", "digits"]
    if source != "digits":
        run_args = ["run", "--source", source, "--dataset", "idx"]
    epochs: list[int] = []

    def ours() -> str:
        stdout = _run(repr_assets_command(*run_args), scratch / f"ours-{next(homes)}")
        epochs.append(epochs_trained(stdout))
        return stdout

    def script() -> str:
        database = scratch / f"script-{next(homes)}"
        command = [sys.executable, "-c", HAND_WRITTEN, source, str(database), str(epochs[0])]
        return _run(command, database)

    times, outputs = best_times({"ours": ours, "script": script}, rounds, settle_s=1.0)
    return WholeRun(
        source, items, epochs[0], times["ours"], times["script"], str(outputs["script"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx-items", type=int, default=0, help="also an IDX folder this big")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="repr-assets-whole-") as tmp:
        scratch = Path(tmp)
        results = [measure("digits", 1797, args.rounds, scratch)]
        if args.idx_items:
            from benchmarks.idx_run import synthetic_digits
            from sample_sources import write_idx

            images, labels = synthetic_digits(args.idx_items)
            test = args.idx_items // 7
            write_idx(scratch / "idx", "train", images[test:], labels[test:], gz=True)
            write_idx(scratch / "idx", "t10k", images[:test], labels[:test], gz=True)
            results.append(measure(str(scratch / "idx"), args.idx_items, args.rounds, scratch))
    for result in results:
        print(
            f"{result.source if result.source == 'digits' else 'idx'} ({result.items:,} items, "
            f"{result.epochs} epochs): repr-assets run {result.ours_s:.1f} s, hand-written "
            f"script {result.script_s:.1f} s, ratio {result.ratio:.2f}x"
        )


if __name__ == "__main__":
    main()
