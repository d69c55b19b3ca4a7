"""Stochastic epochs on K threads: shards of each round trained apart, then mixed.

A pass over rows in a given order goes by *rounds* of ``K x SHARD_ROWS`` rows. A round's rows
are cut into K consecutive shards; each thread gathers its shard's rows, copies the records of
the slots they touch into a local state (``_shard``: O(slots touched), never as long as the
state), runs the optimizer's own epoch kernel on them from the round's starting state, settles
the result (SGD brings its touched weights up to the shard's clock: no penalty still owed) and
sorts it by slot. Then the shards are mixed into the state (:mod:`.mixing`, slot ranges on
threads): each touched slot's record takes the mean of the shards' moves weighted by the rows
that touched it (every field: SGD's weight, stamp and rate sum; FTRL's ``z`` and ``n``, from
which its weights, exact zeros included, follow), a slot one shard alone touched takes that
shard's record, and the optimizer's running scalars (SGD's clock, intercept and its rate sum;
FTRL's weight seen, which sets the threshold, and the intercept's ``z`` and ``n``) take the mean
of the shards' moves weighted by their rows; the count of examples adds up. The mixed model is
the weighted mean of the shards' models, the classic iterative parameter mixing.

Which rows a shard gets depends on the order and on K only, the kernels are serial and the mix
adds shards in shard order: the same (order, K) gives the same bits, however the threads run.

``SHARD_ROWS``: 262,144 rows per shard and round. Measured on 1M generated geo rows at the exact
width (default fit; one thread: objective 0.45065, held-out log-loss 0.46875): 65,536 rows gave
0.45083 / 0.46972 at 2 threads and 0.45220 / 0.47025 at 4; 262,144 gave 0.45067 / 0.46904 and
0.45134 / 0.46906 (shared weights are averaged less often). A shard's rows also touch fewer
distinct slots per row (1.26 against 1.80), which is what copying in, sorting and merging cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._parallel import run_tasks
from . import _shard, _state
from .mixing import merge_into, mix
from .optimizer import Optimizer
from .rows import Rows, buffers, gather_rows

SHARD_ROWS = 262_144
_ENTRIES_PER_ROW = 16  # first guess at a gathered shard's entries; grown when rows are longer


@dataclass
class _Result:
    ids: np.ndarray  # slots touched (int64)
    records: np.ndarray  # their trained, settled records
    counts: np.ndarray  # rows of the shard touching each (float64)
    scalars: np.ndarray
    n_rows: int
    bad: int  # -1, or the position in the pass's order of the first non-finite update


class _Shard:
    """One thread's buffers, kept between rounds and passes, grown when a round needs more."""

    def __init__(self, n_fields: int) -> None:
        self.rows: Rows | None = None
        self.table = np.empty((0, 2), dtype=np.int32)  # (slot, local id) buckets
        self.slots = np.empty(0, dtype=np.int32)  # the gathered rows' slots as local ids
        self.last_local = 0  # distinct slots of the last round (0: none yet)
        self._local_state(0, n_fields)

    def _local_state(self, n: int, n_fields: int) -> None:
        self.ids = np.empty(n, dtype=np.int64)
        self.counts = np.empty(n)
        self.buckets = np.empty(n, dtype=np.int64)
        self.local = np.empty((n, n_fields))
        self.out_ids = np.empty(n, dtype=np.int64)  # the settled state, sorted by slot
        self.out_counts = np.empty(n)
        self.out_local = np.empty((n, n_fields))

    def gather(self, rows: Rows, order: np.ndarray, lo: int, hi: int) -> Rows:
        """Rows ``order[lo:hi]`` in that order, in this shard's buffer."""
        m = hi - lo
        entries = _ENTRIES_PER_ROW * m
        while True:
            old = self.rows
            if (old is None or old.y.shape[0] < m or old.slots.shape[0] < entries
                    or old.data.dtype != rows.data.dtype or old.y.dtype != rows.y.dtype
                    or (old.data.shape[0] == 0) != (rows.data.shape[0] == 0)
                    or (old.sw.shape[0] == 0) != (rows.sw.shape[0] == 0)):
                self.rows = buffers(rows, m, max(entries, 0 if old is None else old.slots.shape[0]), np.int64)
            buf = self.rows
            if gather_rows(*rows.arrays, order, lo, hi, *buf.arrays) == hi:
                return Rows(buf.indptr[: m + 1], buf.slots, buf.data, buf.y, buf.sw)
            entries = 2 * buf.slots.shape[0]  # long rows: room for twice as many entries

    def localize(self, chunk: Rows, n_entries: int, records: np.ndarray) -> tuple[Rows, int]:
        """``chunk`` with local ids for slots, and how many; the local state holds a copy of
        their ``records``.

        The table holds twice the last round's slots (rows of one shard touch about as many
        distinct slots round after round; the first round guesses half its entries) and
        doubles when it would get half full: sized by what the rows touch, not by their
        entries, it misses the cache less."""
        n_fields = records.shape[1]
        if self.ids.shape[0] < n_entries or self.local.shape[1] != n_fields:
            self._local_state(max(n_entries, self.ids.shape[0]), n_fields)
        if self.slots.shape[0] < n_entries:
            self.slots = np.empty(n_entries, dtype=np.int32)
        want = 1 << max(4, (2 * (self.last_local or n_entries // 2)).bit_length())
        if self.table.shape[0] < want:
            self.table = np.full((want, 2), _shard.EMPTY, dtype=np.int32)
        while True:
            n_local = int(_shard.localize(chunk.slots, n_entries, self.table, self.ids, self.counts, self.buckets,
                                          self.slots, records, self.local))
            _shard.clear(self.table, self.buckets, n_local if n_local >= 0 else -1 - n_local)
            if n_local >= 0:
                break
            self.table = np.full((2 * self.table.shape[0], 2), _shard.EMPTY, dtype=np.int32)
        self.last_local = n_local
        return Rows(chunk.indptr, self.slots, chunk.data, chunk.y, chunk.sw), n_local


class ShardedEpochs:
    """Passes of ``optimizer`` on ``n_jobs`` threads (see the module docstring)."""

    def __init__(self, optimizer: Optimizer, n_jobs: int, shard_rows: int | None = None) -> None:
        self.optimizer = optimizer
        self.n_jobs = n_jobs
        self.shard_rows = SHARD_ROWS if shard_rows is None else shard_rows
        self.shards = [_Shard(optimizer.record_width) for _ in range(n_jobs)]
        self.in_order = np.arange(self.shard_rows, dtype=np.int32)

    def run(self, rows: Rows, order: np.ndarray, records: np.ndarray, scalars: np.ndarray) -> int:
        """One pass over ``rows`` in ``order``, updating ``records`` and ``scalars`` in place.

        Returns -1, or the position in ``order`` of a row whose update was not finite (the
        rounds before it are merged). The pass's loss and weight sums are left in ``scalars``.
        """
        k, n = self.n_jobs, order.shape[0]
        loss_sum = weight_sum = 0.0
        lo = 0
        while lo < n:
            hi = min(lo + k * self.shard_rows, n)
            cuts = [lo + (hi - lo) * s // k for s in range(k + 1)]
            tasks = [self._task(s, rows, order, cuts[s], cuts[s + 1], records, scalars)
                     for s in range(k) if cuts[s + 1] > cuts[s]]
            results = run_tasks(tasks, k)
            for result in results:
                if result.bad >= 0:
                    scalars[_state.LOSS_SUM], scalars[_state.WEIGHT_SUM] = loss_sum, weight_sum
                    return result.bad
            self._merge(results, records, scalars)
            loss_sum += sum(float(r.scalars[_state.LOSS_SUM]) for r in results)
            weight_sum += sum(float(r.scalars[_state.WEIGHT_SUM]) for r in results)
            lo = hi
        scalars[_state.LOSS_SUM], scalars[_state.WEIGHT_SUM] = loss_sum, weight_sum
        return -1

    def _task(self, s: int, rows: Rows, order: np.ndarray, lo: int, hi: int, records: np.ndarray,
              scalars: np.ndarray):  # type: ignore[no-untyped-def]
        return lambda: self._train(self.shards[s], rows, order, lo, hi, records, scalars)

    def _train(self, shard: _Shard, rows: Rows, order: np.ndarray, lo: int, hi: int, records: np.ndarray,
               scalars: np.ndarray) -> _Result:
        m = hi - lo
        gathered = shard.gather(rows, order, lo, hi)
        chunk, n_local = shard.localize(gathered, int(gathered.indptr[m]), records)
        local = shard.local[:n_local]
        own = scalars.copy()
        bad = self.optimizer.run_epoch(chunk, self.in_order[:m], local, own)
        if bad < 0 and self.optimizer.settle(local, n_local, own) >= 0:
            bad = m - 1  # a weight beyond float32: reported at the shard's last row
        if bad >= 0:
            return _Result(shard.ids[:0], local[:0], shard.counts[:0], own, m, lo + bad)
        _shard.sorted_by_slot(shard.ids, local, shard.counts, n_local, shard.out_ids, shard.out_local, shard.out_counts)
        return _Result(shard.out_ids[:n_local], shard.out_local[:n_local], shard.out_counts[:n_local], own, m, -1)

    def _merge(self, results: list[_Result], records: np.ndarray, scalars: np.ndarray) -> None:
        merge_into(records, [r.ids for r in results], [r.records for r in results], [r.counts for r in results],
                   self.n_jobs)
        steps = scalars[_state.STEPS] + sum(r.scalars[_state.STEPS] - scalars[_state.STEPS] for r in results)
        every = np.arange(scalars.shape[0])
        _, mixed = mix([every] * len(results), [r.scalars.reshape(-1, 1) for r in results],
                       [scalars.reshape(-1, 1)] * len(results), [np.full(every.shape[0], float(r.n_rows)) for r in results])
        scalars[:] = mixed[:, 0]
        scalars[_state.STEPS] = steps
