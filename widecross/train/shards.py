"""Stochastic epochs on K threads: row shards trained apart, their shared slots mixed each round.

**Once per set of rows** (a fit's rows come back every epoch: the work is done once per fit) the
rows are dealt to K shards: shard ``k`` gets the rows at positions ``n k / K`` to
``n (k + 1) / K`` of the first pass's order (a random, balanced partition). Each entry's slot is
renamed once to a *local* id of its shard (``_shard``; one int32 per entry): a shard owns a
state of the records of the slots its rows touch, O(those slots), never as long as the state. A slot
touched by rows of two shards or more is *shared*; the others belong to one shard alone. All of it
runs on the threads: each shard names its rows in ``shard_of``, collects them in storage order
(one pass over ``shard_of``) and sets a bit per slot they touch (n_slots / 8 bytes per shard),
each thread finds the shared slots of a range of words from those bits, then renames the entries
of a range of rows in one pass, each from its row's shard's table of a row per 64-slot word (see
``_shard``: no table as long as the state). Each shard counts its entries of shared slots in the
first pass's rounds, on the chunks it gathers to train.

**Each pass** visits each shard's rows in the order they come in the pass's order (a fresh random
order within the shard), or, for a :class:`~.rows.Shuffle` pass (an in-memory fit's epochs after the
first), in a fresh random order that each shard draws for its own rows, in rounds: with
``R = ceil(n / (K SHARD_ROWS))`` rounds, shard ``k`` trains the ``r``-th R-th of its rows in round ``r``, on its
own thread, with the optimizer's own epoch kernel on its local state; then settles its shared slots
(SGD brings their weights up to its clock: no penalty still owed). Between rounds only the shared
slots are mixed: a shared slot takes the mean of the shards' moves weighted by the rows of the round
that touched it (every field: SGD's weight, stamp and rate sum; FTRL's ``z`` and ``n``), or the
record of the one shard whose rows touched it, and every shard continues from that record; a slot of
one shard is never mixed. The optimizer's running scalars (SGD's intercept and its rate sum; FTRL's
weight seen and the intercept's ``z`` and ``n``) take the mean of the shards' moves weighted by
their rows, the count of examples adds up. At the end of the pass each shard settles its shared
slots, a shared slot takes the mean of the shards' copies weighted by the rows of each shard that
touch it (the copies differ only by the penalty each shard's clock owed them since their last mix);
with one round per pass, the round's mix is already that. The mixed records stay in the plan and the
slots of one shard in its copy until someone reads the records (``flush``: the trainer's ``records``
does it) or another pass needs them: a pass that finds the state as the last one left it resumes
from the plan and the shards' copies, and the state's full copy in and out happens once per fit, not
once per pass. Each shard picks its rows out of the pass's order (or shuffles them) at the start of
its first round (no separate phase, no barrier).

**Clocks** (SGD): each shard keeps its own clock, advanced by its own rows only, and its records
are stamped in it: the penalty a slot of one shard owes is what that shard's run owes it, with
no work for it at the mixes. A mixed record is settled, so it is stamped at each shard's own
clock. The invariant: in every shard, a record's weight is ``flow(w, r (clock_k - stamp))`` at
its shard's clock ``clock_k``; at the end of a pass the state's clock ``C`` advances by the
rows-weighted mean of the shards' advances, a shared record is written back settled and stamped
at ``C``, a shard's own record with its stamp moved by ``C - clock_k`` (it owes the same
penalty, and its weight needs no catch-up now). FTRL's records need no clock.

Which rows a shard gets and in which order depend on the first order, the pass's order and K
only, the kernels are serial and the mixes add shards in shard order: the same (orders, K) give
the same bits, however the threads run.

Why rows are dealt at random and not by place: dealing each row to the shard of its most
frequent slot (its coarsest cell), shards balanced by rows, halved the shared slots on 1M
generated geo rows at 2^22 (97,490 against 201,906) but cost held-out log-loss after the default
fit: +0.0014 at 2 threads and +0.0034 at 4 over one thread, against +0.0005 and +0.0005 for the
random deal (a shard alone then trains most slots, with the penalty of its own rows only).

``SHARD_ROWS``: 1,048,576 rows per shard and round. On 1M generated rows (default fit, l1
1e-6; one thread: held-out log-loss 0.46972, objective 0.450425), 2 threads gave 0.46993 /
0.450620 with one mix per pass and 0.47022 / 0.450546 with two; on 2M rows at 2^22 (one thread:
0.46129 / 0.462688), 0.46114 / 0.462630 with one mix per pass and 0.46112 / 0.462610 with two.
One round per pass also needs no counts of its own (the shards' fixed counts are the round's)
and no end mix (the round's mix is the pass's): its shards skip both.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from .._parallel import even_cuts, even_ranges
from . import _shard, _state
from .optimizer import Optimizer
from .phases import Phase, SerialPhase, run_phase
from .rows import Rows, Shuffle, buffers, gather_rows, shard_generator, shuffle_in_place, visits

SHARD_ROWS = 1_048_576
# A round trains its rows gathered this many at a time, as the one-thread epochs do: the chunk
# stays in cache while trained (gathering a whole round of a million rows first cost 0.1 CPU-s more
# over a 2M-row fit, the chunk written to and read back from memory).
CHUNK_ROWS = 65_536
_ENTRIES_PER_ROW = 16  # first guess at a chunk's entries per row; grown when rows are longer


class _Plan:
    """Rows dealt to shards and renamed to local ids; the shards' states and the shared slots'."""

    def __init__(self, rows: Rows, order: np.ndarray, n_jobs: int, n_slots: int, n_fields: int,
                 phases: list[Phase]) -> None:
        serial = SerialPhase(phases, "plan (calling thread)")
        n = rows.n_rows
        self.phases = phases
        self.source = (rows.indptr, rows.slots)
        self.rows = rows
        self.n_jobs = n_jobs
        self.shard_of = np.empty(n, dtype=np.int8 if n_jobs < 128 else np.int32)
        cuts = even_cuts(n, n_jobs)
        # each shard's part of the order names its rows, then each shard collects them in storage
        # order (one pass over ``shard_of``, no sort) and marks the slots they touch
        serial.around(run_phase, [_call(_shard.deal_rows, order, cuts[k], cuts[k + 1], k, self.shard_of)
                                   for k in range(n_jobs)], n_jobs, phases, "deal")
        marks = np.zeros((n_jobs, (n_slots + 63) // 64), dtype=np.uint64)  # the slots each shard touches
        rows_of = serial.around(run_phase, [_call(self._own_rows, k, cuts[k + 1] - cuts[k], order.dtype, marks[k])
                                             for k in range(n_jobs)], n_jobs, phases, "own rows")
        self.row_offsets = np.cumsum([0] + [r.shape[0] for r in rows_of]).astype(np.int64)
        n_words = marks.shape[1]
        shared = np.empty(n_words, dtype=np.uint64)  # a bit per slot that two shards or more touch
        words = even_ranges(n_words, n_jobs)
        serial.around(run_phase, [_call(_shard.shared_words, marks, lo, hi, shared) for lo, hi in words], n_jobs,
                      phases, "shared slots")
        union_before = np.empty(n_words, dtype=np.int64)
        self.union = np.empty(_shard.rank_words(shared, union_before), dtype=np.int64)
        _shard.set_bits(shared, self.union)
        # the word tables (one pass over the words per shard) size each shard's part of the ids,
        # shared positions and counts, which the threads write in place (no copies here)
        tables = np.empty((n_jobs, n_words, 4), dtype=np.uint64)
        sizes = [_shard.word_table(marks[k], shared, tables[k]) for k in range(n_jobs)]
        self.local_offsets = np.cumsum([0] + [n_shared + n_own for n_shared, n_own in sizes]).astype(np.int64)
        self.shared_offsets = np.cumsum([0] + [n_shared for n_shared, _ in sizes]).astype(np.int64)
        self.ids = np.empty(int(self.local_offsets[-1]), dtype=np.int64)
        self.shared_pos = np.empty(int(self.shared_offsets[-1]), dtype=np.int64)
        self.fixed_counts = np.zeros(int(self.shared_offsets[-1]))
        self.local_slots = np.empty_like(rows.slots)  # each entry's slot as a local id of its shard
        n_shared = np.diff(self.shared_offsets)
        serial.around(run_phase, [_call(self._localize, rows, cuts[k], cuts[k + 1], tables, n_shared, union_before, k)
                                   for k in range(n_jobs)], n_jobs, phases, "localize")
        # shared entries are counted by the first pass's rounds, on their gathered chunks (a shard's
        # rows read here in place are one row in K of each line: K times the lines for the counts)
        self.counted = False
        del marks, rows_of, tables
        self.round_counts = np.zeros(self.fixed_counts.shape[0])
        self.local = np.empty((self.ids.shape[0], n_fields))
        n_union = self.union.shape[0]
        self.base = np.empty((n_union, n_fields))
        self.move = np.empty((n_union, n_fields))
        self.total = np.empty(n_union)
        self.holders = np.zeros(n_union, dtype=np.int32)
        self.single = np.empty(n_union, dtype=np.int64)
        self.orders = np.empty(n, dtype=order.dtype)
        self.written: tuple[np.ndarray, np.ndarray] | None = None  # the state as the last pass left it
        self.ranges = even_ranges(n_union, n_jobs)
        # Copying the records in and out: cut where the slots (the records' pages) are halved, not the
        # shared slots: the first write of a fresh state's pages (page faults) is most of the work.
        cuts = np.searchsorted(self.union, even_cuts(n_slots, n_jobs)).tolist()
        cuts[-1] = n_union
        self.page_ranges = list(zip(cuts[:-1], cuts[1:]))
        serial.close()

    def _own_rows(self, k: int, n_rows: int, dtype: np.dtype, marks: np.ndarray) -> np.ndarray:
        """Shard ``k``'s ``n_rows`` rows in storage order (gathers read forward), their slots marked."""
        mine = np.empty(n_rows, dtype=dtype)
        _shard.shard_rows(self.shard_of, k, mine)
        _shard.mark_slots(self.rows.indptr, self.rows.slots, mine, marks)
        return mine

    def _localize(self, rows: Rows, lo: int, hi: int, tables: np.ndarray, n_shared: np.ndarray,
                  union_before: np.ndarray, k: int) -> None:
        """The local slots of the entries of rows ``lo:hi``, and shard ``k``'s local ids and its
        shared slots' places in the union, into their parts of the plan's arrays."""
        _shard.localize_rows(rows.indptr, rows.slots, self.shard_of, tables, n_shared, lo, hi, self.local_slots)
        ids, pos = (self.ids[self.local_offsets[k]:self.local_offsets[k + 1]],
                    self.shared_pos[self.shared_offsets[k]:self.shared_offsets[k + 1]])
        _shard.local_ids(tables[k], union_before, ids, pos)

    def serves(self, rows: Rows) -> bool:
        return self.source[0] is rows.indptr and self.source[1] is rows.slots and self.shard_of.shape[0] == rows.n_rows

    def on_ranges(self, name: str, kernel, *args, by_pages: bool = False) -> None:  # type: ignore[no-untyped-def]
        """``kernel(lo, hi, *args)`` over slices of the shared slots, on the threads (``by_pages``:
        slices of the records they cover)."""
        ranges = self.page_ranges if by_pages else self.ranges
        run_phase([_call(kernel, lo, hi, *args) for lo, hi in ranges if hi > lo], self.n_jobs, self.phases, name)

    def mix(self, counts: np.ndarray, name: str = "mix") -> None:
        self.on_ranges(name, self._mix, counts)

    def _mix(self, lo: int, hi: int, counts: np.ndarray) -> None:
        _shard.mix_shared(self.local, self.local_offsets, self.shared_offsets, self.shared_pos, counts, lo, hi,
                          self.base, self.holders, self.single, self.total, self.move)


