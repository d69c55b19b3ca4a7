"""Exact L1 / elastic-net solver on slot-indexed rows: working sets and proximal Newton steps.

Minimizes the trainers' mean objective (intercept unpenalized)::

    F(w, b) = sum_i s_i loss(y_i, x_i . w + b) / sum_i s_i + l1 ||w||_1 + l2/2 ||w||^2

for the logistic and squared losses, to a certified accuracy.

- **Working sets** (as skglm, celer, blitz): an outer iteration computes the full gradient (one
  pass over the entries), the KKT violation of every slot, and solves the problem restricted to
  the current nonzeros plus the most violating zeros, ``growth`` times as many columns as there
  are nonzeros (at least ``start_size``). Most columns of a wide L1 model stay zero and are never
  touched by the inner solver; the set grows geometrically until it holds the support.
- **Inner solver** (``_newton``): proximal Newton (as skglm's and liblinear's newGLMNET): a
  quadratic model of the loss at the current point, minimized by cyclic coordinate descent over
  the working set with the intercept updated exactly after each coordinate (``_cd.cd_sweep``),
  sweeps over the nonzeros alone between full sweeps (glmnet's active set), an extrapolation
  along the valleys of nested columns (``_newton._ray``), then a backtracking line search on
  the true objective (Tseng and Yun's Armijo rule). For the squared loss the model is exact, so
  this is plain coordinate descent and the step is always 1. A working set counts as solved
  when its largest KKT violation is ``inner`` times the outer one.
- **Stopping rule**: the largest KKT violation over all slots (the distance of the loss's
  gradient to the penalty's subdifferential, as skglm measures it; the intercept's is zero at
  each check) at most ``tol`` times the penalty's largest gradient, ``l1 + l2 max_j |w_j|``
  (l1 for the lasso). Relative to l1 it reads the same at any l1 and any data size: gradients of
  a mean loss are in the units of l1, and skglm's absolute ``tol=1e-6`` at l1 = 1e-6 is
  ``tol=1`` here. The duality gap ``F - D >= F - F*`` of the result is returned as a
  certificate, but not used to stop: for the lasso the dual point must be rescaled into the
  dual feasible set (``s = min(1, l1 / max_j |grad_j|)``), which makes the gap about
  (l1 ||w||_1 / F) times the largest relative violation, first order in it, while the
  objective's distance to the optimum is second order. On 1M geo rows at l1 = 1e-6 the gap was
  still 14 % of F when the objective was 4e-7 from the optimum and the nonzeros 0.2 %: stopping
  on it cost twice the time for no visible gain. The dual point is taken at the exact intercept,
  so that it meets the intercept's dual constraint ``sum nu_i = 0``; with l2 > 0 the unscaled
  point is also tried.
- **Intercept**: exact. The coordinate descent moves it as one more (unpenalized) coordinate of
  each Newton model; every outer iteration then sets it to the exact minimizer for the current
  weights (``_newton.Rows.center``).

Rows with identical entries are folded into one row of their summed weight and mean label
(``_fold``): the same objective and optimum, fewer rows for every pass (1M generated geo rows
are 750,670 distinct ones).

Memory: the slot CSR (its rows renumbered so that a column's rows lie close together:
``_layout``), its column-major copy (O(nnz + n_slots)), three float64 per row and a few per
slot; while it is built, up to about 60 bytes more per input row (the order's keys, each row's
group and hash, a hash table as long as twice the longest run of equal keys); nothing is
sized by the model width.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..losses import LOGISTIC, LOSSES as ALL_LOSSES, SQUARED, Loss
from . import _cd, _layout, _newton, _rowpass, _values
from .penalty import Penalty
from .rows import Rows
from .solver import Blocks, ExactSolution, RowsPlan, Solution, Solver, opened

LOSSES = {"logistic": LOGISTIC, "squared": SQUARED}


@dataclass(frozen=True)
class Problem:
    """The rows of one fit in both orientations; built once, shared by every ``solve`` on them.
    The rows are renumbered for locality (``row_order[k]`` is the input row of row ``k``)."""

    indptr: np.ndarray  # int32 / int64, n_rows + 1
    slots: np.ndarray  # int32, nnz
    data: np.ndarray  # float32 / float64, nnz, or empty: every value is one
    y: np.ndarray  # float64, n_rows
    sw: np.ndarray  # float64, n_rows, or empty: every weight is one
    scale: float  # 1 / sum of sample weights
    loss: int  # _losses code
    n_slots: int
    col_ptr: np.ndarray  # int64, n_slots + 1
    col_rows: np.ndarray  # int32, nnz
    col_data: np.ndarray  # like data, or empty: one, except at the entries of fix_* (``_layout.ColumnView``)
    columns: np.ndarray | None = None  # the input column of each slot (``csr_problem``); None: slot = column
    # the input row of each row here (the rows are renumbered: ``_layout``); of folded rows, the first
    row_order: np.ndarray | None = None
    # the mean loss the folding of identical rows took out (``_fold``: the squared loss's
    # ``scale * sum sw (y - ybar)^2 / 2``; 0 for the logistic loss, which folds exactly)
    loss_constant: float = 0.0
    # the entries whose value is not one, by column, where col_data is empty (``_layout``)
    fix_ptr: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    fix_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    fix_data: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def n_rows(self) -> int:
        return self.y.shape[0]

    @property
    def columns_view(self) -> tuple[np.ndarray, ...]:
        """The column view as the kernels take it: (col_ptr, col_rows, col_data, fix_ptr,
        fix_rows, fix_data)."""
        return self.col_ptr, self.col_rows, self.col_data, self.fix_ptr, self.fix_rows, self.fix_data

    def column_values(self) -> np.ndarray:
        """Every entry's value in column order (``col_rows``' order), written out: for tests and
        inspection (the solver reads the compact form)."""
        if self.col_data.size:
            return np.asarray(self.col_data, dtype=np.float64)
        values = np.ones(self.col_rows.shape[0])
        for j in np.flatnonzero(np.diff(self.fix_ptr)) if self.fix_ptr.size else ():
            rows = self.col_rows[self.col_ptr[j]:self.col_ptr[j + 1]]
            at = self.col_ptr[j] + np.searchsorted(rows, self.fix_rows[self.fix_ptr[j]:self.fix_ptr[j + 1]])
            values[at] = self.fix_data[self.fix_ptr[j]:self.fix_ptr[j + 1]]
        return values

    def slot_weights(self, columns, values) -> np.ndarray:
        """Per-slot weights from (input column, value) pairs, e.g. a previous
        ``ExactSolution.coefficients()``: a warm start. Columns without rows here are dropped (the optimum zeroes
        them whatever the start)."""
        columns = np.asarray(columns, dtype=np.int64).ravel()
        values = np.asarray(values, dtype=np.float64).ravel()
        if columns.shape != values.shape:
            raise ValueError(f"a warm start needs one value per column, got {values.size} for {columns.size}")
        _finite("starting weights", values)
        w = np.zeros(self.n_slots)
        if self.columns is None:
            keep = (columns >= 0) & (columns < self.n_slots)
            w[columns[keep]] = values[keep]
            return w
        at = np.minimum(np.searchsorted(self.columns, columns), max(self.n_slots - 1, 0))
        keep = (self.columns[at] == columns) if self.n_slots else np.zeros(columns.size, dtype=bool)
        w[at[keep]] = values[keep]
        return w


def _finite(name: str, a: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        raise ValueError(f"{name} must be finite; entry {bad[0]} is {a[bad[0]]}")


def _compact_values(data: np.ndarray) -> np.ndarray:
    """The finite entries' values in the fewest bytes that hold them exactly: none when every
    value is one (the kernels then read no values), float32 when each float64 value is one
    (counts, small integers). The sweeps stream the column values twice per entry; on the geo
    crosses (values 1 and 2) float32 values made the column view a third smaller. Raises where a
    value is not finite.

    >>> _compact_values(np.array([1.0, 2.0])).dtype.name, _compact_values(np.array([1.0, 0.1])).dtype.name
    ('float32', 'float64')
    >>> _compact_values(np.ones(3, np.float32)).size
    0
    """
    not_finite, exact32, not_one = _values.value_flags(data)
    if not_finite:
        _finite("data", data)
    if not not_one:
        return np.empty(0, dtype=np.float32)
    return data if data.dtype == np.float32 or not exact32 else data.astype(np.float32)


def make_problem(indptr, slots, data, y, sw, loss: str, n_slots: int, *, fold: bool = True) -> Problem:
    """Validate the slot CSR, labels and sample weights; build the column view (O(nnz)).

    ``data`` and ``sw`` may be empty (all ones). Rows may be empty; slots that repeat within
    a row are summed first. ``fold``: rows with identical entries become one row of their summed
    weight and mean label (``_fold``; the same optimum and objective, fewer rows to pass over).

    >>> p = make_problem(np.array([0, 2, 3]), np.array([0, 1, 1], np.int32), np.empty(0),
    ...                  np.array([1.0, 0.0]), np.empty(0), "logistic", 2)
    >>> p.col_ptr.tolist(), p.col_rows.tolist()
    ([0, 1, 3], [0, 0, 1])
    """
    if loss not in LOSSES:
        raise ValueError(f"the exact solver handles the losses {list(LOSSES)}, not {loss!r}")
    n_slots = int(n_slots)
    indptr = np.asarray(indptr)
    if indptr.dtype not in (np.int32, np.int64):
        indptr = indptr.astype(np.int64)
    slots = np.asarray(slots)
    if slots.dtype != np.int32:
        slots = slots.astype(np.int32)
    n = indptr.shape[0] - 1
    if indptr.ndim != 1 or n < 0 or indptr[0] != 0 or indptr[-1] != slots.shape[0] or np.any(np.diff(indptr) < 0):
        raise ValueError("indptr must start at 0, never decrease and end at the number of entries")
    if slots.size and (slots.min() < 0 or slots.max() >= n_slots):
        p = int(np.flatnonzero((slots < 0) | (slots >= n_slots))[0])
        row = int(np.searchsorted(indptr, p, side="right") - 1)
        raise ValueError(f"slot {slots[p]} of row {row} is outside [0, {n_slots})")
    data = np.asarray(data)
    if data.size:
        if data.shape != slots.shape:
            raise ValueError(f"data has {data.size} values for {slots.size} entries")
        if data.dtype not in (np.float32, np.float64):
            data = data.astype(np.float64)
        data = _compact_values(data)  # and checked finite
    y = np.ascontiguousarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"y has shape {y.shape}, expected ({n},): one label per row")
    _finite("y", y)
    sw = np.ascontiguousarray(sw, dtype=np.float64)
    if sw.size:
        if sw.shape != (n,):
            raise ValueError(f"sample weights have shape {sw.shape}, expected ({n},)")
        _finite("sample weights", sw)
        if np.any(sw < 0):
            raise ValueError(f"sample weights must be >= 0; row {int(np.flatnonzero(sw < 0)[0])} has a negative one")
    total = float(sw.sum()) if sw.size else float(n)
    if not total > 0:
        raise ValueError("the rows' sample weights sum to zero: there is nothing to fit")
    if loss == "logistic":
        if np.any((y < 0) | (y > 1)):
            raise ValueError(f"logistic labels must lie in [0, 1]; row {int(np.flatnonzero((y < 0) | (y > 1))[0])} has {y[(y < 0) | (y > 1)][0]}")
        mean = float(_cd.dot(sw, y) if sw.size else y.sum()) / total  # no threaded BLAS (``_cd.dot``)
        if not 0 < mean < 1:
            raise ValueError("logistic loss needs rows of both labels (with positive weight): the intercept would diverge")
    view, rows, order, constant = _layout.column_view(Rows(indptr, slots, data, y, sw), n_slots, fold)
    return Problem(*rows.arrays, 1.0 / total, LOSSES[loss], n_slots, view.col_ptr, view.col_rows, view.col_data,
                   row_order=order, loss_constant=constant / total if loss == "squared" else 0.0,
                   fix_ptr=view.fix_ptr, fix_rows=view.fix_rows, fix_data=view.fix_data)


def csr_problem(X, y, sample_weight=None, loss: str = "logistic", *, fold: bool = True) -> Problem:
    """``make_problem`` on a SciPy sparse matrix: its columns with at least one stored entry
    become the slots (``Problem.columns``), so memory is O(nnz), whatever the width of ``X``.

    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix((np.ones(3), [7, 2**40, 7], [0, 2, 3]), shape=(2, 2**41))
    >>> csr_problem(X, np.array([1.0, 0.0])).columns.tolist()
    [7, 1099511627776]
    """
    import scipy.sparse as sp

    if not sp.issparse(X) or X.ndim != 2:
        raise TypeError(f"X must be a 2-D SciPy sparse matrix, got {type(X).__name__}")
    X = X if X.format == "csr" else X.tocsr()
    if X.data.dtype.kind not in "biuf":
        raise ValueError(f"X must hold real numbers, got dtype {X.data.dtype}")
    indices = np.asarray(X.indices)
    if indices.size and (indices.min() < 0 or indices.max() >= X.shape[1]):
        p = int(np.flatnonzero((indices < 0) | (indices >= X.shape[1]))[0])
        row = int(np.searchsorted(X.indptr, p, side="right") - 1)
        raise ValueError(f"X row {row} holds column {indices[p]}, outside its width {X.shape[1]}")
    columns, slots = np.unique(indices, return_inverse=True)
    if y is None or np.shape(y) != (X.shape[0],):
        raise ValueError(f"y has shape {np.shape(y)}, expected ({X.shape[0]},): one label per row of X")
    sw = np.empty(0) if sample_weight is None else sample_weight
    p = make_problem(X.indptr, slots.astype(np.int32), X.data, y, sw, loss, columns.size, fold=fold)
    return replace(p, columns=columns.astype(np.int64))


def _start(problem: Problem, weights, intercept) -> tuple[np.ndarray, float, np.ndarray]:
    if weights is None:
        w = np.zeros(problem.n_slots)
    else:
        w = np.array(weights, dtype=np.float64)  # a copy: the caller's start is left alone
        if w.shape != (problem.n_slots,):
            raise ValueError(f"starting weights have shape {w.shape}, expected ({problem.n_slots},): one per slot")
        _finite("starting weights", w)
    b = float(intercept) if intercept is not None else _zero_weights_intercept(problem) if weights is None else 0.0
    if not np.isfinite(b):
        raise ValueError(f"the starting intercept must be finite, got {b}")
    if np.any(w):
        m = np.empty(problem.n_rows)
        _rowpass.margins(problem.indptr, problem.slots, problem.data, w, b, m)
    else:  # a cold start: every margin is the intercept
        m = np.full(problem.n_rows, b)
    return w, b, m


def _zero_weights_intercept(p: Problem) -> float:
    """The exact intercept of all-zero weights, in closed form (the mean label, or its logit):
    a start from zero then needs no Newton iterations on the intercept."""
    mean = float(_cd.dot(p.sw, p.y) * p.scale if p.sw.size else p.y.mean()) if p.n_rows else 0.0
    margin = ALL_LOSSES["squared" if p.loss == SQUARED else "logistic"].constant_margin(mean)
    return 0.0 if margin is None else margin


def _check_penalties(l1: float, l2: float) -> tuple[float, float]:
    l1, l2 = float(l1), float(l2)
    if not (np.isfinite(l1) and l1 >= 0 and np.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l1 and l2 must be finite and >= 0, got l1={l1}, l2={l2}")
    if l1 == 0 and l2 == 0:
        raise ValueError("l1 = l2 = 0: the exact solver needs a penalty (the optimum may not exist)")
    return l1, l2


def l1_max(problem: Problem) -> float:
    """The smallest l1 at which every weight of the optimum is zero (for any l2).

    At w = 0 with the best intercept, zero is optimal iff ``|grad_j| <= l1`` for every column,
    so this is ``max_j |grad_j|`` there.
    """
    w, b, m = _start(problem, None, None)
    _rowpass.center_intercept(problem.y, problem.sw, problem.scale, m, problem.loss, 100)
    rows, grads = np.empty((problem.n_rows, _rowpass.N_ROW)), np.empty(problem.n_rows)
    _rowpass.newton_rows(problem.y, problem.sw, problem.scale, m, problem.loss, rows, grads)
    grad = np.empty(problem.n_slots)
    _cd.gradient(*problem.columns_view, grads, grad)
    return float(np.max(np.abs(grad))) if grad.size else 0.0


def _dual(problem: Problem, m: np.ndarray, grad: np.ndarray, l1: float, l2: float) -> float:
    """The best of the dual points ``s nu`` tried (module docstring); ``m`` at the exact intercept."""
    p = problem
    top = float(np.max(np.abs(grad))) if grad.size else 0.0
    s = min(1.0, l1 / top) if top > 0 else 1.0
    best = _rowpass.dual_loss(p.y, p.sw, p.scale, m, p.loss, s)  # lasso-feasible: R*(-s grad) = 0
    if l2 > 0 and s < 1.0:
        best = max(best, _rowpass.dual_loss(p.y, p.sw, p.scale, m, p.loss, 1.0) - _cd.dual_penalty(grad, 1.0, l1, l2))
    return float(best) + p.loss_constant  # a bound on the folded rows' optimum, plus what folding took out


def _working_set(w: np.ndarray, scores: np.ndarray, size: int) -> np.ndarray:
    """The nonzeros plus the ``size - nnz`` zeros of largest violation, in slot order.

    Keeping every nonzero (as skglm and celer do) matters on nested columns: re-solving the
    support moves weight along the valleys between a cell and its parts, which no single
    coordinate's KKT violation shows. A working set of the violators and the nonzeros sharing
    rows with them reached the KKT tolerance sooner but 22 % short of the optimum's nonzeros
    (1M geo rows, l1 = 1e-6).
    """
    support = np.flatnonzero(w)
    zero_viol = np.flatnonzero((w == 0) & (scores > 0))
    room = size - support.size
    if room < zero_viol.size:
        zero_viol = zero_viol[np.argpartition(-scores[zero_viol], room)[:room]] if room > 0 else zero_viol[:0]
    return np.sort(np.concatenate([support, zero_viol]))


def solve(problem: Problem, l1: float, l2: float = 0.0, weights: np.ndarray | None = None,
          intercept: float | None = None, *, tol: float = 1e-3, max_iter: int = 100, max_newton: int = 50,
          max_sweeps: int = 200, start_size: int = 1000, growth: float = 4.0, inner: float = 0.8,
          sweep_tol: float = 0.75) -> ExactSolution:
    """Minimize F on ``problem`` until the largest KKT violation is at most ``tol`` times the
    penalty's largest gradient (module docstring).

    ``weights`` (per slot) and ``intercept`` are the starting point (default zeros), e.g. the
    previous point of a path or a short SGD run. ``inner``: a working set counts as solved when
    its KKT violation is this fraction of the outer one; ``sweep_tol``: the coordinate descent
    on a Newton model stops at this fraction of the model's starting violation. Both are loose
    on purpose: the next working set corrects what one leaves, and a tighter inner solve spends
    sweeps on columns the next scan would have changed anyway (1M geo rows at l1 1e-6: 0.8 and
    0.75 take 55 sweeps where 0.5 and 0.5 took 68, ~10 % less CPU, the same optimum).
    """
    l1, l2 = _check_penalties(l1, l2)
    t0 = time.process_time()
    p = problem
    w, b, m = _start(p, weights, intercept)
    state = _newton.Rows(m, np.empty((p.n_rows, _rowpass.N_ROW)), np.empty(p.n_rows), b)
    state.fill(p)
    grad = np.empty(p.n_slots)
    scores = np.empty(p.n_slots)
    counts = _newton.Counts()
    sizes: list[int] = []
    history: list[tuple[float, float, int, float]] = []
    converged = False
    kkt = objective = np.inf
    x_max = max(abs(float(p.data.max())), abs(float(p.data.min()))) if p.data.size else 1.0  # no |data| copy
    for it in range(max_iter + 1):
        target = tol * (l1 + (l2 * float(np.max(np.abs(w), initial=0.0)) if l2 > 0 else 0.0))
        state.center(p, _newton.first_order_shift(p.loss, target, x_max))
        _cd.gradient(*p.columns_view, state.grads, grad)
        kkt, nnz, norm1, norm2 = _cd.violations(w, grad, l1, l2, scores)  # one pass over the slots
        objective = state.loss + p.loss_constant + l1 * norm1 + 0.5 * l2 * norm2
        history.append((float(objective), float(kkt), int(nnz), time.process_time() - t0))
        if kkt <= target:
            converged = True
            break
        if it == max_iter:
            break
        ws = _working_set(w, scores, max(start_size, int(growth * nnz)))
        sizes.append(int(ws.shape[0]))
        _newton.newton_steps(p, ws, w, state, l1, l2, inner * kkt, sweep_tol, max_newton, max_sweeps, counts)
    gap = max(objective - _dual(p, state.m, grad, l1, l2), 0.0)
    return ExactSolution(w, float(state.b), float(objective), float(gap), float(kkt), converged, len(sizes), counts.newton,
                    counts.sweeps, sizes, time.process_time() - t0, history, p.columns)


def l1_grid(top: float, bottom: float, n: int) -> np.ndarray:
    """``n`` l1 values from ``top`` down to ``bottom``, evenly spaced in log scale.

    >>> l1_grid(1e-2, 1e-4, 3).tolist()
    [0.01, 0.001, 0.0001]
    """
    if not (np.isfinite(top) and np.isfinite(bottom) and top >= bottom > 0 and n >= 1):
        raise ValueError(f"an l1 grid needs top >= bottom > 0 and n >= 1, got {top}, {bottom}, {n}")
    return np.geomspace(top, bottom, int(n)) if n > 1 else np.array([float(top)])


def solve_path(problem: Problem, l1s, l2: float = 0.0, weights: np.ndarray | None = None,
               intercept: float | None = None, **options) -> list[ExactSolution]:
    """``solve`` at each of ``l1s`` in order, each point started from the previous solution.

    From the largest l1 down (``l1_grid(l1_max(problem), ...)``) each solution is a few
    working-set iterations away from the next; ``options`` go to ``solve``.
    """
    out: list[ExactSolution] = []
    for l1 in l1s:
        s = solve(problem, float(l1), l2, weights, intercept, **options)
        out.append(s)
        weights, intercept = s.weights, s.intercept
    return out


def solve_csr(X, y, l1: float, l2: float = 0.0, *, loss: str = "logistic", sample_weight=None,
              start: ExactSolution | tuple | None = None, tol: float = 1e-3, **options) -> ExactSolution:
    """Minimize F on a sparse matrix ``X`` (any width: only its used columns are held).

    ``start``: a previous ``ExactSolution`` (of any rows with the same columns) or ``(columns,
    values, intercept)``: a warm start. The result's ``coefficients()`` are its nonzero
    weights by column of ``X``; ``objective``, ``gap``, ``kkt``, ``iterations`` say how it ended.

    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]))
    >>> s = solve_csr(X, np.array([1.0, 0.0, 1.0, 0.0]), l1=0.05, tol=1e-8)
    >>> s.converged, s.coefficients()[0].tolist()
    (True, [0])
    """
    problem = csr_problem(X, y, sample_weight, loss)
    weights = intercept = None
    if start is not None:
        columns, values, intercept = (*start.coefficients(), start.intercept) if isinstance(start, ExactSolution) else start
        weights = problem.slot_weights(columns, values)
    return solve(problem, l1, l2, weights, intercept, tol=tol, **options)


def stack_rows(parts: list[Rows]) -> Rows:
    """One block of the rows of ``parts``, entries of columns unseen in training (slot -1) left
    out: they weigh nothing in any row's margin."""
    if len(parts) == 1:
        rows = parts[0]
    else:
        ends = np.cumsum([p.indptr[-1] - p.indptr[0] for p in parts])
        starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        indptr = np.concatenate([[0]] + [p.indptr[1:].astype(np.int64) - p.indptr[0] + s for p, s in zip(parts, starts)])
        valued = any(p.data.size for p in parts)
        data = np.concatenate([p.data if p.data.size == p.slots.size else np.ones(p.slots.size) for p in parts]) \
            if valued else np.empty(0)
        weighted = any(p.sw.size for p in parts)
        sw = np.concatenate([p.sw if p.sw.size else np.ones(p.n_rows) for p in parts]) if weighted else np.empty(0)
        y = np.concatenate([np.asarray(p.y, dtype=np.float64) for p in parts])
        rows = Rows(indptr, np.concatenate([p.slots for p in parts]), data, y, sw)
    keep = rows.slots >= 0
    if keep.all():
        return rows
    kept = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    return Rows(kept[rows.indptr], rows.slots[keep], rows.data[keep] if rows.data.size else rows.data, rows.y, rows.sw)


