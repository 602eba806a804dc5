"""Small numpy reference for AROW, SCW-I and SCW-II written from the equations in
docs/online-learning.md (Crammer, Kulesza & Dredze 2009; Wang, Zhao & Hoi 2012), used to check
src/ml/online/learner.ts. Bias: a constant 1 appended to x (the papers' convention).

Binary (banknote, raw features, seeds 0-9): full and diagonal covariance.
Multiclass (iris, wine, online z-score timing 'before', seeds 0-9, full covariance):
  - 'ovr': one independent binary learner per class (y_k = +1 for class k, else -1);
  - 'max-score': K mean vectors, one shared covariance; s = best-scoring wrong class,
    m = f_y - f_s, alpha and beta from the binary rule with v replaced by 2v,
    mu_y += alpha Sigma x, mu_s -= alpha Sigma x, Sigma -= 2 beta (Sigma x)(Sigma x)^T.
Defaults: C = 1, a = 1, r = 1, eta = 0.75 (SCW-I, multiclass SCW-II), 0.90 (binary SCW-II);
phi = scipy.stats.norm.ppf(eta).
Writes test/fixtures/online/reference-scw-arow.json and the 'reference' section of
prequential-summary.json.
"""
import numpy as np
from scipy.stats import norm

from common import SEEDS, Standardizer, load, mean_sd, orders, update_summary, write_json


def coefficients(alg, m, v, C, r, phi):
    """Return (alpha, beta); alpha == 0 means no update."""
    if alg == "arow":
        if m >= 1:
            return 0.0, 0.0
        beta = 1.0 / (v + r)
        return (1.0 - m) * beta, beta
    if phi * np.sqrt(v) - m <= 0 or v <= 0:
        return 0.0, 0.0
    if alg == "scw-i":
        psi = 1.0 + phi ** 2 / 2.0
        zeta = 1.0 + phi ** 2
        alpha = min(C, max(0.0, (-m * psi + np.sqrt(m ** 2 * phi ** 4 / 4.0 + v * phi ** 2 * zeta)) / (v * zeta)))
    else:
        n = v + 1.0 / (2.0 * C)
        gamma = phi * np.sqrt(phi ** 2 * m ** 2 * v ** 2 + 4.0 * n * v * (n + v * phi ** 2))
        alpha = max(0.0, (-(2.0 * m * n + phi ** 2 * m * v) + gamma) / (2.0 * (n ** 2 + n * v * phi ** 2)))
    if alpha <= 0:
        return 0.0, 0.0
    u = 0.25 * (-alpha * v * phi + np.sqrt(alpha ** 2 * v ** 2 * phi ** 2 + 4.0 * v)) ** 2
    beta = alpha * phi / (np.sqrt(u) + v * alpha * phi)
    return alpha, beta


class Gaussian:
    """Mean vectors (K x D) and covariance blocks, full (D x D) or diagonal (D)."""

    def __init__(self, rows, D, blocks, full, a):
        self.mu = np.zeros((rows, D))
        self.full = full
        self.S = [a * np.eye(D) if full else a * np.ones(D) for _ in range(blocks)]

    def sx(self, b, x):
        return self.S[b] @ x if self.full else self.S[b] * x

    def downdate(self, b, beta, sx):
        if self.full:
            self.S[b] = self.S[b] - beta * np.outer(sx, sx)
        else:
            self.S[b] = self.S[b] - beta * sx * sx


def run(alg, task, mode, X, y, classes, order, full, standardize, C=1.0, r=1.0, a=1.0):
    eta = 0.9 if (alg == "scw-ii" and task == "binary") else 0.75
    phi = float(norm.ppf(eta))
    K = 1 if task == "binary" else len(classes)
    D = len(X[0]) + 1
    shared = task == "multiclass" and mode == "max-score"
    g = Gaussian(K, D, 1 if shared else K, full, a)
    sc = Standardizer(len(X[0])) if standardize else None
    preds = []
    for i in order:
        x = np.array((sc.transform(X[i]) if sc else X[i]) + [1.0])
        f = g.mu @ x
        yi = classes.index(y[i])
        preds.append((1 if f[0] > 0 else 0) if task == "binary" else int(np.argmax(f)))
        if task == "binary" or mode == "ovr":
            for k in range(K):
                yk = (1.0 if yi == 1 else -1.0) if task == "binary" else (1.0 if yi == k else -1.0)
                sx = g.sx(k, x)
                alpha, beta = coefficients(alg, yk * f[k], float(x @ sx), C, r, phi)
                if alpha > 0:
                    g.mu[k] += alpha * yk * sx
                    g.downdate(k, beta, sx)
        else:
            s = max((k for k in range(K) if k != yi), key=lambda k: (f[k], -k))
            sx = g.sx(0, x)
            alpha, beta = coefficients(alg, f[yi] - f[s], 2.0 * float(x @ sx), C, r, phi)
            if alpha > 0:
                g.mu[yi] += alpha * sx
                g.mu[s] -= alpha * sx
                g.downdate(0, 2.0 * beta, sx)
        if sc:
            sc.observe(X[i])
    acc = sum(1 for t, i in enumerate(order) if classes[preds[t]] == y[i]) / len(order)
    return {
        "predictions": "".join(map(str, preds)), "accuracy": acc, "phi": phi, "eta": eta,
        "weights": g.mu.tolist(), "covariance": [s.ravel().tolist() for s in g.S],
    }


def main():
    ords = orders()["datasets"]
    runs, summary = [], {}
    plans = [("banknote", "binary", "-", full, False) for full in (True, False)]
    plans += [(ds, "multiclass", mode, True, True) for ds in ("iris", "wine") for mode in ("max-score", "ovr")]
    for ds, task, mode, full, standardize in plans:
        X, y, classes, sha = load(ds)
        assert sha == ords[ds]["sha256"]
        for alg in ("arow", "scw-i", "scw-ii"):
            accs = []
            for seed in SEEDS:
                res = run(alg, task, mode, X, y, classes, ords[ds]["orders"][str(seed)], full, standardize)
                res.update({"dataset": ds, "seed": seed, "algorithm": alg, "task": task, "multiclass": mode,
                            "covariance": "full" if full else "diagonal", "standardize": "before" if standardize else "off"})
                if task == "multiclass" and not full:
                    res.pop("covariance_values", None)
                runs.append(res)
                accs.append(res["accuracy"])
            key = f"{ds}/{'z' if standardize else 'raw'}/{alg}/{'full' if full else 'diag'}" + (f"/{mode}" if task == "multiclass" else "")
            summary[key] = mean_sd(accs)
            print(key, "%.4f +- %.4f" % (summary[key]["mean"], summary[key]["sd"]))
    write_json("reference-scw-arow.json", {"C": 1.0, "a": 1.0, "r": 1.0, "bias": "feature", "runs": runs})
    update_summary("reference", {
        "implementation": "scripts/online/reference_scw_arow.py (numpy, from the equations)",
        "protocol": "prequential, one pass, orders.json seeds 0-9, C=1, a=1, r=1, bias feature; z = online z-score timing 'before'",
        "accuracy": summary,
    })


main()
