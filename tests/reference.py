"""Slow, obviously-correct references for the training kernels (plain NumPy / Python).

Nothing here imports widecross: each formula is written again from its definition so that a
shared mistake cannot hide. The SGD reference is *eager*: every step applies the penalty to every
coordinate of a dense weight vector, so it needs no catch-up logic at all.
"""

from __future__ import annotations

import math

import numpy as np


# -- losses (definitions, not the stable forms) -----------------------------------------------
def loss(name: str, y: float, m: float) -> float:
    if name == "logistic":
        return float(np.logaddexp(0.0, m) - y * m)
    if name == "squared":
        return 0.5 * (m - y) ** 2
    if name == "hinge":
        return max(0.0, 1.0 - (2 * y - 1) * m)
    if name == "poisson":
        return math.exp(m) - y * m
    raise KeyError(name)


def dloss(name: str, y: float, m: float) -> float:
    if name == "logistic":
        return 0.5 * (1.0 + math.tanh(0.5 * m)) - y  # sigmoid written another way
    if name == "squared":
        return m - y
    if name == "hinge":
        ys = 2 * y - 1
        return -ys if ys * m < 1 else 0.0
    if name == "poisson":
        return math.exp(m) - y
    raise KeyError(name)


def d2loss(name: str, y: float, m: float) -> float:
    if name == "logistic":
        p = 0.5 * (1.0 + math.tanh(0.5 * m))
        return p * (1.0 - p)
    if name == "squared":
        return 1.0
    if name == "hinge":
        return 0.0
    if name == "poisson":
        return math.exp(m)
    raise KeyError(name)


# -- eager proximal SGD -----------------------------------------------------------------------
def schedule(name: str, t: int, power: float = 0.5, t0: float = 1.0, horizon: float = 1.0, floor: float = 0.0) -> float:
    if name == "constant":
        return 1.0
    if name == "invscaling":
        return (1.0 + t / t0) ** (-power)
    if name == "linear":
        return max(floor, 1.0 - (1.0 - floor) * t / horizon)
    raise KeyError(name)


def penalty_flow(w: np.ndarray, a: np.ndarray, l1: float, l2: float) -> np.ndarray:
    """Solution at time ``a`` of dw/dt = -l1 sign(w) - l2 w, stopped at 0 (elementwise)."""
    aw = np.abs(w)
    if l2 > 0:
        decay = np.exp(-l2 * a)
        new = (aw + l1 / l2) * decay - l1 / l2
    else:
        new = aw - l1 * a
    return np.sign(w) * np.maximum(new, 0.0)


def eager_sgd(
    X,
    y,
    orders,
    *,
    loss_name="logistic",
    eta0=0.1,
    l1=0.0,
    l2=0.0,
    schedule_name="constant",
    adaptive=False,
    delta=1.0,
    sample_weight=None,
    init=None,
    return_state=False,
    implicit=False,
    **schedule_params,
):
    """Dense eager FOBOS: gradient step, then the penalty flow on *every* coordinate, per step.

    ``adaptive``: False, True (AdaGrad: eta0 / (delta + sqrt(sum g^2))) or 2 (Newton:
    eta0 / (delta + sum of loss'' x^2)); ``implicit``: the implicit step (``implicit_step``).

    ``orders`` is a list of row-index arrays, one per epoch. Returns (w, b), or with
    ``return_state`` the whole state as a dict that ``init`` accepts to continue a run.
    """
    Xd = np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=np.float64)
    n, d = Xd.shape
    s_all = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w, G, b, Gb, t = np.zeros(d), np.zeros(d), 0.0, 0.0, 0
    if init is not None:
        w, G, b, Gb, t = init["w"].copy(), init["G"].copy(), init["b"], init["Gb"], init["t"]
    for order in orders:
        for r in order:
            x = Xd[r]
            s = s_all[r]
            m = float(x @ w) + b
            g = dloss(loss_name, y[r], m)
            c = schedule(schedule_name, t, **schedule_params) * s
            if adaptive == 2:  # per-coordinate Newton: summed curvature, no square root
                k = d2loss(loss_name, y[r], m)
                G = G + s * k * x**2
                rate = eta0 / (delta + G)
                Gb += s * k
                rate_b = eta0 / (delta + Gb)
            elif adaptive:
                G = G + (s * g * x) ** 2
                rate = eta0 / (delta + np.sqrt(G))
                Gb += (s * g) ** 2
                rate_b = eta0 / (delta + math.sqrt(Gb))
            else:
                rate = np.full(d, eta0)
                rate_b = eta0
            a = rate * c
            if implicit:
                g = implicit_step(loss_name, y[r], m, float(a @ (x * x)) + rate_b * c, g)
            w = penalty_flow(w - a * g * x, a, l1, l2)
            b -= rate_b * c * g
            t += 1
    if return_state:
        return dict(w=w, G=G, b=b, Gb=Gb, t=t)
    return w, b


