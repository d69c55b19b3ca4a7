"""The transform plan: a spec's features as the arrays the compiled kernels read, and the driver
that turns one table of columns into CSR block by block."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import scipy.sparse

from .. import _components as kc
from .. import _hashing as hk
from .._parallel import row_blocks, run_blocks, run_tasks
from .._validation import as_float64, as_numeric
from ._columns import Text, TokenList, text_column
from .bucketize import Bucketize
from .categorical import Categorical
from .numeric import Numeric
from .tokens import Tokens

_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1
# Rows per kernel call: the stacked input block stays in cache and call overhead stays negligible.
BLOCK_ROWS = 8192
# Rows per task on threads: at least this many, and about TASKS_PER_JOB tasks a thread (the matrix
# does not depend on it: each row is filled alone). Few long tasks: each thread then writes (and
# first touches) long stretches of the output of its own. 1M generated rows at the exact width,
# two threads against one, fresh output arrays, three runs each: 16,384-row tasks (62, ~0.7 ms
# each) 0.63x / 1.30x / 1.20x, 4 tasks a thread 1.24x / 1.44x / 1.49x, 8 a thread 1.58x / 1.19x /
# 1.30x; at 2^22 1.45x / 1.59x / 1.52x against 1.65x / 1.69x / 1.43x (4) and 1.62x / 1.72x / 1.46x (8)
THREAD_BLOCK_ROWS = 2 * 8192
TASKS_PER_JOB = 4


def task_rows(n_rows: int, n_jobs: int) -> int:
    """Rows per task of a transform on ``n_jobs`` threads.

    >>> task_rows(1_000_000, 2), task_rows(1_000_000, 16), task_rows(20_000, 2)
    (125000, 16384, 16384)
    """
    return max(THREAD_BLOCK_ROWS, -(-n_rows // (TASKS_PER_JOB * n_jobs)))


@dataclass
class Inputs:
    """One table's columns as the kernels read them (built once per transform call)."""

    numeric: list[np.ndarray]
    ids: list[np.ndarray]
    multi: tuple[np.ndarray, np.ndarray]
    n_rows: int
    texts: list[Text] = field(default_factory=list)  # of the categorical components, for KeyRecord
    tokens: list[TokenList] = field(default_factory=list)