def _call(fn, *args):  # type: ignore[no-untyped-def]
    return lambda: fn(*args)


class _Shard:
    """One shard: views of its part of the plan, its scalars, its gather buffer."""

    def __init__(self, plan: _Plan, k: int) -> None:
        self.k = k
        rows = slice(plan.row_offsets[k], plan.row_offsets[k + 1])
        local_ids = slice(plan.local_offsets[k], plan.local_offsets[k + 1])
        shared = slice(plan.shared_offsets[k], plan.shared_offsets[k + 1])
        self.rows = Rows(plan.rows.indptr, plan.local_slots, plan.rows.data, plan.rows.y, plan.rows.sw)
        self.n_rows = rows.stop - rows.start
        self.order = plan.orders[rows]
        self.ids = plan.ids[local_ids]
        self.local = plan.local[local_ids]
        self.n_shared = shared.stop - shared.start
        self.shared_pos = plan.shared_pos[shared]
        self.counts = plan.round_counts[shared]
        self.fixed = plan.fixed_counts[shared]  # all its rows' counts: the sum of the first pass's rounds'
        self.scalars = np.empty(0)
        self.last_clock = 0.0  # the shard's clock at the end of the last pass
        self.buffer: Rows | None = None

    def gather(self, lo: int, hi: int) -> Rows:
        """Rows ``order[lo:hi]`` in that order, in this shard's buffer."""
        rows, m = self.rows, hi - lo
        entries = _ENTRIES_PER_ROW * m
        while True:
            old = self.buffer
            if old is None or old.y.shape[0] < m or old.slots.shape[0] < entries:
                self.buffer = buffers(rows, m, max(entries, 0 if old is None else old.slots.shape[0]), np.int64)
            buf = self.buffer
            if gather_rows(*rows.arrays, self.order, lo, hi, *buf.arrays) == hi:
                return Rows(buf.indptr[: m + 1], buf.slots, buf.data, buf.y, buf.sw)
            entries = 2 * buf.slots.shape[0]  # long rows: room for twice as many entries