def implicit_step(loss_name: str, y: float, m: float, reach: float, g: float) -> float:
    """The derivative the implicit step uses, from its definition: d = loss'(m - reach d).

    Solved by bisection on [min(0, g), max(0, g)] (squared, Poisson); logistic uses the
    solution for the second-order expansion of the loss at m; hinge stops at the margin 1.
    """
    if g == 0.0 or reach <= 0.0:
        return g
    if loss_name == "logistic":
        p = dloss("logistic", 0.0, m)  # sigmoid(m)
        return g / (1.0 + reach * p * (1.0 - p))
    if loss_name == "hinge":
        ys = 2 * y - 1
        landed = m - reach * g
        return (m - ys) / reach if ys * landed > 1 else g
    lo, hi = min(0.0, g), max(0.0, g)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        try:
            landed = dloss(loss_name, y, m - reach * mid)
        except OverflowError:  # e^u beyond floats: far past the root
            landed = math.inf
        if mid - landed > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


# -- FTRL-Proximal, one dict entry per coordinate ---------------------------------------------
def ftrl_weight(z: float, n: float, lam1: float, lam2: float, alpha: float, beta: float) -> float:
    """FTRL-Proximal's weight of a coordinate's (z, n), from its definition."""
    if abs(z) <= lam1:
        return 0.0
    return -(z - math.copysign(lam1, z)) / ((beta + math.sqrt(n)) / alpha + lam2)


def dict_ftrl(X, y, orders, *, loss_name="logistic", alpha=0.1, beta=1.0, l1=0.0, l2=0.0, sample_weight=None):
    """Per-coordinate FTRL-Proximal with lam = l * (sum of sample weights seen, current included).

    Returns (w as a dict {column: weight} of nonzeros, b).
    """
    X = X.tocsr()
    n = X.shape[0]
    s_all = [1.0] * n if sample_weight is None else [float(v) for v in sample_weight]
    z: dict[int, float] = {}
    nn: dict[int, float] = {}
    state = {"z": 0.0, "n": 0.0}
    seen = 0.0

    def weight(zj, nj, lam1, lam2):
        return ftrl_weight(zj, nj, lam1, lam2, alpha, beta)

    for order in orders:
        for r in order:
            r = int(r)
            cols = X.indices[X.indptr[r] : X.indptr[r + 1]].tolist()
            vals = X.data[X.indptr[r] : X.indptr[r + 1]].tolist()
            s = s_all[r]
            seen += s
            ws = {j: weight(z.get(j, 0.0), nn.get(j, 0.0), l1 * seen, l2 * seen) for j in cols}
            b = weight(state["z"], state["n"], 0.0, 0.0)
            m = b + sum(ws[j] * v for j, v in zip(cols, vals))
            g = s * dloss(loss_name, y[r], m)
            for j, v in zip(cols, vals):
                gj = g * v
                nj = nn.get(j, 0.0)
                sigma = (math.sqrt(nj + gj * gj) - math.sqrt(nj)) / alpha
                z[j] = z.get(j, 0.0) + gj - sigma * ws[j]
                nn[j] = nj + gj * gj
            sigma = (math.sqrt(state["n"] + g * g) - math.sqrt(state["n"])) / alpha
            state["z"] += g - sigma * b
            state["n"] += g * g
    w = {j: weight(z[j], nn[j], l1 * seen, l2 * seen) for j in z}
    return {j: v for j, v in w.items() if v != 0.0}, weight(state["z"], state["n"], 0.0, 0.0)


# -- objective ---------------------------------------------------------------------------------
def objective(X, y, w, b, l1, l2, loss_name="logistic", sample_weight=None) -> float:
    """F(w, b) = sum s_i loss_i / sum s_i + l1 |w|_1 + l2/2 |w|^2 (plain NumPy)."""
    m = np.asarray(X @ w).ravel() + b
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    losses = np.array([loss(loss_name, yi, mi) for yi, mi in zip(y, m)])
    return float(s @ losses / s.sum() + l1 * np.abs(w).sum() + 0.5 * l2 * w @ w)