class Plan:
    """Kernel arrays of a fitted spec: components (each distinct single-column feature once),
    where each reads its input, and which components each feature crosses."""

    def __init__(self, features: Sequence[Any], offsets: Sequence[int] | None, bits: int | None, seed: int) -> None:
        components: list[Any] = []
        for f in features:
            for c in f.components:
                if c not in components:  # shared components (e.g. lat 1') are computed once per row
                    components.append(c)
        self.components = components
        self.numeric_columns = list(dict.fromkeys(c.column for c in components if isinstance(c, (Bucketize, Numeric))))
        self.categorical = [c for c in components if isinstance(c, Categorical)]
        self.token_components = [c for c in components if isinstance(c, Tokens)]
        n = len(components)
        comp_f = np.zeros((n, 3), dtype=np.float64)
        comp_i = np.zeros((n, 6), dtype=np.int64)
        edges: list[float] = []
        for i, c in enumerate(components):
            c._kernel_params(comp_f[i], comp_i[i], edges)
            if isinstance(c, Categorical):
                comp_i[i, kc.SRC] = self.categorical.index(c)
            elif isinstance(c, Tokens):
                comp_i[i, kc.SRC] = self.token_components.index(c)
            else:
                comp_i[i, kc.SRC] = self.numeric_columns.index(c.column)
        slots, slot_comp, slot_radix = [0], [], []
        for f in features:
            for c in f.components:
                slot_comp.append(components.index(c))
                slot_radix.append(c.size if c.size is not None else 0)
            slots.append(len(slot_comp))
        self.feat_slots = np.array(slots, dtype=np.int64)
        self.slot_comp = np.array(slot_comp, dtype=np.int64)
        self.slot_radix = np.array(slot_radix, dtype=np.int64)
        if bits is None:
            self.feat_base = np.array(offsets[:-1], dtype=np.uint64)
            shift = 0
        else:
            self.feat_base = np.array([hk.feature_base(f.name, seed) for f in features], dtype=np.uint64)
            shift = 64 - bits
        self.feat_multi = np.array([any(isinstance(c, Tokens) for c in f.components) for f in features], dtype=np.bool_)
        self.kernel = (comp_f, comp_i, np.array(edges if edges else [0.0], dtype=np.float64), self.feat_slots,
                       self.slot_comp, self.slot_radix, self.feat_base, self.feat_multi, shift)
        self.max_arity = max(len(f.components) for f in features)
        # Without token or numeric components a row is one entry of value 1 per feature.
        self.plain = not self.token_components and not any(isinstance(c, Numeric) for c in components)

    # -- inputs ------------------------------------------------------------------------------------
    def inputs(self, columns: dict[str, Any], n_rows: int, row0: int, chunk: int | None, keep: bool = False) -> Inputs:
        numeric = [as_numeric(columns[name], name) for name in self.numeric_columns]
        ids, texts = [], []
        for c in self.categorical:
            text = text_column(columns[c.column], c.column)
            ids.append(c._column_ids(text, row0, chunk))
            texts.append(text)
        ptrs, token_ids, lists = [], [], []
        total = 0
        for c in self.token_components:
            tokens = c.token_list(columns[c.column])
            row_ptr, tok = c._token_ids(tokens, row0, chunk)
            ptrs.append(row_ptr + total)
            token_ids.append(tok)
            lists.append(tokens)
            total += tok.size
        multi_ptr = np.vstack(ptrs) if ptrs else np.zeros((0, n_rows + 1), dtype=np.int64)
        multi_ids = np.concatenate(token_ids) if token_ids else np.zeros(0, dtype=np.int64)
        return Inputs(numeric, ids, (multi_ptr, multi_ids), n_rows, texts if keep else [], lists if keep else [])

    def block(self, inputs: Inputs, s: int, e: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``s:e`` of the numeric and id inputs, stacked as the kernels read them."""
        values = np.empty((len(inputs.numeric), e - s), dtype=np.float64)
        for j, column in enumerate(inputs.numeric):
            values[j] = column[s:e]
        ids = np.empty((len(inputs.ids), e - s), dtype=np.int64)
        for j, column in enumerate(inputs.ids):
            ids[j] = column[s:e]
        return values, ids

    def reject_error(self, bad: np.ndarray, inputs: Inputs, block_start: int, row0: int, chunk: int | None) -> ValueError:
        c = int(np.flatnonzero(bad >= 0)[0])
        comp = self.components[c]
        x = as_float64(inputs.numeric[self.numeric_columns.index(comp.column)], comp.column)
        return comp._reject_error(x, block_start + int(bad[c]), row0, chunk)

    # -- output ------------------------------------------------------------------------------------
    def fill(self, inputs: Inputs, n_features: int, row0: int, chunk: int | None,
             n_jobs: int = 1) -> scipy.sparse.csr_matrix:
        n_rows = inputs.n_rows
        width = len(self.feat_multi)
        if self.feat_multi.any():
            nnz_max = int(hk.count_entries(self.kernel, inputs.multi, n_rows))
        else:
            nnz_max = n_rows * width
        index_dtype = np.int32 if n_features <= _INT32_MAX and nnz_max <= _INT32_MAX else np.int64
        arrays = (np.empty(nnz_max, dtype=index_dtype), np.empty(nnz_max, dtype=np.float32),
                  np.empty(n_rows + 1, dtype=index_dtype))
        arrays[2][0] = 0
        # Token lists give rows of varying length, so a block's first entry is known only after
        # the rows before it: those specs fill on one thread (the same matrix either way).
        if n_jobs > 1 and n_rows > THREAD_BLOCK_ROWS and not self.feat_multi.any():
            pos = self._fill_on_threads(inputs, width, arrays, row0, chunk, n_jobs)
        else:
            pos, failed = self._fill_rows(inputs, 0, n_rows, 0, arrays)
            if failed is not None:
                raise self.reject_error(failed[0], inputs, failed[1], row0, chunk)
        indices, data, indptr = arrays
        if pos < nnz_max:  # hashed rows whose features shared a column, zero values: drop the unused tail
            indices, data = indices[:pos], data[:pos]
        X = scipy.sparse.csr_matrix((data, indices, indptr), shape=(n_rows, n_features), copy=False)
        if X.indices.dtype != index_dtype:  # SciPy shrinks index dtypes of empty matrices
            X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
        X.has_canonical_format = True
        return X

    def _fill_rows(self, inputs: Inputs, start: int, stop: int, pos: int,
                   arrays: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[int, tuple[np.ndarray, int] | None]:
        """CSR rows ``start..stop-1`` from entry ``pos`` on; returns the entries' end and, on a
        rejected value, (the kernel's report, the start of its block)."""
        bad = np.full(len(self.components), -1, dtype=np.int64)
        for s in range(start, stop, BLOCK_ROWS):
            e = min(stop, s + BLOCK_ROWS)
            values, ids = self.block(inputs, s, e)
            if self.plain:
                pos = hk.fill_plain_block(values, ids, self.kernel, arrays, s, pos, bad)
            else:
                pos = hk.fill_block(values, ids, inputs.multi, self.kernel, arrays, s, pos, bad)
            if (bad >= 0).any():
                return pos, (bad, s)
        return pos, None

    def _fill_on_threads(self, inputs: Inputs, width: int, arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
                         row0: int, chunk: int | None, n_jobs: int) -> int:
        """``_fill_rows`` over fixed row blocks on threads, each writing from its rows' first
        possible entry (``width`` per row); then the blocks are closed up in order (hashed rows may
        merge entries): the same arrays as one thread, and the first error in row order."""
        block_rows = task_rows(inputs.n_rows, n_jobs)
        done = run_blocks(lambda s, e: self._fill_rows(inputs, s, e, s * width, arrays), inputs.n_rows, n_jobs,
                          block_rows)
        for _, failed in done:
            if failed is not None:
                raise self.reject_error(failed[0], inputs, failed[1], row0, chunk)
        blocks = row_blocks(inputs.n_rows, block_rows)
        return _close_gaps(arrays, [(start, stop, start * width, end) for (start, stop), (end, _) in zip(blocks, done)],
                           n_jobs)

    def keys(self, inputs: Inputs, row0: int, chunk: int | None) -> tuple[np.ndarray, np.ndarray]:
        """``(feature, ids)`` of every entry of the table: ``ids`` is (n, max_arity), -1 padded."""
        n_rows = inputs.n_rows
        total = int(hk.count_entries(self.kernel, inputs.multi, n_rows)) if self.feat_multi.any() else n_rows * len(self.feat_multi)
        key_feat = np.empty(total, dtype=np.int64)
        key_ids = np.full((total, self.max_arity), -1, dtype=np.int64)
        bad = np.full(len(self.components), -1, dtype=np.int64)
        pos = 0
        for s in range(0, n_rows, BLOCK_ROWS):
            e = min(n_rows, s + BLOCK_ROWS)
            values, ids = self.block(inputs, s, e)
            pos = hk.emit_keys(values, ids, inputs.multi, self.kernel, s, key_feat, key_ids, pos, bad)
            if (bad >= 0).any():
                raise self.reject_error(bad, inputs, s, row0, chunk)
        return key_feat[:pos], key_ids[:pos]


def _close_gaps(arrays: tuple[np.ndarray, np.ndarray, np.ndarray], blocks: list[tuple[int, int, int, int]],
                n_jobs: int) -> int:
    """Move each block's entries down to follow the previous block's; returns the entries' end.

    ``blocks``: (first row, end row, first entry, end entry) of each, in order. Block k moves
    down by the gaps before it, ``shift_k``: it writes ``[first_k - shift_k, end_k - shift_k)``,
    which overlaps only the last ``shift_{k-1}`` entries of the block before. With those tails
    copied aside first, every block moves at once on the threads (when every shift is shorter
    than every block; else, as with one thread, in order)."""
    indices, data, _ = arrays
    shifts, pos = [], 0
    for _, _, first, end in blocks:
        shifts.append(first - pos)
        pos += end - first
    if not any(shifts):
        return pos
    if n_jobs == 1 or max(shifts) > min(end - first for _, _, first, end in blocks):
        for block, shift in zip(blocks, shifts):
            _move(arrays, *block, shift, None)
        return pos
    tails = [(indices[end - shift : end].copy(), data[end - shift : end].copy())
             for (_, _, _, end), shift in zip(blocks, shifts)]
    run_tasks([lambda b=b, shift=shift, tail=tail: _move(arrays, *b, shift, tail)
               for b, shift, tail in zip(blocks, shifts, tails)], n_jobs)
    return pos


def _move(arrays: tuple[np.ndarray, np.ndarray, np.ndarray], start: int, stop: int, first: int, end: int, shift: int,
          tail: tuple[np.ndarray, np.ndarray] | None) -> None:
    """Block ``start..stop-1``'s entries ``[first, end)`` down by ``shift``; with ``tail``, its last
    ``shift`` entries come from there (the block after may have written over them)."""
    if shift == 0:
        return
    indices, data, indptr = arrays
    keep = end - first - (shift if tail is not None else 0)
    indices[first - shift : first - shift + keep] = indices[first : first + keep]
    data[first - shift : first - shift + keep] = data[first : first + keep]
    if tail is not None:
        indices[end - 2 * shift : end - shift], data[end - 2 * shift : end - shift] = tail
    indptr[start + 1 : stop + 1] -= shift
