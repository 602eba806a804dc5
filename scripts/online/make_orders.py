"""Write test/fixtures/online/orders.json: for banknote, iris and wine and seeds 0-9, the
mulberry32 + Fisher-Yates permutation of the row indices, with each CSV's SHA-256.
The TypeScript PRNG test checks that src/ml/online/prng.ts produces the same orders."""
from common import DATASETS, SEEDS, load, permutation, write_json

out = {"prng": "mulberry32", "shuffle": "fisher-yates, i = n-1..1, j = floor(u * (i + 1))", "datasets": {}}
for name in DATASETS:
    X, y, classes, sha = load(name)
    out["datasets"][name] = {
        "sha256": sha,
        "rows": len(X),
        "classes": classes,
        "orders": {str(s): permutation(len(X), s) for s in SEEDS},
    }
write_json("orders.json", out)
