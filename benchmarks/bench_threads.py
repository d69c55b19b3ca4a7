"""Threads: speed-up of the default fit, featurizing and prediction with n_jobs=2 against 1, and
what the mixed epochs cost in held-out log-loss and objective.

    nice -n 10 python benchmarks/bench_threads.py     # 1M and 2M rows, 2^22 and exact, 3 rounds
    python benchmarks/bench_threads.py --rows 1000000 --widths 22 --quality-jobs   # one case, ~1 min
    python benchmarks/bench_threads.py --quick        # 40k rows, one round (a smoke test)
    nice -n 10 python benchmarks/bench_threads.py --against 709bf31 --rows 1000000 --widths 22 exact
                                                      # the fit only: that revision and this tree alternated,
                                                      # with both sides' ledgers of the two-thread epochs
                                                      # (--auto: the default fit, l1 auto, as well)
    nice -n 10 python benchmarks/bench_threads.py --fit-only --rows 1000000 --widths 22 exact
                                                      # the fit rows and the ledger alone

Rows are generated houses (``data_gen``); the held-out set is 200k other houses of the same world.
For each size and width: ``spec.transform``, the 5-epoch fit (6 polish passes, featurizing
included) at a fixed l1 of 1e-6 (the default when the threads work began: the threads' speed and
mixing, without the l1 search), the default fit as it is now (``l1="auto"``: a path of warm-started
fits on at most 250k rows, a few rate candidates, then the refit) and ``predict_proba`` run with
n_jobs=1 and n_jobs=2 alternately, ``--repeats`` times; medians of wall and CPU seconds are
reported side by side.
Transform and prediction must give the same bytes for both (checked), every repeated fit the same
model for its n_jobs (checked). Quality at more threads (4, 8, 16 shards) is measured on the
first size at the exact width: it does not depend on the hardware.

The fit row also times the epoch loop alone (``loop_*``: from its start to the last epoch's end,
without featurizing and slot mapping) and splits its CPU into the calling thread's and the
threads' tasks, with the critical path (calling thread + slowest task of each parallel phase):
CPU figures that other processes on the machine do not distort, unlike wall times. Every task of
the fit is counted, those of modules first imported while a clock ran included. The *ledger*
(``bench_threads_ledger``, ``bench_threads_against_ledger``) splits the two-thread epochs into
their phases (building the plan: deal, own rows, shared slots, localize, counts; copy in; rounds;
mixes; finish; write back): per phase, wall, the tasks' CPU and the slowest tasks' CPU (its share
of the critical path), summed over the fit's passes.

The load average is recorded before and after, with three calibration rows' 2-thread speed-ups:
a compute-only loop (on a shared machine, wall-time speed-ups are depressed by the other
processes), the first touch of a new array (page faults: the transform's output) and random
reads in a cache-sized table per thread (a fit's records): what a second thread can give to
each kind of work on this machine that day, whatever the code does. Beyond two
threads nothing here is measured on K cores: the ``model`` curve is fitted to the 2-thread run
(``model_curve``: T(K) = S + P / K), and the *schedule* (``quality_at``, in the quality table and
the plot) runs the K-shard fit itself with its tasks timed one by one and dealt to K threads,
which counts what K shards cost that two do not (more shared slots to mix, the calling thread's
steps at K threads); ``auto_*`` columns schedule the default fit (l1 auto) the same way, split
into its l1 path, rate candidates and rest. ``--fit-only --quality-jobs 1 2 4 8 16``: the fit
rows and the schedules.
On a machine with more cores, ``bench_threads_scaling.py`` measures each thread count instead.
Goals: fit wall n_jobs=2 <= 0.58x of n_jobs=1, held-out log-loss within 0.002, objective within
0.5 %, transform and predict >= 1.8x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import numpy as np  # noqa: E402

from benchmarks.common import format_table, peak_rss_mb, run_at_revision, run_python_measured, save_results  # noqa: E402

GOALS = {"fit_wall_ratio": 0.58, "log_loss_diff": 0.002, "objective_rel_diff": 0.005, "speedup": 1.8}
MODEL_THREADS = (1, 2, 4, 8, 16)
SERVER_BANDWIDTH_GBS = 100.0  # assumed sustained memory bandwidth of a 16-core server socket


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()
    except OSError:
        return "n/a"


class MainThreadClock:
    """CPU seconds of the calling thread: the serial part of a run whose parallel work happens in
    pool threads (the caller only waits for them)."""

    def __enter__(self) -> MainThreadClock:
        self.start = time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.thread_time() - self.start


class TaskClock:
    """Per-thread CPU seconds of the row blocks' and slot ranges' tasks (``_parallel.run_tasks``,
    wherever it was imported): per call, each thread's task CPU summed; ``critical`` adds the
    slowest thread's of every call that ran on the pool (the calling thread's serial CPU is
    added by the caller); ``inline`` the task CPU of calls that ran on the calling thread.

    ``scheduled=True``: every task runs on the calling thread, one after the other (no other
    thread competes with it for the core or the caches), and ``critical`` adds, per call, when
    the last task would end if its ``n_jobs`` threads took the tasks in order, each the next one
    when free (the pool's order): a two-thread wall time that a loaded machine does not distort,
    short only of what the two threads cost each other in memory bandwidth."""

    def __init__(self, scheduled: bool = False) -> None:
        self.scheduled = scheduled
        self.critical = self.inline = self.tasks = 0.0
        self.per_thread: dict[int, float] = {}
        self.nesting = threading.local()  # a call from inside a task: its CPU is already the task's

    def __enter__(self) -> TaskClock:
        from widecross import _parallel

        self.original = original = _parallel.run_tasks
        self.was_inside = getattr(_parallel._inside, "flag", False)
        if self.scheduled:
            _parallel._inside.flag = True  # run_tasks calls its tasks in order, here

        def run_tasks(tasks: Any, n_jobs: int) -> Any:
            if getattr(self.nesting, "depth", 0):
                return original(tasks, n_jobs)
            spent: list[tuple[int, float]] = []
            lock = threading.Lock()

            def clocked(task: Callable[[], Any]) -> Callable[[], Any]:
                def run() -> Any:
                    start = time.thread_time()
                    self.nesting.depth = getattr(self.nesting, "depth", 0) + 1
                    try:
                        return task()
                    finally:
                        self.nesting.depth -= 1
                        with lock:
                            spent.append((threading.get_ident(), time.thread_time() - start))
                return run

            try:
                return original([clocked(t) for t in tasks], n_jobs)
            finally:
                self._add(spent, n_jobs)

        run_tasks.task_clock_original = original  # type: ignore[attr-defined]
        self.wrapper = run_tasks
        for m in _widecross_modules():
            if _unwrapped(getattr(m, "run_tasks", None)) is original:
                m.run_tasks = run_tasks
        return self

    def _add(self, spent: list[tuple[int, float]], n_jobs: int) -> None:
        self.tasks += sum(seconds for _, seconds in spent)
        if self.scheduled:
            self.inline += sum(seconds for _, seconds in spent)
            free = [0.0] * max(min(n_jobs, len(spent)), 1)
            for _, seconds in spent:  # in submission order: the next task to the first thread free
                free[free.index(min(free))] += seconds
            self.critical += max(free)
            return
        by_thread: dict[int, float] = {}
        for ident, seconds in spent:
            by_thread[ident] = by_thread.get(ident, 0.0) + seconds
            self.per_thread[ident] = self.per_thread.get(ident, 0.0) + seconds
        if set(by_thread) == {threading.get_ident()}:
            self.inline += by_thread[threading.get_ident()]
        elif by_thread:
            self.critical += max(by_thread.values())

    def __exit__(self, *exc: object) -> None:
        from widecross import _parallel

        _parallel._inside.flag = self.was_inside
        # every module that holds the clock's wrapper, those first imported while it ran included
        # (a module imported inside the clock binds the wrapper: left there, it would escape every
        # later clock)
        for m in _widecross_modules():
            if getattr(m, "run_tasks", None) is self.wrapper:
                m.run_tasks = self.original


def _widecross_modules() -> list[Any]:
    return [m for name, m in list(sys.modules.items()) if name.startswith("widecross") and m is not None]


def _unwrapped(fn: Any) -> Any:
    """``fn``, or the ``run_tasks`` a task clock's wrapper stands for."""
    return getattr(fn, "task_clock_original", fn)


def timed(fn: Callable[[], Any], scheduled: bool = False) -> dict[str, Any]:
    w0, c0 = time.perf_counter(), time.process_time()
    with MainThreadClock() as main, TaskClock(scheduled) as tasks:
        result = fn()
    threads = sorted(tasks.per_thread.values(), reverse=True)
    # the calling thread's CPU without the tasks it ran itself, plus each call's slowest thread
    own = main.seconds - tasks.inline if scheduled else main.seconds
    return {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0, "main_cpu": main.seconds,
            "critical_cpu": own + tasks.critical, "own_cpu": own, "thread_cpu": threads, "result": result}


def side_by_side(fns: dict[int, Callable[[], Any]], repeats: int,
                 scheduled: bool = False) -> dict[Any, list[dict[str, Any]]]:
    """Run each n_jobs' function in turn, ``repeats`` rounds (old and new alternated); with
    ``scheduled``, the two-thread function a third time in each round, its tasks on the calling
    thread (``TaskClock``), under the key "scheduled"."""
    runs: dict[Any, list[dict[str, Any]]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            runs[k].append(timed(fn))
        if scheduled:
            runs.setdefault("scheduled", []).append(timed(fns[2], scheduled=True))
    return runs


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


class EpochClock:
    """Where the stochastic epochs spend their time. Wraps ``EpochRunner.run`` to note when the
    epoch loop starts (wall, process CPU, calling thread's CPU), and ``ShardedEpochs.run`` to add
    up, over each phase of a pass (building the plan, splitting the order, the rounds, the mixes,
    finishing, writing back), all tasks' thread CPU and the slowest task's: the *critical path*
    of the epochs is the calling thread's CPU plus the slowest tasks', what the wall time would
    be with a free core per thread. ``ledger``: per phase name, its wall seconds, its tasks' CPU
    and its slowest tasks' CPU, summed over the fit's passes; "pass, between phases" is the
    passes' wall outside every phase (the calling thread's own steps), "before the first pass"
    the wall from the loop's start to the first pass."""

    def __init__(self) -> None:
        from widecross.train import epochs, shards

        self.modules = epochs, shards
        self.originals = (epochs.EpochRunner.run, shards.ShardedEpochs.run,
                          getattr(shards.ShardedEpochs, "flush", None))  # a revision without flush: None
        self.inside = False
        self.start: tuple[float, float, float] | None = None
        self.pool_cpu = self.slowest_cpu = 0.0
        self.passes = 0
        self.ledger: dict[str, dict[str, float]] = {}

    def note(self, name: str, wall: float, cpu: list[float]) -> None:
        entry = self.ledger.setdefault(name, {"wall": 0.0, "cpu": 0.0, "slowest_cpu": 0.0, "calls": 0})
        entry["wall"] += wall
        entry["cpu"] += sum(cpu)
        entry["slowest_cpu"] += max(cpu, default=0.0)
        entry["calls"] += 1

    def take(self, phases: list[tuple[str, float, list[float]]]) -> None:
        """Add a pass's phases to the ledger and the task CPU figures."""
        for name, wall, cpu in phases:
            self.note(name, wall, cpu)
            if len(cpu) > 1:  # one task runs on the calling thread: its CPU is the caller's already
                self.pool_cpu += sum(cpu)
                self.slowest_cpu += max(cpu)

    def __enter__(self) -> EpochClock:
        runner_run, sharded_run, sharded_flush = self.originals

        def run_epochs(runner: Any, *args: Any, **kwargs: Any) -> Any:
            if self.start is None:
                self.start = now()
            return runner_run(runner, *args, **kwargs)

        def run_pass(engine: Any, *args: Any) -> int:
            began = now()
            if self.passes == 0 and self.start is not None:
                self.note("before the first pass", began[0] - self.start[0], [began[2] - self.start[2]])
            self.inside = True
            try:
                bad = sharded_run(engine, *args)
            finally:
                self.inside = False
            ended = now()
            phases = _named_phases(engine)
            self.take(phases)
            inside = sum(wall for _, wall, _ in phases)
            self.note("pass, between phases", ended[0] - began[0] - inside, [])
            self.passes += 1
            return bad

        def flush(engine: Any) -> None:  # outside a pass: the write-back a reader of the records asked for
            if self.inside or not hasattr(engine, "phases"):
                return sharded_flush(engine)
            before = len(engine.phases)
            sharded_flush(engine)
            self.take(_named_phases(engine)[before:])
            return None

        self.modules[0].EpochRunner.run = run_epochs  # type: ignore[method-assign]
        self.modules[1].ShardedEpochs.run = run_pass  # type: ignore[method-assign]
        if sharded_flush is not None:
            self.modules[1].ShardedEpochs.flush = flush  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        runner_run, sharded_run, sharded_flush = self.originals
        self.modules[0].EpochRunner.run, self.modules[1].ShardedEpochs.run = runner_run, sharded_run  # type: ignore[method-assign]
        if sharded_flush is not None:
            self.modules[1].ShardedEpochs.flush = sharded_flush  # type: ignore[method-assign]


def _named_phases(engine: Any) -> list[tuple[str, float, list[float]]]:
    """A pass's phases as (name, wall, task CPU); a revision that kept only the tasks' CPU
    (``phase_cpu``) gives them unnamed, without wall."""
    if hasattr(engine, "phases"):
        return [(p.name, p.wall, list(p.cpu)) for p in engine.phases]
    return [("tasks (unnamed)", 0.0, list(cpu)) for cpu in engine.phase_cpu]


def now() -> tuple[float, float, float]:
    """(wall, process CPU, calling thread's CPU) seconds."""
    return time.perf_counter(), time.process_time(), time.thread_time()


def fit_auto_once(spec: Any, train: dict[str, np.ndarray], y: np.ndarray, n_jobs: int) -> Any:
    """The estimator's defaults as they are: l1 and the rate chosen on a path (``l1="auto"``),
    then the refit."""
    import widecross as wc

    return wc.WideClassifier(spec, random_state=0, n_jobs=n_jobs).fit(train, y)


def auto_split(clf: Any) -> dict[str, float]:
    """Wall seconds of a default fit's path and rate candidates (from ``l1_path_``; none from a
    revision that did not record them, under ``--against``; a revision before the path's own
    wall clock: the sum of its points' fits)."""
    path = clf.l1_path_
    if "wall_seconds" not in path:
        return {}
    wall = path.get("path_wall_seconds", np.sum(path["wall_seconds"]))
    return {"path_wall": float(wall), "rate_wall": float(path["rate_wall_seconds"])}


def fit_once(spec: Any, train: dict[str, np.ndarray], y: np.ndarray, n_jobs: int) -> dict[str, Any]:
    import widecross as wc

    marks: list[tuple[float, float, float]] = []
    # a fixed l1 (the former default): the threads' speed and mixing, not the l1 search, are measured
    clf = wc.WideClassifier(spec, l1=1e-6, random_state=0, n_jobs=n_jobs)
    clf.set_epoch_callback(lambda epoch, rows, loss: marks.append(now()))
    start = now()
    with EpochClock() as clock:
        clf.fit(train, y)
    end = now()
    first, last = clock.start, marks[-1]
    assert first is not None
    loop_main = last[2] - first[2]
    return {"clf": clf, "epochs_end": last[0] - start[0], "polish": end[0] - last[0],
            "loop_wall": last[0] - first[0], "loop_cpu": last[1] - first[1], "loop_main_cpu": loop_main,
            "loop_pool_cpu": clock.pool_cpu, "loop_critical_cpu": loop_main + clock.slowest_cpu,
            "ledger": clock.ledger}


_FIT_CHILD = """
import json
from benchmarks.bench_threads import fit_figures
print(json.dumps(fit_figures({n_rows}, {bits}, {auto})))
"""


def fit_figures(n_rows: int, bits: int | None, auto: bool = False) -> dict[str, Any]:
    """In a child process: the fit at l1 1e-6 with n_jobs=1 then 2 (after a small warm-up fit),
    timed; ``auto``: then the default fit (l1 auto) too, ``*_auto_*``."""
    import hashlib

    import widecross as wc
    from data_gen import generate_housing

    houses = generate_housing(n_rows, seed=0)
    train, y = {"lat": houses["lat"], "lon": houses["lon"]}, houses["label"]
    spec = wc.geo_spec(bits=bits)
    for k in (1, 2):  # kernels compiled or loaded, threads started
        fit_once(spec, {name: v[:200_000] for name, v in train.items()}, y[:200_000], k)
    out: dict[str, Any] = {}
    for k in (1, 2):
        run = timed(lambda k=k: fit_once(spec, train, y, k))
        fit = run.pop("result")
        out.update({f"{key}_{k}": run[key] for key in ("wall", "cpu", "main_cpu", "critical_cpu")})
        out.update({f"{key}_{k}": fit[key] for key in ("loop_wall", "loop_cpu", "loop_critical_cpu")})
        if k == 2:
            out["ledger_2"] = fit["ledger"]
        out[f"model_{k}"] = hashlib.sha1(model_key(fit["clf"])).hexdigest()
    for k in (1, 2) if auto else ():
        run = timed(lambda k=k: fit_auto_once(spec, train, y, k))
        clf = run.pop("result")
        out.update({f"{key}_auto_{k}": run[key] for key in ("wall", "cpu", "main_cpu")})
        out[f"l1_auto_{k}"] = float(clf.l1_)
        out.update({f"{key}_auto_{k}": value for key, value in auto_split(clf).items()})
        out[f"model_auto_{k}"] = hashlib.sha1(model_key(clf)).hexdigest()
    return out


def against(revision: str, args: argparse.Namespace, ledgers: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The fit's figures at ``revision`` and in this tree, one child each, alternated ``repeats``
    times per size and width; medians, and whether both give the same models. The two-thread
    fits' ledgers (see ``EpochClock``) side by side are appended to ``ledgers``."""
    rows = []
    for n in args.rows:
        for bits in args.widths:
            code = _FIT_CHILD.format(n_rows=n, bits=bits, auto=args.auto)
            runs: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
            for _ in range(args.repeats):
                runs["old"].append(run_at_revision(revision, code))
                runs["new"].append(run_python_measured(code))
            row: dict[str, Any] = {"rows": n, "width": "exact" if bits is None else f"2^{bits}", "old": revision}
            for side, got in runs.items():
                med = {key: statistics.median(r[key] for r in got) for key in got[0]
                       if not key.startswith(("model", "ledger"))}
                row.update({f"{side}_{key}": value for key, value in med.items() if key != "peak_rss_mb"})
                row[f"{side}_cpu_ratio"] = med["cpu_2"] / med["cpu_1"]
                row[f"{side}_critical_speedup"] = med["cpu_1"] / med["critical_cpu_2"]
            if args.auto:
                for side in runs:
                    row[f"{side}_auto_speedup"] = row[f"{side}_wall_auto_1"] / row[f"{side}_wall_auto_2"]
                row["same_auto_one_thread_models"] = len({r["model_auto_1"] for got in runs.values() for r in got}) == 1
            row["same_models"] = len({(r["model_1"], r["model_2"]) for got in runs.values() for r in got}) == 1
            # one thread's model must not change; the two-thread one may, by design, between versions
            row["same_one_thread_models"] = len({r["model_1"] for got in runs.values() for r in got}) == 1
            row["same_two_thread_models_per_version"] = all(len({r["model_2"] for r in got}) == 1 for got in runs.values())
            rows.append(row)
            print(format_table([row]), flush=True)
            ledgers.append(side_ledgers(row, {side: [r["ledger_2"] for r in got if "ledger_2" in r]
                                              for side, got in runs.items()}))
            print(format_table(ledgers[-1]), flush=True)
    return rows


def ledger_medians(ledgers: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per phase, the medians over runs of its wall, CPU and slowest tasks' CPU (0 in a run
    without it); the phases in the order the first run met them."""
    names = list(dict.fromkeys(name for ledger in ledgers for name in ledger))
    zero = {"wall": 0.0, "cpu": 0.0, "slowest_cpu": 0.0, "calls": 0}
    return {name: {key: statistics.median(ledger.get(name, zero)[key] for ledger in ledgers) for key in zero}
            for name in names}


def side_ledgers(base: dict[str, Any], sides: dict[str, list[dict[str, dict[str, float]]]]) -> list[dict[str, Any]]:
    """One row per phase of the two-thread epochs: each side's median wall, task CPU and
    critical (slowest tasks') CPU over the fit, in seconds; a total row last."""
    medians = {side: ledger_medians(got) for side, got in sides.items() if got}
    names = list(dict.fromkeys(name for med in medians.values() for name in med))
    rows = []
    for name in names + ["total"]:
        row: dict[str, Any] = {"rows": base["rows"], "width": base["width"], "phase": name}
        for side, med in medians.items():
            picked = list(med.values()) if name == "total" else [med.get(name, {})]
            for key in ("wall", "cpu", "slowest_cpu", "calls"):
                row[f"{side}_{key}"] = sum(p.get(key, 0.0) for p in picked)
        rows.append(row)
    return rows


def quality(clf: Any, test: dict[str, np.ndarray], y_test: np.ndarray) -> dict[str, float]:
    from widecross.metrics import log_loss

    model = clf.model_
    return {"log_loss": log_loss(y_test, model.predict_proba(test)[:, 1]), "objective": float(clf.objective_),
            "nnz": int(model.nnz)}


def model_key(clf: Any) -> bytes:
    model = clf.model_
    return model.indices.tobytes() + model.values.tobytes() + np.float64(model.intercept).tobytes()


def case(n_rows: int, bits: int | None, args: argparse.Namespace, data: dict[str, Any],
         ledgers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Transform, fit and predict at one size and width; one result row per part (the two-thread
    fit's ledger rows appended to ``ledgers``). ``--fit-only``: the fit row alone."""
    import widecross as wc

    spec = wc.geo_spec(bits=bits)
    width = "exact" if bits is None else f"2^{bits}"
    train, y, test, y_test = data["train"], data["y"], data["test"], data["y_test"]
    rows: list[dict[str, Any]] = []
    base = {"rows": n_rows, "width": width}

    if not args.fit_only:
        rows.append(transform_row(base, spec, train, args.repeats))
    fits = side_by_side({k: (lambda k=k: fit_once(spec, train, y, k)) for k in (1, 2)}, args.repeats)
    q = {k: quality(fits[k][0]["result"]["clf"], test, y_test) for k in (1, 2)}
    deterministic = all(model_key(r["result"]["clf"]) == model_key(fits[k][0]["result"]["clf"])
                        for k in (1, 2) for r in fits[k])
    fit_row = _speed_row(base, "fit (default, 5 epochs + polish)", fits, deterministic)
    fit_row.update({
        "examples_per_s_1": 5 * n_rows / median(fits[1], "wall"), "examples_per_s_2": 5 * n_rows / median(fits[2], "wall"),
        "log_loss_1": q[1]["log_loss"], "log_loss_2": q[2]["log_loss"],
        "log_loss_diff": q[2]["log_loss"] - q[1]["log_loss"],
        "objective_1": q[1]["objective"], "objective_2": q[2]["objective"],
        "objective_rel_diff": (q[2]["objective"] - q[1]["objective"]) / q[1]["objective"],
        "nnz_1": q[1]["nnz"], "nnz_2": q[2]["nnz"],
        **_epoch_figures(fits),
    })
    rows.append(fit_row)
    ledgers.extend(side_ledgers(base, {"n_jobs_2": [r["result"]["ledger"] for r in fits[2]]}))
    model = fits[1][0]["result"]["clf"].model_
    del fits
    rows.append(auto_row(base, spec, data, args.repeats))
    if args.fit_only:
        return rows
    rows.append(polish_row(base, fit_before_polish(spec, data)[1], args.repeats))

    rows.append(predict_row(base, model, train, args.repeats))
    return rows


AUTO_PART = "l1 auto fit (the default: path, rate, refit)"


def auto_row(base: dict[str, Any], spec: Any, data: dict[str, Any], repeats: int) -> dict[str, Any]:
    """The default fit as a user gets it (``l1="auto"``), n_jobs=1 against 2: wall and CPU, the
    l1 each chose, held-out log-loss; ``identical``: each n_jobs gave one model over the repeats."""
    fits = side_by_side({k: (lambda k=k: fit_auto_once(spec, data["train"], data["y"], k)) for k in (1, 2)}, repeats)
    same = all(model_key(r["result"]) == model_key(fits[k][0]["result"]) for k in (1, 2) for r in fits[k])
    row = _speed_row(base, AUTO_PART, fits, same)
    q = {k: quality(fits[k][0]["result"], data["test"], data["y_test"]) for k in (1, 2)}
    for k in (1, 2):  # where the time went: the path, the rate candidates, the rest (the refit, mostly)
        split = [auto_split(r["result"]) | {"wall": r["wall"]} for r in fits[k]]
        for key in ("path_wall", "rate_wall"):
            row[f"{key}_{k}"] = statistics.median(part[key] for part in split)
        row[f"rest_wall_{k}"] = statistics.median(part["wall"] - part["path_wall"] - part["rate_wall"] for part in split)
    row.update({"l1_1": fits[1][0]["result"].l1_, "l1_2": fits[2][0]["result"].l1_,
                "log_loss_1": q[1]["log_loss"], "log_loss_2": q[2]["log_loss"],
                "log_loss_diff": q[2]["log_loss"] - q[1]["log_loss"]})
    return row


def transform_row(base: dict[str, Any], spec: Any, train: Any, repeats: int) -> dict[str, Any]:
    """``spec.transform`` with n_jobs=1 against 2; both must give the same bytes."""
    transforms = side_by_side({k: (lambda k=k: spec.transform(train, n_jobs=k)) for k in (1, 2)}, repeats, True)
    first = _csr_bytes(transforms[1][0]["result"])
    return _speed_row(base, "transform", transforms, all(_csr_bytes(r["result"]) == first
                                                          for k in transforms for r in transforms[k]))


def predict_row(base: dict[str, Any], model: Any, train: Any, repeats: int) -> dict[str, Any]:
    """``model.predict_proba`` from raw columns with n_jobs=1 against 2; the same bytes."""
    predicts = side_by_side({k: (lambda k=k: model.predict_proba(train, n_jobs=k)) for k in (1, 2)}, repeats, True)
    first = predicts[1][0]["result"].tobytes()
    return _speed_row(base, "predict_proba (raw columns)", predicts,
                      all(r["result"].tobytes() == first for k in predicts for r in predicts[k]))


def fit_before_polish(spec: Any, data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The default fit on one thread, and what its polish started from (solver, rows, weights,
    intercept, penalty, loss)."""
    import widecross as wc
    from widecross.train import polish

    caught: dict[str, Any] = {}
    original = polish.Polish.solve

    def solve(solver: Any, blocks: Any, weights: np.ndarray, *args: Any) -> Any:
        caught.update(solver=solver, blocks=blocks, weights=weights.copy(), args=args)
        return original(solver, blocks, weights, *args)

    polish.Polish.solve = solve  # type: ignore[method-assign]
    try:
        clf = wc.WideClassifier(spec, l1=1e-6, random_state=0).fit(data["train"], data["y"])
    finally:
        polish.Polish.solve = original  # type: ignore[method-assign]
    return clf, caught


def polish_row(base: dict[str, Any], caught: dict[str, Any], repeats: int) -> dict[str, Any]:
    """The end-of-fit polish alone (its passes and the objective's), n_jobs=1 against 2, from
    the weights the default fit's epochs left on one thread (:func:`fit_before_polish`)."""
    from widecross.train import Polish

    solver = caught["solver"]

    def run(n_jobs: int) -> bytes:
        weights = caught["weights"].copy()
        job = Polish(solver.passes, measure=solver.measure, accelerated=solver.accelerated, n_jobs=n_jobs)
        solution = job.solve(caught["blocks"], weights, *caught["args"])
        return weights.tobytes() + np.float64(solution.intercept).tobytes() + np.float64(solution.objective).tobytes()

    runs = side_by_side({k: (lambda k=k: run(k)) for k in (1, 2)}, repeats, scheduled=True)
    same = all(r["result"] == runs[1][0]["result"] for k in runs for r in runs[k])
    return _speed_row(base, f"polish ({solver.passes} passes + objective)", runs, same)

def _epoch_figures(fits: dict[int, list[dict[str, Any]]]) -> dict[str, float]:
    """Medians of the epochs' figures; ``loop_*``: the epoch loop alone (from its start to the last
    epoch's end: no featurizing, no slot mapping), ``critical``: see ``EpochClock``."""
    def med(k: int, key: str) -> float:
        return statistics.median(r["result"][key] for r in fits[k])

    out = {f"{key}_{k}": med(k, name) for k in (1, 2) for key, name in
           (("epochs_wall", "epochs_end"), ("polish_wall", "polish"), ("loop_wall", "loop_wall"), ("loop_cpu", "loop_cpu"))}
    out.update({
        "epochs_wall_ratio": out["epochs_wall_2"] / out["epochs_wall_1"], "loop_wall_ratio": out["loop_wall_2"] / out["loop_wall_1"],
        "loop_cpu_ratio": out["loop_cpu_2"] / out["loop_cpu_1"],
        "loop_main_cpu_2": med(2, "loop_main_cpu"), "loop_pool_cpu_2": med(2, "loop_pool_cpu"),
        "loop_critical_cpu_2": med(2, "loop_critical_cpu"),
    })
    out["loop_critical_ratio"] = out["loop_critical_cpu_2"] / out["loop_cpu_1"]
    return out


def _csr_bytes(X: Any) -> bytes:
    return X.indptr.tobytes() + X.indices.tobytes() + X.data.tobytes()


def _speed_row(base: dict[str, Any], part: str, runs: dict[int, list[dict[str, Any]]], same: bool) -> dict[str, Any]:
    """Medians of wall and CPU seconds; ``cpu_speedup``: one thread's CPU over the two-thread
    run's critical path (the calling thread's CPU plus, per pool call, its slowest thread's task
    CPU): the wall speed-up on two otherwise idle cores, which load does not distort."""
    w1, w2 = median(runs[1], "wall"), median(runs[2], "wall")
    c1, c2 = median(runs[1], "cpu"), median(runs[2], "cpu")
    critical = median(runs[2], "critical_cpu")
    threads = [statistics.median(r["thread_cpu"][i] if i < len(r["thread_cpu"]) else 0.0 for r in runs[2])
               for i in range(2)]
    row = {**base, "part": part, "wall_1": w1, "wall_2": w2, "wall_ratio": w2 / w1, "speedup": w1 / w2,
           "cpu_1": c1, "cpu_2": c2, "cpu_ratio": c2 / c1, "main_cpu_2": median(runs[2], "main_cpu"),
           "critical_cpu_2": critical, "cpu_speedup": c1 / critical, "thread_cpu_2": threads, "identical": same}
    if "scheduled" in runs:  # the two-thread run's tasks one after the other, scheduled on two threads
        work, path = median(runs["scheduled"], "cpu"), median(runs["scheduled"], "critical_cpu")
        row.update({"work_2": work, "work_ratio": work / c1, "scheduled_cpu_2": path, "scheduled_speedup": c1 / path})
    return row


def quality_at(n_rows: int, jobs: list[int], data: dict[str, Any], floor_seconds: float = 0.0) -> list[dict[str, Any]]:
    """Held-out log-loss and objective of the default fit with K shards (exact width), and the
    fit's *schedule* on K cores: the K-shard fit run with its tasks one after another on the
    calling thread, each task's thread CPU measured, the tasks dealt in order to K threads, each
    to the first one free (``TaskClock(scheduled=True)``). ``projected_seconds``: the calling
    thread's own CPU plus each parallel phase's longest thread, at least ``floor_seconds`` (the
    memory-bandwidth floor): the wall time on K idle cores if tasks cost there what they cost
    alone here. Optimistic where K threads share caches and memory bandwidth, but it runs the
    real K-shard fit (its mixes, shared slots and serial steps), unlike ``model_curve``."""
    import widecross as wc

    spec = wc.geo_spec(bits=None)
    rows = []
    for k in jobs:
        run = timed(lambda k=k: fit_once(spec, data["train"], data["y"], k), scheduled=k > 1)
        clf = run["result"]["clf"]
        seconds = run["cpu"] if k == 1 else max(run["critical_cpu"], floor_seconds)
        rows.append({"rows": n_rows, "width": "exact", "n_jobs": k, **quality(clf, data["test"], data["y_test"]),
                     "work_cpu": run["cpu"], "calling_thread_cpu": run["own_cpu"], "projected_seconds": seconds,
                     "projected_examples_per_s": 5 * n_rows / seconds, **auto_schedule(spec, data, k)})
    first = rows[0]
    for row in rows:
        row["log_loss_diff"] = row["log_loss"] - first["log_loss"]
        row["objective_rel_diff"] = (row["objective"] - first["objective"]) / first["objective"]
        row["projected_speedup"] = first["projected_seconds"] / row["projected_seconds"]
        row["auto_projected_speedup"] = first["auto_projected_seconds"] / row["auto_projected_seconds"]
        row["auto_log_loss_diff"] = row["auto_log_loss"] - first["auto_log_loss"]
    return rows


def auto_schedule(spec: Any, data: dict[str, Any], n_jobs: int) -> dict[str, Any]:
    """The default fit's (l1 auto) schedule on ``n_jobs`` cores, as ``quality_at`` schedules the
    fixed-l1 fit (its tasks one after another, dealt in order to ``n_jobs`` threads; one thread:
    all of it on the calling thread), and split at the clock of that schedule into the l1 path,
    the rate candidates and the rest (featurizing, the refit): which part stops its speed-up."""
    from widecross.estimators import auto

    split = {"fit_path": 0.0, "choose_rate": 0.0}
    with TaskClock(scheduled=True) as tasks:
        def now() -> float:  # the calling thread's own CPU plus each parallel call's longest thread
            return time.thread_time() - tasks.inline + tasks.critical

        def clocked(name: str) -> Callable[..., Any]:
            fn = getattr(auto, name)

            def run(*args: Any, **kwargs: Any) -> Any:
                start = now()
                try:
                    return fn(*args, **kwargs)
                finally:
                    split[name] += now() - start
            return run

        originals = {name: getattr(auto, name) for name in split}
        for name in split:
            setattr(auto, name, clocked(name))
        try:
            start = now()
            clf = fit_auto_once(spec, data["train"], data["y"], n_jobs)
            total = now() - start
        finally:
            for name, fn in originals.items():
                setattr(auto, name, fn)
    return {"auto_l1": clf.l1_, "auto_log_loss": quality(clf, data["test"], data["y_test"])["log_loss"],
            "auto_projected_seconds": total, "auto_path_projected_s": split["fit_path"],
            "auto_rate_projected_s": split["choose_rate"],
            "auto_rest_projected_s": total - split["fit_path"] - split["choose_rate"]}


def calibration(repeats: int) -> dict[str, Any]:
    """How much a second thread can give on this machine right now: a compute-only compiled loop
    (no memory traffic, the GIL released) called twice, in one thread and on two. On a calm
    2-core machine the speed-up is ~2.0; less means the cores are shared with other work."""
    from widecross._jit import jit

    @jit
    def spin(n):  # noqa: ANN001
        s = 0.0
        for i in range(n):
            s += (i % 7) * 0.5
        return s

    spin(10)
    n = 10**8
    return _two_calls_row("compute-only loop, 2 calls", lambda: [lambda: spin(n)] * 2, repeats)


def _two_calls_row(part: str, make_calls: Callable[[], list[Callable[[], Any]]], repeats: int) -> dict[str, Any]:
    """A calibration row: the two calls ``make_calls()`` returns (made anew for each run), one
    after the other on the calling thread and at once on two threads."""
    from widecross import _parallel

    runs = side_by_side({k: (lambda k=k: _parallel.run_tasks(make_calls(), k)) for k in (1, 2)}, repeats)
    return _speed_row({"rows": 0, "width": "-"}, f"calibration: {part}", runs, True)


def first_touch_calibration(repeats: int, mb: int = 80) -> dict[str, Any]:
    """What a second thread gives to writing *new* memory: a fresh ``mb`` MB array (the size of
    the transform's output of 2M geo rows) filled in two halves, in one thread and on two. A
    fresh array's first touch is the kernel's work (page faults, zeroed pages, huge pages where
    NumPy asks for them); where this speed-up is far below the compute-only loop's, the machine
    serializes concurrent page faults, and that bounds every threaded step writing new memory
    (the transform's output above all), whatever the code does."""
    from widecross._jit import jit

    @jit
    def fill(values, start, stop):  # noqa: ANN001
        for i in range(start, stop):
            values[i] = i

    n = mb * 2**20 // 4
    fill(np.empty(8, dtype=np.int32), 0, 8)

    def halves() -> list[Callable[[], Any]]:  # each run fills an array of its own
        values = np.empty(n, dtype=np.int32)
        return [lambda start=start, stop=stop: fill(values, start, stop) for start, stop in ((0, n // 2), (n // 2, n))]

    return _two_calls_row(f"first touch of a new {mb} MB array, 2 halves", halves, repeats)


def cache_calibration(repeats: int, mb: int = 16) -> dict[str, Any]:
    """What a second thread gives to random reads within a table of ``mb`` MB each (the size of
    a fit's records: 0.3-1M slots of 24 bytes, read at the rows' slots), two calls in one thread
    and on two: each thread's table fits the last-level cache alone, both together fill it.
    Below the compute-only loop's ~2.0: what sharing that cache (with each other and any other
    tenant) costs random access on this machine that day. The epochs' rounds read compact
    shard-local records and did better (1.85-1.9x over the same tasks run one after another,
    1M rows, against 1.31-1.44x here); the polish's per-slot sweeps read the whole records."""
    from widecross._jit import jit

    @jit
    def gather(table, at, reps):  # noqa: ANN001
        total = 0.0
        for _ in range(reps):
            for i in range(at.shape[0]):
                total += table[at[i]]
        return total

    rng = np.random.default_rng(0)
    size = mb * 2**20 // 8
    tables = [rng.random(size) for _ in range(2)]
    positions = [rng.integers(0, size, 1_000_000) for _ in range(2)]
    gather(tables[0], positions[0][:8], 1)
    calls = [lambda k=k: gather(tables[k], positions[k], 10) for k in range(2)]
    return _two_calls_row(f"random reads in a {mb} MB table each, 2 calls", lambda: calls, repeats)


def copy_bandwidth_gbs(mb: int = 256) -> float:
    """This machine's memory copy rate (read + write bytes per second), best of 3."""
    a = np.ones(mb * 2**20 // 8)
    b = np.empty_like(a)
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        np.copyto(b, a)
        best = max(best, 2 * a.nbytes / (time.perf_counter() - start) / 1e9)
    return best


def model_curve(fit_row: dict[str, Any], bytes_per_example: float) -> list[dict[str, Any]]:
    """A model, not a measurement: T(K) = S + P / K from the 2-thread run's CPU seconds.

    The whole fit: ``S`` is the CPU of the calling thread in the 2-thread fit (featurizing's
    column checks, the slot map, the polish's serial steps), ``P`` every other CPU second of
    that run (shards, mixes, row blocks). The epochs alone (``model_epochs_*``): ``S`` is the
    calling thread's CPU in the epoch loop (the pass's orders, the scalar mix), ``P`` the tasks'
    CPU (dealing rows once, rounds, mixes of the shared slots, writing back). ``P`` includes what
    sharding costs over one thread and is assumed to divide over K threads at the same cost per
    row (the shared slots grow somewhat with K: the model is optimistic there). One thread is
    the serial run as measured. The curve is capped by memory bandwidth: ``bytes_per_example``
    (estimated) over an assumed ``SERVER_BANDWIDTH_GBS``.
    """
    examples = 5 * fit_row["rows"]
    floor = bandwidth_floor(fit_row["rows"], bytes_per_example)
    fit = _amdahl(fit_row["cpu_1"], fit_row["main_cpu_2"], fit_row["cpu_2"] - fit_row["main_cpu_2"], floor)
    loop = _amdahl(fit_row["loop_cpu_1"], fit_row["loop_main_cpu_2"], fit_row["loop_pool_cpu_2"], floor)
    curve = []
    for k in MODEL_THREADS:
        t, e = fit(k), loop(k)
        curve.append({"rows": fit_row["rows"], "width": fit_row["width"], "threads": k, "model_seconds": t,
                      "model_speedup": fit(1) / t, "model_examples_per_s": examples / t,
                      "model_bandwidth_gbs": examples * bytes_per_example / t / 1e9,
                      "model_epochs_seconds": e, "model_epochs_speedup": loop(1) / e,
                      "model_epochs_examples_per_s": examples / e})
    return curve


def _amdahl(one: float, serial: float, parallel: float, floor: float) -> Callable[[int], float]:
    """T(1) = ``one`` (measured), T(K) = max(S + P / K, floor) for K > 1."""
    return lambda k: one if k == 1 else max(serial + max(parallel, 0.0) / k, floor)


def bandwidth_floor(n_rows: int, per_example: float) -> float:
    """Seconds the 5-epoch fit's memory traffic takes at ``SERVER_BANDWIDTH_GBS``: no thread
    count goes below it."""
    return 5 * n_rows * per_example / (SERVER_BANDWIDTH_GBS * 1e9)


def bytes_per_example(entries_per_row: float, unique_per_row: float) -> float:
    """Memory traffic of one example in one epoch, in bytes: each entry's training record read
    and written back (two 64-byte lines), the row gathered (its line and its entries), and each
    slot a shard touches copied in and merged out (two lines each way)."""
    return entries_per_row * 128 + 64 + entries_per_row * 4 + unique_per_row * 256


def load_label(calibration_speedup: float) -> str:
    """How loaded the run was, from the compute-only loop's 2-thread speed-up (~2.0 when calm)."""
    state = "calm" if calibration_speedup >= 1.8 else "loaded"
    return f"{state}: compute-only loop {calibration_speedup:.2f}x on 2 threads"


def plot(curves: list[dict[str, Any]], measured: list[dict[str, Any]], quick: bool, results_dir: Path | None,
         load: str, schedule: list[dict[str, Any]] | None = None) -> Path:
    from benchmarks.plotting import new_figure, style

    fig, ax = new_figure()
    keys = sorted({(c["rows"], c["width"]) for c in curves})
    for i, key in enumerate(keys):
        points = [c for c in curves if (c["rows"], c["width"]) == key]
        ax.plot([c["threads"] for c in points], [c["model_speedup"] for c in points],
                label=f"model: fit, {key[0]:,} rows, {key[1]}", **style("widecross", i))
        ax.plot([c["threads"] for c in points], [c["model_epochs_speedup"] for c in points],
                label=f"model: epochs alone, {key[0]:,} rows, {key[1]}", **{**style("widecross", i), "linestyle": "--"})
    for i, row in enumerate(r for r in measured if r["part"].startswith("fit")):
        ax.plot([1, 2], [1.0, row["speedup"]], label=f"measured ({load}): fit, {row['rows']:,} rows, {row['width']}",
                **style("vw", i))
    if schedule:
        ax.plot([r["n_jobs"] for r in schedule], [r["projected_speedup"] for r in schedule], marker="o", color="black",
                label=f"schedule of the K-shard fit: {schedule[0]['rows']:,} rows, exact")
        ax.plot([r["n_jobs"] for r in schedule], [r["auto_projected_speedup"] for r in schedule], marker="s",
                color="black", linestyle="--", label=f"schedule of the default fit (l1 auto): {schedule[0]['rows']:,} rows, exact")
    return finish_speedup_plot(fig, ax, MODEL_THREADS, "widecross fit: speed-up vs threads (beyond 2: projected "
                               "from a 2-core machine)", "threads_speedup", quick, results_dir)


def finish_speedup_plot(fig: Any, ax: Any, threads: list[int], title: str, name: str, quick: bool,
                        results_dir: Path | None, ylabel: str = "speed-up over one thread") -> Path:
    """The linear speed-up for reference, labels and legend; the figure saved as ``name``."""
    from benchmarks.plotting import save_png

    ax.plot(threads, threads, color="gray", linestyle=":", label="linear")
    ax.set_xlabel("threads")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=6)
    return save_png(fig, name, quick=quick, results_dir=results_dir)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="40k rows, 2^22 only, one round")
    p.add_argument("--rows", type=int, nargs="+", default=None)
    p.add_argument("--widths", nargs="+", default=None, help="bits, or 'exact'")
    p.add_argument("--test-rows", type=int, default=None)
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--quality-jobs", type=int, nargs="*", default=None, help="shard counts for the quality table")
    p.add_argument("--results-dir", type=Path, default=None)
    p.add_argument("--against", default=None, metavar="REVISION",
                   help="the fit only: a git revision's and this tree's figures, alternated")
    p.add_argument("--auto", action="store_true",
                   help="with --against: the default fit (l1 auto) too, alternated the same way")
    p.add_argument("--fit-only", action="store_true",
                   help="the fit rows and their ledger only (no transform, polish, predict or quality rows)")
    args = p.parse_args(argv)
    quick = args.quick
    args.rows = args.rows or ([40_000] if quick else [1_000_000, 2_000_000])
    widths = [None if w == "exact" else int(w) for w in (args.widths or (["22"] if quick else ["22", "exact"]))]
    args.test_rows = args.test_rows or (20_000 if quick else 200_000)
    args.repeats = args.repeats or (1 if quick else 3)
    if args.against:
        args.widths = widths
        ledgers: list[list[dict[str, Any]]] = []
        rows = against(args.against, args, ledgers)
        params = {"rows": args.rows, "repeats": args.repeats, "loadavg": loadavg(), "machine_note": "2-core shared machine"}
        save_results("bench_threads_against", rows, params, quick=quick, results_dir=args.results_dir)
        save_results("bench_threads_against_ledger", [r for got in ledgers for r in got], params, quick=quick,
                     results_dir=args.results_dir)
        return 0
    quality_jobs = args.quality_jobs if args.quality_jobs is not None else ([] if quick or args.fit_only
                                                                            else [1, 2, 4, 8, 16])
    ledger_rows: list[dict[str, Any]] = []
    per_example = bytes_per_example(5.0, 1.26)  # generated geo rows: entries and a shard's slots a row

    from data_gen import generate_housing

    load_before = loadavg()
    bandwidth = copy_bandwidth_gbs(64 if quick else 256)
    rows: list[dict[str, Any]] = []
    quality_rows: list[dict[str, Any]] = []
    test = generate_housing(args.test_rows, seed=1)
    rows += [calibration(args.repeats), first_touch_calibration(args.repeats, 8 if quick else 80),
             cache_calibration(args.repeats, 1 if quick else 16)]
    print(format_table(rows), flush=True)
    for n in args.rows:
        train = generate_housing(n, seed=0)
        data = {"train": {"lat": train["lat"], "lon": train["lon"]}, "y": train["label"],
                "test": {"lat": test["lat"], "lon": test["lon"]}, "y_test": test["label"]}
        del train
        for bits in widths:
            added = case(n, bits, args, data, ledger_rows)
            rows += added
            print(format_table(added), flush=True)
            print(format_table([r for r in ledger_rows if (r["rows"], r["width"]) == (n, added[0]["width"])]), flush=True)
        if quality_jobs and n == args.rows[0]:
            quality_rows = quality_at(n, quality_jobs, data, bandwidth_floor(n, per_example))
            print(format_table(quality_rows), flush=True)
    load_after = loadavg()

    calibration_speedup = rows[0]["speedup"]
    fit_rows = [r for r in rows if r["part"].startswith("fit")]
    curves = [c for r in fit_rows for c in model_curve(r, per_example)]
    print(format_table(curves), flush=True)
    params = {"rows": args.rows, "widths": [w or "exact" for w in widths], "repeats": args.repeats,
              "test_rows": args.test_rows, "goals": GOALS, "loadavg_before": load_before, "loadavg_after": load_after,
              "machine_note": "2-core shared machine: wall-time speed-ups are depressed by other processes",
              "load": load_label(calibration_speedup),
              "calibration_speedup_2_threads": calibration_speedup, "copy_bandwidth_gbs": bandwidth, "assumed_server_bandwidth_gbs": SERVER_BANDWIDTH_GBS,
              "bytes_per_example_estimate": per_example, "peak_rss_mb": peak_rss_mb(),
              "model_note": "threads > 2: a model (T(K) = S + P/K from the 2-thread CPU seconds, bandwidth-capped), "
                            "not a measurement",
              "schedule_note": ("bench_threads_quality projected_*: the K-shard fit's tasks timed one by one on "
                                "this machine and scheduled on K threads (calling thread's CPU + each phase's "
                                "longest thread, bandwidth floor): a projection, not a measurement on K cores")}
    save_results("bench_threads", rows, params, quick=quick, results_dir=args.results_dir)
    save_results("bench_threads_ledger", ledger_rows, params, quick=quick, results_dir=args.results_dir)
    save_results("bench_threads_quality", quality_rows, params, quick=quick, results_dir=args.results_dir)
    save_results("bench_threads_model", curves, params, quick=quick, results_dir=args.results_dir)
    png = plot(curves, rows, quick, args.results_dir, load_label(calibration_speedup), quality_rows)
    print(f"load average before {load_before}, after {load_after}; copy bandwidth {bandwidth:.1f} GB/s; plot {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