@dataclass(frozen=True)
class Exact(Solver):
    """The exact solver as a trainer's batch solver (``optimizer="cd"``): from the trainer's
    weights and intercept to the optimum of the penalized mean loss, stopped when the largest
    KKT violation is ``tol`` times the penalty's largest gradient (see :func:`solve`).

    Logistic and squared losses only. The rows of every block are held at once (the column view
    needs them all), so a streamed fit holds its whole data set here.

    >>> from widecross.losses import LOSSES
    >>> rows = Rows(np.array([0, 1, 2, 3]), np.array([0, 1, 0], np.int32), np.empty(0),
    ...             np.array([1.0, 0.0, 1.0]), np.empty(0))
    >>> w = np.zeros(2)
    >>> s = Exact(tol=1e-6).solve(lambda: [rows], w, 0.0, Penalty(l1=0.01), LOSSES["logistic"])
    >>> bool(w[0] > 0 > w[1]), s.passes > 0
    (True, True)
    """

    tol: float = 1e-3

    def applies(self, loss: Loss) -> bool:
        return loss.name in LOSSES

    def solve(self, blocks: Blocks, weights: np.ndarray, intercept: float, penalty: Penalty, loss: Loss,
              plan: RowsPlan | None = None) -> Solution:
        if not self.applies(loss):
            return Solution(intercept, 0)
        with opened(blocks()) as each:
            rows = stack_rows(list(each))
        if rows.n_rows == 0:
            return Solution(intercept, 0)
        problem = make_problem(*rows.arrays, loss.name, weights.shape[0])
        del rows
        result = solve(problem, penalty.l1, penalty.l2, weights, intercept, tol=self.tol)
        weights[:] = result.weights
        # one pass over the rows per outer iteration (the gradient) and per Newton step (the line search)
        return Solution(result.intercept, len(result.history) + result.newton_steps, result.objective)
