"""The Dask fit before and after a change side by side: the same model bits, the client's and
the workers' CPU seconds and the wall time (the polish's share: the same fit with ``polish=0``).

Writes ``--rows`` generated houses (default 400k) as 8 Parquet files sorted by longitude, then
fits ``WideClassifier(geo_spec(bits=22), l1=1e-6, random_state=0)`` (5 epochs; 6 polish passes,
and 0 with two classes) on a LocalCluster of 2 worker processes with the ``widecross`` of git ``--a`` (A, the
reference, exported) and of this checkout (B), alternating A, B over ``--rounds``, with two
classes and with three one-vs-rest classes (price bands). Each fit runs in a fresh interpreter
whose workers import the same ``widecross`` (checked). Reported: medians over the rounds, and
whether A and B fitted the same bits.

    nice -n 10 python benchmarks/ab_dask_polish.py --a 709bf31      # about 10 minutes on 2 cores (--rounds 2)
    python benchmarks/ab_dask_polish.py --a 709bf31 --quick         # a minute
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_dask import loadavg, write_partitions  # noqa: E402
from benchmarks.common import format_table, run_at_revision, run_python_measured, save_results  # noqa: E402

CHILD = """
import hashlib, json, os, resource, time
import numpy as np
import widecross as wc
os.environ["PYTHONPATH"] = os.path.dirname(os.path.dirname(wc.__file__))  # the workers' widecross too
import dask.dataframe as dd
from distributed import Client, LocalCluster

def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime

with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                  silence_logs=40) as cluster, Client(cluster) as client:
    assert set(client.run(lambda: __import__("widecross").__file__).values()) == {{wc.__file__}}
    frame = dd.read_parquet({path!r})
    warm = wc.WideClassifier(wc.geo_spec(bits=18), l1=1e-6, epochs=1, polish=1)
    warm.fit(frame.partitions[:2], y={target!r})
    before, wall, own = client.run(cpu), time.perf_counter(), time.process_time()
    est = wc.WideClassifier(wc.geo_spec(bits=22), l1=1e-6, random_state=0, polish={polish}).fit(frame, y={target!r})
    wall, own, after = time.perf_counter() - wall, time.process_time() - own, client.run(cpu)
    m = est.model_
    digest = hashlib.sha256(m.indices.tobytes() + m.values.tobytes() + np.asarray(m.intercept).tobytes()).hexdigest()
    print(json.dumps(dict(wall_s=wall, client_cpu_s=own, worker_cpu_s=sum(after[w] - before[w] for w in after),
                          nnz=int(m.nnz), digest=digest)))
"""


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", required=True, help="git revision of the reference (A)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    n, rounds = args.rows or (40_000 if args.quick else 400_000), args.rounds or (1 if args.quick else 3)

    import numpy as np
    import pandas as pd
    from data_gen import generate_housing

    load_before = loadavg()
    d = generate_housing(n, seed=0)
    price = np.log(d["price"])
    frame = pd.DataFrame({"lat": d["lat"], "lon": d["lon"], "label": d["label"],
                          "band": np.digitize(price, np.quantile(price, [0.33, 0.67]))})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(write_partitions(frame.sort_values("lon", kind="stable"), Path(tmp) / "band", 8))
        for target, classes, polish in (("label", 2, 6), ("label", 2, 0), ("band", 3, 6)):
            code = CHILD.format(path=path, target=target, polish=polish)
            runs: dict[str, list[dict]] = {"A": [], "B": []}
            for _ in range(rounds):
                runs["A"].append(run_at_revision(args.a, code))
                runs["B"].append(run_python_measured(code))
            for side, got in runs.items():
                row = dict(classes=classes, polish=polish, side=side, nnz=got[0]["nnz"],
                           same_bits_as_A=all(g["digest"] == runs["A"][0]["digest"] for g in got))
                for key in ("wall_s", "client_cpu_s", "worker_cpu_s"):
                    row[key] = statistics.median(g[key] for g in got)
                rows.append(row)
                print(row, flush=True)
    params = dict(rows=n, rounds=rounds, a=args.a, workers=2, loadavg_before=load_before, loadavg_after=loadavg(),
                  machine_note="2-core shared machine")
    print(format_table(rows))
    print(f"/proc/loadavg before: {load_before}; after: {params['loadavg_after']}")
    print(f"saved {save_results('ab_dask_polish', rows, params, quick=args.quick)}")
    return rows


if __name__ == "__main__":
    main()
