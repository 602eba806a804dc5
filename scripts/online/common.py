"""Shared helpers for the online-learning fixture scripts (stdlib + numpy only).

mulberry32 and the Fisher-Yates shuffle are bit-for-bit twins of src/ml/online/prng.ts; the
online standardiser repeats src/ml/online/standardizer.ts operation by operation (IEEE-754 double
+, -, *, / and sqrt are correctly rounded in both languages, so the results are identical).
"""
import csv
import hashlib
import json
import math
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATASETS_DIR = os.environ.get("KAPPA_DATASETS_DIR", os.path.join(ROOT, "..", "shared", "datasets"))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "online")
DATASETS = ["banknote", "iris", "wine"]
SEEDS = list(range(10))
M32 = 0xFFFFFFFF


class Mulberry32:
    def __init__(self, seed):
        self.state = seed & M32

    def next_u32(self):
        self.state = (self.state + 0x6D2B79F5) & M32
        t = self.state
        t = ((t ^ (t >> 15)) * (t | 1)) & M32
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32
        return (t ^ (t >> 14)) & M32

    def next(self):
        return self.next_u32() / 4294967296.0


def permutation(n, seed):
    a = list(range(n))
    rng = Mulberry32(seed)
    for i in range(n - 1, 0, -1):
        j = math.floor(rng.next() * (i + 1))
        a[i], a[j] = a[j], a[i]
    return a


def load(name):
    path = os.path.join(DATASETS_DIR, name + ".csv")
    with open(path, "rb") as f:
        raw = f.read()
    rows = list(csv.reader(raw.decode("utf8").splitlines()))[1:]
    X = [[float(v) for v in r[:-1]] for r in rows if r]
    y = [float(r[-1]) for r in rows if r]
    y = [int(v) if v == int(v) else v for v in y]
    return X, y, sorted(set(y)), hashlib.sha256(raw).hexdigest()


class Standardizer:
    """Online z-score; see src/ml/online/standardizer.ts for the definition."""

    def __init__(self, d):
        self.n = 0
        self.mean = [0.0] * d
        self.m2 = [0.0] * d

    def observe(self, x):
        n = self.n + 1
        for j, xj in enumerate(x):
            d = xj - self.mean[j]
            mean = self.mean[j] + d / n
            self.mean[j] = mean
            self.m2[j] = self.m2[j] + d * (xj - mean)
        self.n = n

    def transform(self, x):
        if self.n == 0:
            return [0.0] * len(x)
        out = []
        for j, xj in enumerate(x):
            v = self.m2[j] / self.n
            scale = math.sqrt(v) if v > 0 else 1.0
            out.append((xj - self.mean[j]) / scale)
        return out


def orders():
    with open(os.path.join(FIXTURES, "orders.json")) as f:
        return json.load(f)


def write_json(name, obj):
    path = os.path.join(FIXTURES, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"), sort_keys=False)
        f.write("\n")
    print("wrote", os.path.relpath(path, ROOT), os.path.getsize(path), "bytes")


def update_summary(section, value):
    path = os.path.join(FIXTURES, "prequential-summary.json")
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data[section] = value
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    print("updated", os.path.relpath(path, ROOT), "section", section)


def mean_sd(v):
    m = sum(v) / len(v)
    sd = math.sqrt(sum((a - m) ** 2 for a in v) / len(v))
    return {"mean": m, "sd": sd, "values": v}
