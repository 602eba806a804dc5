"""scikit-learn's per-sample partial_fit throughput, for `make bench` (bench/lib/learn-inprocess.js).

Reads the sample pools the benchmark wrote (<data-dir>/d<d>.X.f64: float64 little-endian, row-major;
d<d>.y.u8: labels 0/1), and for each d times PA-I as scikit-learn runs it one sample per call:

- sgd-pa1: SGDClassifier(loss='hinge', penalty=None, learning_rate='pa1', eta0=1.0,
  fit_intercept=True, shuffle=False) -- the form sklearn >= 1.8 recommends;
- pac-pa1: PassiveAggressiveClassifier(C=1.0, loss='hinge', fit_intercept=True, shuffle=False)
  (deprecated since 1.8, removed in 1.10; skipped when missing).

Both are what the TypeScript PA-I in sklearn mode reproduces bit for bit (scripts/online/parity_pa.py).
One untimed 0.3 s run first absorbs the process's one-time costs. Per estimator and d: the first call passes classes and is not timed, then a warm-up of up to 200
calls (or 0.1 s), then partial_fit(X[i:i+1], y[i:i+1]) over the pool, cycling, until --budget-ms
of wall time (time.perf_counter) has passed. The rows are pre-sliced views, so the loop times
partial_fit itself plus one Python loop step. Prints one JSON object on stdout.

    python bench_partial_fit.py --data-dir DIR --dims 4,100,1000 [--budget-ms 600]
"""
import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import SGDClassifier

warnings.simplefilter("ignore", category=FutureWarning)
warnings.simplefilter("ignore", category=DeprecationWarning)

try:
    from sklearn.linear_model import PassiveAggressiveClassifier
except ImportError:  # sklearn >= 1.10
    PassiveAggressiveClassifier = None


def estimators():
    out = [("sgd-pa1", lambda: SGDClassifier(loss="hinge", penalty=None, learning_rate="pa1", eta0=1.0,
                                             fit_intercept=True, shuffle=False))]
    if PassiveAggressiveClassifier is not None:
        out.append(("pac-pa1", lambda: PassiveAggressiveClassifier(C=1.0, loss="hinge", fit_intercept=True, shuffle=False)))
    return out


def measure(make, X, y, budget_s):
    n = X.shape[0]
    rows = [X[i:i + 1] for i in range(n)]
    labels = [y[i:i + 1] for i in range(n)]
    clf = make()
    clf.partial_fit(rows[0], labels[0], classes=np.array([0, 1]))
    i = 1
    warm_end = time.perf_counter() + 0.1
    for _ in range(200):
        if time.perf_counter() >= warm_end:
            break
        clf.partial_fit(rows[i], labels[i])
        i = (i + 1) % n
    count = 0
    t0 = time.perf_counter()
    while True:
        for _ in range(16):
            clf.partial_fit(rows[i], labels[i])
            i += 1
            if i == n:
                i = 0
        count += 16
        elapsed = time.perf_counter() - t0
        if elapsed >= budget_s:
            break
    return count, elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--dims", required=True)
    ap.add_argument("--budget-ms", type=float, default=600)
    args = ap.parse_args()
    budget_s = args.budget_ms / 1000.0
    out_rows = []
    first = True
    for d in [int(v) for v in args.dims.split(",")]:
        X = np.fromfile(os.path.join(args.data_dir, "d%d.X.f64" % d), dtype="<f8").reshape(-1, d)
        y = np.fromfile(os.path.join(args.data_dir, "d%d.y.u8" % d), dtype=np.uint8).astype(np.int64)
        if first:
            # the very first partial_fit calls of a process are much slower (lazy imports, caches): burn them
            measure(estimators()[0][1], X, y, 0.3)
            first = False
        for name, make in estimators():
            count, elapsed = measure(make, X, y, budget_s)
            out_rows.append({
                "estimator": name,
                "d": d,
                "updates": count,
                "seconds": round(elapsed, 4),
                "updatesPerSec": int(round(count / elapsed)),
                "microsPerUpdate": round(elapsed * 1e6 / count, 3),
            })
    json.dump({
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "estimators": {
            "sgd-pa1": "SGDClassifier(loss='hinge', penalty=None, learning_rate='pa1', eta0=1.0, fit_intercept=True, shuffle=False).partial_fit, one sample per call",
            "pac-pa1": "PassiveAggressiveClassifier(C=1.0, loss='hinge', fit_intercept=True, shuffle=False).partial_fit, one sample per call",
        },
        "rows": out_rows,
    }, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