class ShardedEpochs:
    """Passes of ``optimizer`` on ``n_jobs`` threads (see the module docstring).

    ``phases``: each phase since the last ``run`` began (building the plan, splitting the order,
    each round, each mix...): its name, wall seconds and each task's thread CPU seconds (a
    phase on the calling thread has one task): what the benchmarks read to find the critical path
    and where the time goes.
    """

    def __init__(self, optimizer: Optimizer, n_jobs: int, shard_rows: int | None = None,
                 chunk_rows: int = CHUNK_ROWS) -> None:
        self.optimizer = optimizer
        self.n_jobs = n_jobs
        self.shard_rows = SHARD_ROWS if shard_rows is None else shard_rows
        self.chunk_rows = chunk_rows
        self.plan: _Plan | None = None
        self.shards: list[_Shard] = []
        self.phases: list[Phase] = []
        self.stamps = np.asarray(optimizer.stamp_fields, dtype=np.int64)
        self.in_order = np.arange(0, dtype=np.int32)
        # (records, the state's clock) while the last pass's records are not written back yet
        self.pending: tuple[np.ndarray, float] | None = None

    def adopt(self, optimizer: Optimizer) -> bool:
        """Go on under ``optimizer`` (the same kind with other settings: a path's next l1), the
        plan of the rows kept; the next pass copies the records in. False: another kind."""
        if optimizer is self.optimizer:
            return True
        if (type(optimizer) is not type(self.optimizer) or optimizer.record_width != self.optimizer.record_width
                or tuple(optimizer.stamp_fields) != tuple(self.optimizer.stamp_fields)
                or optimizer.clock_scalar != self.optimizer.clock_scalar):
            return False
        self.flush()  # under the settings the records were written with
        self.forget()
        self.optimizer = optimizer
        return True

    def _plan_for(self, rows: Rows, order: np.ndarray | Shuffle, n_slots: int) -> tuple[_Plan, np.ndarray | Shuffle]:
        if self.plan is None or not self.plan.serves(rows):  # rows are dealt by a whole order
            order = order.draw() if isinstance(order, Shuffle) else order
            self.flush()
            self.plan = None  # its memory first
            self.plan = _Plan(rows, order, self.n_jobs, n_slots, self.optimizer.record_width, self.phases)
            self.shards = [_Shard(self.plan, k) for k in range(self.n_jobs)]
        return self.plan, order

    def run(self, rows: Rows, order: np.ndarray | Shuffle, records: np.ndarray, scalars: np.ndarray) -> int:
        """One pass over ``rows`` in ``order``, updating ``records`` and ``scalars`` in place; a
        :class:`Shuffle`: each shard shuffles its rows on its thread (the rows are dealt from a
        whole order drawn from it first, if they were not dealt yet).

        Returns -1, or the position in ``order`` (a Shuffle: the row) of a row whose update was not
        finite (the state may be partly updated); the pass's loss and weight sums in ``scalars``.
        """
        n = visits(rows, order)
        self.phases.clear()
        if n == 0:
            scalars[_state.LOSS_SUM] = scalars[_state.WEIGHT_SUM] = 0.0
            return -1
        plan, order = self._plan_for(rows, order, records.shape[0])
        # The shards' states still hold what the last pass wrote, unless the state was replaced
        # (the trainer drops the plan when it sets weights) or its scalars changed.
        resume = plan.written is not None and plan.written[0] is records and plan.written[1].tobytes() == scalars.tobytes()
        plan.written = None
        if resume:
            self.pending = None  # the shards' copies go on from where they are
        else:
            self.flush()
            plan.on_ranges("copy in", lambda lo, hi: _shard.copy_in(records, plan.union[lo:hi], plan.base[lo:hi]),
                           by_pages=True)
            plan.holders[:] = 0
        start = scalars.copy()
        for shard in self.shards:
            shard.scalars = start.copy()
        n_rounds = max(1, math.ceil(n / (self.n_jobs * self.shard_rows)))
        longest = min(max(-(-s.n_rows // n_rounds) for s in self.shards), self.chunk_rows)
        if self.in_order.shape[0] < longest:
            self.in_order = np.arange(longest, dtype=np.int32)
        mixed, sums = start, np.zeros(2)
        # one round: its counts are the shards' fixed counts (all their rows; the first pass counts)
        counts = plan.fixed_counts if n_rounds == 1 else plan.round_counts
        tally = not plan.counted  # the rounds' counts: one round's straight into the fixed ones at first
        mode = "fixed" if tally and n_rounds == 1 else "round" if n_rounds > 1 else ""
        for r in range(n_rounds):
            spans = [(s.n_rows * r // n_rounds, s.n_rows * (r + 1) // n_rounds) for s in self.shards]
            tasks = [partial(self._train, s, plan, lo, hi, mixed, records if r == 0 and not resume else None,
                             order if r == 0 else None, mode, tally and r == 0)
                     for s, (lo, hi) in zip(self.shards, spans) if s.n_rows]
            bad = self._after(run_phase(tasks, self.n_jobs, self.phases, "round"))
            if bad >= 0:
                return self._position(plan, bad, order, scalars, sums)
            plan.counted = plan.counted or (tally and r == n_rounds - 1)
            plan.mix(counts)
            moved = [(s.scalars, float(hi - lo)) for s, (lo, hi) in zip(self.shards, spans) if hi > lo]
            sums += [sum(s[_state.LOSS_SUM] for s, _ in moved), sum(s[_state.WEIGHT_SUM] for s, _ in moved)]
            mixed = _mix_scalars(mixed, moved)
        clock = self.optimizer.clock_scalar
        if clock >= 0:  # the state's clock: the rows-weighted mean of the shards' advances
            mixed[clock] = _mix_scalars(start, [(s.scalars, float(s.n_rows)) for s in self.shards if s.n_rows])[clock]
        at = float(mixed[clock]) if clock >= 0 else 0.0
        if n_rounds == 1:
            # The round's mix is the pass's: every shared slot was mixed from all the rows that
            # touch it, and each shard's copy takes the mix at its next pass's first round.
            for shard in self.shards:
                shard.last_clock = shard.scalars[clock] if clock >= 0 else 0.0
            self.pending = records, at
        else:
            bad = self._after(run_phase([self._end_task(s, plan) for s in self.shards if s.n_rows],
                                         self.n_jobs, self.phases, "finish"))
            self.pending = records, at
            if bad >= 0:
                return self._position(plan, bad, order, scalars, sums)
            plan.mix(plan.fixed_counts, "end mix")
        scalars[:] = mixed
        scalars[_state.LOSS_SUM], scalars[_state.WEIGHT_SUM] = sums
        plan.written = records, scalars.copy()
        return -1

    @property
    def phase_cpu(self) -> list[list[float]]:
        """Each phase's task CPU seconds (see ``phases``)."""
        return [phase.cpu for phase in self.phases]

    @staticmethod
    def _after(results: list[int]) -> int:
        return next((b for b in results if b >= 0), -1)

    @staticmethod
    def _position(plan: _Plan, bad: int, order: np.ndarray | Shuffle, scalars: np.ndarray,
                  sums: np.ndarray) -> int:
        scalars[_state.LOSS_SUM], scalars[_state.WEIGHT_SUM] = sums
        return bad if isinstance(order, Shuffle) else int(np.flatnonzero(order == bad)[0])

    def _train(self, shard: _Shard, plan: _Plan, lo: int, hi: int, mixed: np.ndarray, records: np.ndarray | None,
               order: np.ndarray | Shuffle | None, count: str = "", restart: bool = False) -> int:
        """One round of one shard; returns -1 or a row whose update was not finite.

        The first round of a pass (``order``: the pass's) picks the shard's rows out of the pass's
        order (a Shuffle: shuffles them with the shard's generator), and copies the shard's records
        in (``records``), or, when the shard still holds what the last pass wrote back, takes the
        last mix and stamps its own slots (settled then) at the pass's clock; ``count``: counts
        the round's entries of shared slots into the round's counts ("round") or the fixed ones
        ("fixed"); ``restart``: the first pass's counts start over."""
        own = shard.scalars
        clock = self.optimizer.clock_scalar
        first = order is not None
        if isinstance(order, Shuffle):
            shuffle_in_place(shard.order, shard_generator(order.seed, shard.k))
        elif first:
            _shard.pick_rows(order, plan.shard_of, shard.k, shard.order)
        if records is not None:
            _shard.copy_in(records, shard.ids, shard.local)
        else:
            _shard.apply_mix(shard.local, shard.shared_pos, plan.holders, plan.base, self.stamps,
                             own[clock] if clock >= 0 else 0.0)
            if first and clock >= 0:  # from the shard's last clock into the pass's
                _shard.shift_stamps(shard.local, shard.n_shared, self.stamps, own[clock] - shard.last_clock)
        own_clock = own[clock] if clock >= 0 else 0.0
        own[:] = mixed
        if clock >= 0:
            own[clock] = own_clock
        bad = -1
        counts = shard.fixed if count == "fixed" else shard.counts if count else None
        if counts is not None:  # the rows of this round that touch each shared slot
            counts[:] = 0.0
        if restart and count == "round":  # the first pass's rounds' counts add up to the fixed ones
            shard.fixed[:] = 0.0
        if hi > lo:
            bad = self._train_chunks(shard, lo, hi, own, counts)
            if count == "round" and not plan.counted:
                shard.fixed += shard.counts
            if bad < 0 and self.optimizer.settle(shard.local, shard.n_shared, own) >= 0:
                bad = hi - 1  # a weight beyond float32: reported at the round's last row
            bad = int(shard.order[bad]) if bad >= 0 else -1
        return bad

    def _train_chunks(self, shard: _Shard, lo: int, hi: int, own: np.ndarray, counts: np.ndarray | None) -> int:
        """Train the shard's rows ``order[lo:hi]``, gathered ``chunk_rows`` at a time; returns -1
        or the position in the shard's order of a row whose update was not finite. The call's
        loss and weight sums are left in ``own``."""
        sums = np.zeros(2)
        for start in range(lo, hi, self.chunk_rows):
            stop = min(start + self.chunk_rows, hi)
            chunk = shard.gather(start, stop)
            if counts is not None:
                _shard.count_shared(chunk.slots, int(chunk.indptr[stop - start]), shard.n_shared, counts)
            bad = self.optimizer.run_epoch(chunk, self.in_order[: stop - start], shard.local, own)
            if bad >= 0:
                return start + bad
            sums += own[_state.LOSS_SUM], own[_state.WEIGHT_SUM]
        own[_state.LOSS_SUM], own[_state.WEIGHT_SUM] = sums
        return -1

    def _end_task(self, shard: _Shard, plan: _Plan):  # type: ignore[no-untyped-def]
        return lambda: self._finish(shard, plan)

    def _finish(self, shard: _Shard, plan: _Plan) -> int:
        """Settle a shard's shared slots (its own slots are written back by ``flush``)."""
        clock = self.optimizer.clock_scalar
        shard.last_clock = shard.scalars[clock] if clock >= 0 else 0.0
        _shard.apply_mix(shard.local, shard.shared_pos, plan.holders, plan.base, self.stamps, shard.last_clock)
        if self.optimizer.settle(shard.local, shard.n_shared, shard.scalars) >= 0:
            return int(shard.order[shard.n_rows - 1])
        return -1

    def forget(self) -> None:
        """The next pass copies the records in: they may have changed since the last one."""
        if self.plan is not None:
            self.plan.written = None

    def flush(self) -> None:
        """Write the last pass's records back into the records it updated: the shared slots'
        mixed records, stamped at the state's clock, and the slots that one shard alone touches,
        their stamps moved from the shard's clock to the state's (they owe the same penalty
        there). A pass leaves them in the plan and the shards' copies: the next pass over the
        same rows goes on from there, and only a reader of the records (or another pass) needs
        them written (the trainer's ``records``), once however many passes ran before."""
        if self.pending is None or self.plan is None:
            return
        records, at = self.pending
        self.pending = None
        plan = self.plan
        tasks = [_call(_shard.write_back, records, plan.union[lo:hi], plan.base[lo:hi], 0, self.stamps, at, 0.0)
                 for lo, hi in plan.page_ranges if hi > lo]
        tasks += [_call(_shard.write_back, records, s.ids, s.local, s.n_shared, self.stamps, -1.0, at - s.last_clock)
                  for s in self.shards if s.n_rows]
        run_phase(tasks, self.n_jobs, self.phases, "write back")


def _mix_scalars(base: np.ndarray, moved: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """The shards' scalars mixed: the rows-weighted mean of their moves (one shard's exactly), the
    examples added up."""
    if len(moved) == 1:
        out = moved[0][0].copy()
    else:
        move, total = np.zeros_like(base), 0.0
        for own, weight in moved:
            move += weight * (own - base)
            total += weight
        out = base + move / total
    out[_state.STEPS] = base[_state.STEPS] + sum(own[_state.STEPS] - base[_state.STEPS] for own, _ in moved)
    return out
