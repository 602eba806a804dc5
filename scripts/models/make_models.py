#!/usr/bin/env python3
"""Train the small scikit-learn models used as ONNX test fixtures and export them.

Usage (from the repository root):

    python3 -m venv .venv
    .venv/bin/pip install scikit-learn skl2onnx onnxruntime numpy
    .venv/bin/python scripts/models/make_models.py [--datasets DIR] [--out DIR]

For every model this writes, into test/fixtures/models/:

    <name>.onnx   the model as skl2onnx exports it by default (classifiers keep the
                  ZipMap on `output_probability`; classifiers without predict_proba,
                  such as LinearSVC, have a float tensor `probabilities` that holds their
                  decision scores), input `float_input` float32 [None, n]
    <name>.json   metadata (input, outputs, feature order, class labels, sha256 of the
                  .onnx) and the predictions scikit-learn makes for every row of the
                  data set (the rows themselves are included so tests need nothing else)

Everything is seeded; running the script twice gives the same predictions. The .onnx
bytes may differ between skl2onnx versions, which is why the sha256 lives in the JSON.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import sklearn
import skl2onnx
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

SEED = 42
TARGET_OPSET = 17
INPUT_NAME = "float_input"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# UCI iris is sorted by class: 1 = setosa, 2 = versicolor, 3 = virginica.
IRIS_NAMES = {1: "setosa", 2: "versicolor", 3: "virginica"}


def read_csv(path: str) -> tuple[list[str], np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip().strip('"') for h in rows[0]]
    data = np.array([[float(v) for v in r] for r in rows[1:] if r], dtype=np.float64)
    return header, data


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read())
    return h.hexdigest()


def f32_rows(x: np.ndarray) -> list[list[float]]:
    """Rows as the float32 values a client would feed (printed shortest-roundtrip)."""
    return [[float(repr_f32(v)) for v in row] for row in x.astype(np.float32)]


def repr_f32(v: np.float32) -> str:
    return np.format_float_positional(v, unique=True, trim="-")


def export(model, n_features: int, zipmap: bool = True) -> onnx.ModelProto:
    options = None if zipmap else {id(model): {"zipmap": False}}
    onx = to_onnx(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        target_opset=TARGET_OPSET,
        options=options,
    )
    # Keep fixtures byte-stable across runs: skl2onnx collects opset domains in a set, so
    # their order follows Python's per-process string hashing. Sort them.
    # (zipmap=False exports list the default domain twice; keep one entry per domain.)
    opsets = sorted({(o.domain, o.version) for o in onx.opset_import})
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    onx.doc_string = ""
    return onx


def describe_outputs(onx: onnx.ModelProto) -> list[dict]:
    out = []
    for o in onx.graph.output:
        t = o.type
        kind = t.WhichOneof("value")
        if kind == "tensor_type":
            out.append({
                "name": o.name,
                "kind": "tensor",
                "type": onnx.helper.tensor_dtype_to_np_dtype(t.tensor_type.elem_type).name,
            })
        elif kind == "sequence_type":
            out.append({"name": o.name, "kind": "sequence<map>"})
        else:
            out.append({"name": o.name, "kind": kind})
    return out


def ort_check(path: str, x: np.ndarray, expected: dict) -> dict:
    """Run the exported model in Python onnxruntime and report the worst deviation."""
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    res = sess.run(None, {INPUT_NAME: x.astype(np.float32)})
    report: dict = {}
    if "labels" in expected:
        # skl2onnx names them output_label/output_probability (ZipMap) or label/probabilities.
        labels = [v.item() if hasattr(v, "item") else v for v in res[0]]
        report["labelMismatches"] = int(sum(1 for a, b in zip(labels, expected["labels"]) if a != b))
        probs = res[1]
        if isinstance(probs, list):  # ZipMap: list of dicts
            labels_order = expected["classLabels"]
            probs = np.array([[d[c] for c in labels_order] for d in probs])
        if "decisionScores" in expected:
            scores = np.asarray(probs).reshape(len(expected["decisionScores"]), -1)
            want = np.array(expected["decisionScores"]).reshape(scores.shape)
            report["maxDecisionScoreAbsDiff"] = float(np.max(np.abs(scores - want)))
        else:
            report["maxProbabilityAbsDiff"] = float(np.max(np.abs(np.asarray(probs) - np.array(expected["probabilities"]))))
    else:
        vals = np.asarray(res[0]).reshape(-1)
        exp = np.array(expected["values"])
        report["maxValueRelDiff"] = float(np.max(np.abs(vals - exp) / np.maximum(np.abs(exp), 1e-12)))
    return report


def write_fixture(out_dir: str, name: str, model, onx: onnx.ModelProto, *, dataset: str, task: str,
                  features: list[str], target: str, x: np.ndarray, notes: str,
                  class_labels: list | None = None, version: int = 1, estimator_params: dict | None = None):
    onnx_path = os.path.join(out_dir, f"{name}.onnx")
    with open(onnx_path, "wb") as fh:
        fh.write(onx.SerializeToString())

    expected: dict = {"rows": f32_rows(x)}
    if task == "classification":
        labels = model.predict(x).tolist()
        expected["labels"] = labels
        if hasattr(model, "predict_proba"):
            probs = model.predict_proba(x)
            expected["probabilities"] = [[round(float(p), 9) for p in row] for row in probs]
        else:
            # no probabilities: decision_function, one value per row for two classes (the score of
            # classes_[1]), one per class otherwise
            scores = model.decision_function(x)
            expected["decisionScores"] = [round(float(v), 9) for v in scores] if scores.ndim == 1 else \
                [[round(float(v), 9) for v in row] for row in scores]
        expected["classLabels"] = class_labels
    else:
        expected["values"] = [round(float(v), 9) for v in model.predict(x)]

    meta = {
        "id": name[: -len(f"-v{version}")] if name.endswith(f"-v{version}") else name,
        "version": version,
        "format": "onnx",
        "file": f"{name}.onnx",
        "sha256": sha256(onnx_path),
        "bytes": os.path.getsize(onnx_path),
        "dataset": dataset,
        "task": task,
        "target": target,
        "notes": notes,
        "input": {"name": INPUT_NAME, "type": "float32", "shape": [None, len(features)]},
        "outputs": describe_outputs(onx),
        "features": features,
        "classLabels": class_labels,
        "sklearn": {
            "estimator": type(model).__name__ if not hasattr(model, "steps") else
            "Pipeline(" + ", ".join(type(s).__name__ for _, s in model.steps) + ")",
            "params": estimator_params or {},
        },
        "producer": {
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnx": onnx.__version__,
            "targetOpset": TARGET_OPSET,
            "seed": SEED,
        },
        "nRows": int(x.shape[0]),
    }
    meta["pythonOnnxruntimeCheck"] = ort_check(onnx_path, x, expected)
    meta["expected"] = expected
    with open(os.path.join(out_dir, f"{name}.json"), "w") as fh:
        json.dump(meta, fh, indent=None, separators=(",", ":"))
        fh.write("\n")
    print(f"{name}: {meta['bytes']} bytes, outputs={[o['name'] for o in meta['outputs']]}, "
          f"check={meta['pythonOnnxruntimeCheck']}")
    return meta


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=os.path.join(ROOT, "..", "shared", "datasets"))
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "models"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    np.random.seed(SEED)

    # ---- iris: 4 features x1..x4, class 1..3 --------------------------------------------
    cols, iris = read_csv(os.path.join(args.datasets, "iris.csv"))
    feats = cols[:4]
    x, y = iris[:, :4], iris[:, 4].astype(np.int64)

    lr = LogisticRegression(C=1.0, max_iter=1000, random_state=SEED).fit(x, y)
    write_fixture(args.out, "iris-logreg-v1", lr, export(lr, 4), dataset="iris.csv", task="classification",
                  features=feats, target="class", x=x, class_labels=[1, 2, 3], version=1,
                  estimator_params={"C": 1.0, "max_iter": 1000},
                  notes="Multinomial logistic regression; int64 labels 1..3; ZipMap on output_probability.")

    lr2 = LogisticRegression(C=0.05, max_iter=1000, random_state=SEED).fit(x, y)
    write_fixture(args.out, "iris-logreg-v2", lr2, export(lr2, 4), dataset="iris.csv", task="classification",
                  features=feats, target="class", x=x, class_labels=[1, 2, 3], version=2,
                  estimator_params={"C": 0.05, "max_iter": 1000},
                  notes="Second version of iris-logreg (strong regularisation, visibly different "
                        "probabilities) for hot-swap tests.")

    write_fixture(args.out, "iris-logreg-nozipmap", lr, export(lr, 4, zipmap=False), dataset="iris.csv",
                  task="classification", features=feats, target="class", x=x, class_labels=[1, 2, 3],
                  estimator_params={"C": 1.0, "max_iter": 1000},
                  notes="Same estimator as iris-logreg-v1 exported with options zipmap=False: "
                        "output_probability is already a float tensor [N, 3].")

    y_names = np.array([IRIS_NAMES[int(v)] for v in y])
    rf = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=SEED).fit(x, y_names)
    write_fixture(args.out, "iris-rf", rf, export(rf, 4), dataset="iris.csv", task="classification",
                  features=feats, target="class (as names: 1=setosa, 2=versicolor, 3=virginica)", x=x,
                  class_labels=[str(c) for c in rf.classes_],
                  estimator_params={"n_estimators": 10, "max_depth": 4, "random_state": SEED},
                  notes="Random forest with string labels (classlabels_strings path of the ZipMap).")

    write_fixture(args.out, "iris-rf-nozipmap", rf, export(rf, 4, zipmap=False), dataset="iris.csv",
                  task="classification", features=feats,
                  target="class (as names: 1=setosa, 2=versicolor, 3=virginica)", x=x,
                  class_labels=[str(c) for c in rf.classes_],
                  estimator_params={"n_estimators": 10, "max_depth": 4, "random_state": SEED},
                  notes="Same estimator as iris-rf exported with options zipmap=False: string label "
                        "tensor + float probability tensor [N, 3] (the benchmark's Kafka Streams peer).")

    # Deliberately mismatched: trained on the first 3 iris features only.
    bad = LogisticRegression(max_iter=1000, random_state=SEED).fit(x[:, :3], y)
    write_fixture(args.out, "iris-mismatch-3f", bad, export(bad, 3), dataset="iris.csv",
                  task="classification", features=feats[:3], target="class", x=x[:, :3], class_labels=[1, 2, 3],
                  estimator_params={"max_iter": 1000},
                  notes="Deliberately mismatched: input float_input is [None, 3], so feeding the 4 iris "
                        "features must be refused with a clear error.")

    # ---- wine: regress alcohol (x1) from x2..x13 --------------------------------------------
    cols, wine = read_csv(os.path.join(args.datasets, "wine.csv"))
    feats = cols[1:13]
    x, yw = wine[:, 1:13], wine[:, 0]
    ridge = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(x, yw)
    write_fixture(args.out, "wine-alcohol-ridge", ridge, export(ridge, 12), dataset="wine.csv",
                  task="regression", features=feats, target="x1 (alcohol, % vol)", x=x,
                  estimator_params={"alpha": 1.0, "scaler": "StandardScaler"},
                  notes="Ridge regression predicting the alcohol column x1 from the other 12 wine "
                        "features x2..x13 (the class column is not used). Output `variable` float [N, 1].")

    # ---- banknote: f1..f4, class 0/1 --------------------------------------------------------
    cols, bank = read_csv(os.path.join(args.datasets, "banknote.csv"))
    feats = cols[:4]
    x, yb = bank[:, :4], bank[:, 4].astype(np.int64)
    blr = LogisticRegression(C=1.0, max_iter=1000, random_state=SEED).fit(x, yb)
    write_fixture(args.out, "banknote-logreg", blr, export(blr, 4), dataset="banknote.csv",
                  task="classification", features=feats, target="class", x=x, class_labels=[0, 1],
                  estimator_params={"C": 1.0, "max_iter": 1000},
                  notes="Binary logistic regression; int64 labels 0/1; ZipMap on output_probability.")

    # ---- classifiers without probabilities: decision scores only ------------------------------
    svc = LinearSVC(C=1.0, random_state=SEED, max_iter=10000).fit(x, yb)
    write_fixture(args.out, "banknote-linearsvc", svc, export(svc, 4), dataset="banknote.csv",
                  task="classification", features=feats, target="class", x=x, class_labels=[0, 1],
                  estimator_params={"C": 1.0, "max_iter": 10000},
                  notes="Binary LinearSVC: no predict_proba. skl2onnx names its output `probabilities`, "
                        "but it holds one decision score per row, the score of class 1 (> 0 means 1).")

    cols, iris = read_csv(os.path.join(args.datasets, "iris.csv"))
    xi, yi = iris[:, :4], iris[:, 4].astype(np.int64)
    isvc = LinearSVC(C=1.0, random_state=SEED, max_iter=10000).fit(xi, yi)
    write_fixture(args.out, "iris-linearsvc", isvc, export(isvc, 4), dataset="iris.csv",
                  task="classification", features=cols[:4], target="class", x=xi, class_labels=[1, 2, 3],
                  estimator_params={"C": 1.0, "max_iter": 10000},
                  notes="Multiclass (one-vs-rest) LinearSVC: `probabilities` holds one decision score per "
                        "class, columns in class order 1, 2, 3; none of them is a probability.")

    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"total fixture size: {total} bytes")
    if total > 1_000_000:
        print("fixtures exceed 1 MB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