# -- multinomial (softmax) training, written from the definitions --------------------------------
def softmax_loss_grad(m: np.ndarray, label: int) -> tuple[float, np.ndarray]:
    """Softmax loss -log p_label of margins ``m`` and its gradient p - onehot (plain NumPy)."""
    p = np.exp(m - m.max())
    p /= p.sum()
    onehot = np.zeros_like(m)
    onehot[label] = 1.0
    return float(-np.log(p[label])), p - onehot


def eager_softmax_sgd(X, y, orders, *, n_classes, eta0=0.1, l1=0.0, l2=0.0, adaptive=False, delta=1.0,
                      sample_weight=None):
    """Dense eager FOBOS on the softmax loss, K weight columns: every step applies the penalty
    flow to every weight. ``adaptive``: AdaGrad per weight (and per intercept). Returns (W, b)."""
    Xd = np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=np.float64)
    n, d = Xd.shape
    s_all = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    W, G, b, Gb = np.zeros((d, n_classes)), np.zeros((d, n_classes)), np.zeros(n_classes), np.zeros(n_classes)
    for order in orders:
        for r in order:
            x, s = Xd[r], s_all[r]
            _, g = softmax_loss_grad(x @ W + b, int(y[r]))
            if adaptive:
                G = G + (s * np.outer(x, g)) ** 2
                Gb = Gb + (s * g) ** 2
                rate, rate_b = eta0 / (delta + np.sqrt(G)), eta0 / (delta + np.sqrt(Gb))
            else:
                rate, rate_b = np.full((d, n_classes), eta0), np.full(n_classes, eta0)
            a = rate * s
            W = penalty_flow(W - a * np.outer(x, g), a, l1, l2)
            b = b - rate_b * s * g
    return W, b


def dict_softmax_ftrl(X, y, orders, *, n_classes, alpha=0.1, beta=1.0, l1=0.0, l2=0.0):
    """FTRL-Proximal on the softmax loss, one dict entry per (column, class). Returns (W, b)."""
    X = X.tocsr()
    z: dict[tuple[int, int], float] = {}
    nn: dict[tuple[int, int], float] = {}
    bz, bn = [0.0] * n_classes, [0.0] * n_classes
    seen = 0.0

    def weight(zj, nj, lam1, lam2):
        return ftrl_weight(zj, nj, lam1, lam2, alpha, beta)

    for order in orders:
        for r in order:
            r = int(r)
            cols = X.indices[X.indptr[r] : X.indptr[r + 1]].tolist()
            vals = X.data[X.indptr[r] : X.indptr[r + 1]].tolist()
            seen += 1.0
            ws = {(j, k): weight(z.get((j, k), 0.0), nn.get((j, k), 0.0), l1 * seen, l2 * seen)
                  for j in cols for k in range(n_classes)}
            b = [weight(bz[k], bn[k], 0.0, 0.0) for k in range(n_classes)]
            m = np.array([b[k] + sum(ws[j, k] * v for j, v in zip(cols, vals)) for k in range(n_classes)])
            _, g = softmax_loss_grad(m, int(y[r]))
            for k in range(n_classes):
                for j, v in zip(cols, vals):
                    gj = g[k] * v
                    nj = nn.get((j, k), 0.0)
                    sigma = (math.sqrt(nj + gj * gj) - math.sqrt(nj)) / alpha
                    z[j, k] = z.get((j, k), 0.0) + gj - sigma * ws[j, k]
                    nn[j, k] = nj + gj * gj
                sigma = (math.sqrt(bn[k] + g[k] ** 2) - math.sqrt(bn[k])) / alpha
                bz[k] += g[k] - sigma * b[k]
                bn[k] += g[k] ** 2
    W = np.zeros((X.shape[1], n_classes))
    for (j, k), zj in z.items():
        W[j, k] = weight(zj, nn[j, k], l1 * seen, l2 * seen)
    return W, np.array([weight(bz[k], bn[k], 0.0, 0.0) for k in range(n_classes)])


def softmax_objective(X, y, W, b, l1, l2=0.0, sample_weight=None) -> float:
    """Mean softmax loss + l1 |W|_1 + l2/2 |W|^2 (plain NumPy)."""
    M = np.asarray(X @ W) + b
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    losses = np.array([softmax_loss_grad(M[i], int(y[i]))[0] for i in range(len(y))])
    return float(s @ losses / s.sum() + l1 * np.abs(W).sum() + 0.5 * l2 * (W * W).sum())


def log_loss(y, p) -> float:
    """Mean logistic loss of probabilities ``p`` of class 1 (clipped to [1e-15, 1 - 1e-15])."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-15, 1 - 1e-15)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
