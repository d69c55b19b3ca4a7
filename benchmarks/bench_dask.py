"""Training on a Dask cluster from partitioned Parquet, against the single-machine default fit.

1. Generates ``--rows`` houses (default 2e6; held out: 2e5 of another seed) and writes them as
   ``--partitions`` Parquet files (default 16) twice: (a) rows in random order, (b) sorted by
   longitude, so that each file is a longitude band (the realistic, geographic case).
2. Fits ``WideClassifier(geo_spec(bits=22), random_state=0)`` with every other parameter at its
   default: in memory (the reference), and on ``dd.read_parquet`` of (a) and (b) on a
   LocalCluster of each of ``--workers`` worker processes (default 4, 2 and 1, one thread each;
   on 2 cores, 4 workers share them), then (a) at 2^30 columns and at the exact width (235.7M
   columns) on 2 workers for the bytes moved per round, with the l1 that auto chose at 2^22.
3. The merge alone, in this process (``merge_rates``): K shards' synthetic deltas merged in one
   range and cut into K ranges (the reduce-scatter), CPU per touched coordinate per shard, the
   slowest range's share, and a check that the bits agree.

Reported per fit: held-out log-loss and its difference from the reference, wall seconds, CPU
seconds of the client and the workers, the bytes moved per round (shards' deltas to the merge,
updates back) and per polish pass (between the shards and the ranges), the polish's wall seconds
(from the merged model to the polished one, all passes), the busiest shard's training CPU per round and the merge's,
the rows and slot map each shard holds; the l1 that ``l1="auto"`` chose. ``/proc/loadavg`` before
and after.

    nice -n 10 python benchmarks/bench_dask.py          # 2e6 rows: about 20 minutes on 2 cores
    python benchmarks/bench_dask.py --quick             # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table, save_results  # noqa: E402


def write_partitions(frame, directory: Path, n_parts: int) -> Path:
    """``frame``'s rows, in their order, as ``n_parts`` Parquet files of (nearly) equal length."""
    directory.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, len(frame), n_parts + 1).astype(int)
    for i in range(n_parts):
        frame.iloc[bounds[i]:bounds[i + 1]].to_parquet(directory / f"part-{i:04d}.parquet", index=False)
    return directory


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" 1")[0].strip()
    except OSError:
        return "n/a"


def cluster_fit(client, path: Path, bits, test: dict, yt: np.ndarray, **params) -> dict:
    import dask.dataframe as dd

    import widecross as wc
    from widecross.metrics import log_loss

    before = client.run(_cpu)
    wall, cpu = time.perf_counter(), time.process_time()
    est = wc.WideClassifier(wc.geo_spec(bits=bits), random_state=0, **params)
    est.fit(dd.read_parquet(str(path)), y="label")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = client.run(_cpu)
    info = est.cluster_
    rounds = info["rounds"]
    return dict(
        log_loss=log_loss(yt, est.predict_proba(test)[:, 1]), nnz=est.model_.nnz, wall_s=wall, client_cpu_s=cpu,
        worker_cpu_s=sum(after[w] - before.get(w, 0.0) for w in after), shards=info["shards"], rounds=len(rounds),
        delta_mb_per_round=np.mean([r["delta_bytes"] for r in rounds]) / 2**20,
        delta_mb_per_worker_round=np.mean([r["delta_bytes"] for r in rounds]) / info["shards"] / 2**20,
        update_mb_per_round=np.mean([r["update_bytes"] for r in rounds]) / 2**20,
        changed_per_round=int(np.mean([r["changed"] for r in rounds])),
        polish_mb_per_pass=float(np.mean(info["polish_bytes"])) / 2**20 if info["polish_bytes"] else 0.0,
        polish_wall_s=info["polish_seconds"],
        train_cpu_s_per_round=float(np.median([r["train_seconds"] for r in rounds])),
        merge_cpu_s_per_round=float(np.median([r["merge_cpu_seconds"] for r in rounds])),
        slowest_range_cpu_s_per_round=float(np.median([r["merge_seconds"] for r in rounds])),
        shard_mb=max(info["shard_bytes"]) / 2**20, l1=est.l1_,
    )


def warm_up(client) -> None:
    """One tiny fit, so that the workers' kernels are loaded before anything is timed."""
    import dask.dataframe as dd
    import pandas as pd

    import widecross as wc

    tiny = pd.DataFrame({"lat": np.linspace(-60, 60, 400), "lon": np.linspace(-170, 170, 400),
                         "label": np.arange(400) % 2})
    wc.WideClassifier(wc.geo_spec(bits=18), epochs=1, polish=1).fit(dd.from_pandas(tiny, npartitions=4), y="label")


