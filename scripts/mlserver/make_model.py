#!/usr/bin/env python3
"""Train the scikit-learn models MLServer serves in the remote-model tests and the bench.

Usage (from the repository root; scripts/mlserver/mlserver.sh install makes the venv):

    .cache/mlserver-venv/bin/python scripts/mlserver/make_model.py

Writes test/fixtures/mlserver/:

    iris-logreg/model.joblib, model-settings.json   LogisticRegression on UCI iris (classes 1, 2, 3),
                                                     input `input-0` FP32 [-1, 4], outputs
                                                     `predict` INT64 [-1, 1], `predict_proba` FP64 [-1, 3]
    iris-mismatch/model.joblib, model-settings.json  the same model declared with 3 inputs columns
                                                     (its metadata does not fit a 4-feature mapping)
    iris-stream.json                                 10,000 rows (iris rows with seeded jitter, as float32
                                                     values) and the labels scikit-learn predicts for them

Everything is seeded: running the script twice gives the same rows and labels (the .joblib bytes
may differ between scikit-learn versions; the labels are what the tests compare).
"""
from __future__ import annotations

import csv
import json
import os

import joblib
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

SEED = 42
ROWS = 10_000
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "mlserver")


def read_iris() -> tuple[np.ndarray, np.ndarray]:
    with open(os.path.join(ROOT, "test", "fixtures", "datasets", "iris.csv"), newline="") as fh:
        rows = [r for r in csv.reader(fh)][1:]
    data = np.array([[float(v) for v in r] for r in rows if r], dtype=np.float64)
    return data[:, :4], data[:, 4].astype(np.int64)


def settings(name: str, width: int) -> dict:
    return {
        "name": name,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "1"},
        "inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, width]}],
        "outputs": [
            {"name": "predict", "datatype": "INT64", "shape": [-1, 1]},
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 3]},
        ],
    }


def main() -> None:
    x, y = read_iris()
    model = LogisticRegression(max_iter=1000, random_state=SEED).fit(x, y)
    for name, width in (("iris-logreg", 4), ("iris-mismatch", 3)):
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        joblib.dump(model, os.path.join(d, "model.joblib"))
        with open(os.path.join(d, "model-settings.json"), "w") as fh:
            json.dump(settings(name, width), fh, indent=2)
            fh.write("\n")
    rng = np.random.default_rng(SEED)
    base = x[rng.integers(0, len(x), ROWS)]
    # jitter moves many rows near the class boundaries, where a wrong input would show
    rows = (base + rng.normal(0, 0.3, base.shape)).round(2).astype(np.float32)
    labels = model.predict(rows)  # float32, as MLServer decodes an FP32 tensor
    stream = {
        "sklearn": sklearn.__version__,
        "features": ["x1", "x2", "x3", "x4"],
        "classes": [int(c) for c in model.classes_],
        "rows": [[float(np.format_float_positional(v, unique=True, trim="-")) for v in r] for r in rows],
        "labels": [int(v) for v in labels],
    }
    with open(os.path.join(OUT, "iris-stream.json"), "w") as fh:
        json.dump(stream, fh, separators=(",", ":"))
        fh.write("\n")
    counts = {int(c): int((labels == c).sum()) for c in model.classes_}
    print(f"wrote {OUT}: {ROWS} rows, labels per class {counts}")


if __name__ == "__main__":
    main()