def merge_rates(n_shards: int, touched: int, seed: int = 0) -> dict:
    """One round's merge of ``n_shards`` synthetic shards (``touched`` columns each, drawn from a
    pool twice as large, 43% of them moved, as in the geo runs): in one range and in
    ``n_shards`` ranges; CPU seconds, per touched coordinate of each shard, and the bits compared."""
    from widecross.cluster import ranges, shard
    from widecross.cluster.merge import MergedModel

    warm = MergedModel.start([(np.arange(3), np.ones(3), 1.0)] * 2)  # the kernel loaded before timing
    warm.merge([shard.Delta(np.arange(3, dtype=np.int32), np.ones((3, 1)), np.zeros(1), 0.0, 0.0)] * 2)
    rng = np.random.default_rng(seed)
    pool = np.sort(rng.choice(2**30, 2 * touched, replace=False))
    columns = [rng.permutation(rng.choice(pool, touched, replace=False)) for _ in range(n_shards)]
    counts = [rng.integers(1, 20, touched).astype(np.float64) for _ in range(n_shards)]
    deltas = []
    for _ in range(n_shards):
        moved = np.sort(rng.choice(touched, int(0.43 * touched), replace=False)).astype(np.int32)
        deltas.append(shard.Delta(moved, rng.normal(size=(moved.shape[0], 1)), np.zeros(1), 0.0, 0.0))
    single = MergedModel.start([(c, n, 1.0) for c, n in zip(columns, counts)])
    clock = time.process_time()
    whole, _ = single.merge(deltas)
    single_s = time.process_time() - clock
    bounds = ranges.range_bounds([ranges.sample_columns(c, n_shards) for c in columns], n_shards)
    splits = [ranges.Split.of(c, bounds) for c in columns]
    per_range, parts = [], []
    for r in range(n_shards):
        model = MergedModel.start([(c[s.ranges[r]], n[s.ranges[r]], 1.0) for c, n, s in zip(columns, counts, splits)])
        pieces = [s.delta(d, r) for s, d in zip(splits, deltas)]
        clock = time.process_time()
        merged, _ = model.merge(pieces)
        per_range.append(time.process_time() - clock)
        parts.append(merged)
    same = np.array_equal(np.concatenate([m.columns for m in parts]), whole.columns) and np.array_equal(
        np.concatenate([m.fields for m in parts]), whole.fields)
    coordinates = n_shards * touched
    return dict(shards=n_shards, touched_per_shard=touched, single_merge_cpu_s=single_s,
                single_us_per_coordinate=1e6 * single_s / coordinates, ranges=n_shards,
                ranges_cpu_s=float(sum(per_range)), slowest_range_cpu_s=float(max(per_range)),
                range_us_per_coordinate=1e6 * float(sum(per_range)) / coordinates, same_bits=bool(same))


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data (for tests)")
    parser.add_argument("--rows", type=int, default=None, help="training rows (default 2e6)")
    parser.add_argument("--partitions", type=int, default=None, help="Parquet files per layout (default 16)")
    parser.add_argument("--workers", type=str, default=None,
                        help="worker counts, comma-separated (default 4,2,1; --quick: 2,1); the widths run on 2")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    quick = args.quick
    n = args.rows or (10_000 if quick else 2_000_000)
    n_parts = args.partitions or (4 if quick else 16)
    n_test = 2_000 if quick else 200_000
    counts = [int(w) for w in (args.workers or ("2,1" if quick else "4,2,1")).split(",")]
    wide = 2 if 2 in counts else counts[0]

    import pandas as pd
    from distributed import Client, LocalCluster

    import widecross as wc
    from data_gen import generate_housing
    from widecross.metrics import log_loss

    load_before = loadavg()
    d, t = generate_housing(n, seed=0), generate_housing(n_test, seed=1)
    frame = pd.DataFrame({"lat": d["lat"], "lon": d["lon"], "label": d["label"]})
    test, yt = {"lat": t["lat"], "lon": t["lon"]}, t["label"]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        layouts = {
            "random": write_partitions(frame.sample(frac=1.0, random_state=0), Path(tmp) / "random", n_parts),
            "longitude band": write_partitions(frame.sort_values("lon", kind="stable"), Path(tmp) / "band", n_parts),
        }
        wall, cpu = time.perf_counter(), time.process_time()
        ref = wc.WideClassifier(wc.geo_spec(bits=22), random_state=0).fit(
            {"lat": frame["lat"].to_numpy(), "lon": frame["lon"].to_numpy()}, frame["label"].to_numpy())
        reference = log_loss(yt, ref.predict_proba(test)[:, 1])
        rows.append(dict(fit="in memory (reference)", partitions="-", width="2^22", workers=1, log_loss=reference,
                         nnz=ref.model_.nnz, wall_s=time.perf_counter() - wall, client_cpu_s=time.process_time() - cpu,
                         l1=ref.l1_))
        del ref
        runs = [(w, layout, 22) for w in counts for layout in (("random",) if w == 1 else ("random", "longitude band"))]
        runs += [(wide, "random", 30), (wide, "random", None)]
        for workers in counts:
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=40) as cluster, Client(cluster) as client:
                warm_up(client)
                chosen = None
                for w, layout, bits in runs:
                    if w != workers:
                        continue
                    row = dict(fit="dask", partitions=layout, width="exact" if bits is None else f"2^{bits}",
                               workers=workers)
                    # the wider fits take the l1 auto chose at 2^22, so that only the width changes
                    row.update(cluster_fit(client, layouts[layout], bits, test, yt,
                                           **({} if bits == 22 else dict(l1=chosen))))
                    if bits == 22 and layout == "random":
                        chosen = row["l1"]
                    row["vs_reference"] = row["log_loss"] - reference if bits == 22 else None
                    rows.append(row)
                    print({k: v for k, v in row.items()}, flush=True)
    merges = [merge_rates(k, 20_000 if quick else 200_000) for k in ((4,) if quick else (4, 16))]
    params = dict(rows=n, test_rows=n_test, partitions=n_parts, workers=counts,
                  estimator="WideClassifier(geo_spec(bits), random_state=0), other parameters default",
                  loadavg_before=load_before, loadavg_after=loadavg(), machine_note="2-core shared machine",
                  merge_rates=merges)
    print(format_table(rows))
    print(format_table(merges))
    print(f"/proc/loadavg before: {load_before}; after: {params['loadavg_after']}")
    out = save_results("bench_dask", rows, params, quick=quick, results_dir=args.results_dir)
    print(f"saved {out}")
    return rows


if __name__ == "__main__":
    main()
