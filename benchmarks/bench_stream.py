"""Streaming a data set larger than the process may hold: Parquet on disk, under a memory limit.

1. Writes ``--rows`` generated houses (default 5e7; ``data_gen.write_parquet``, row groups of
   1e6 rows, about 1.5 GB) to ``--data`` (default: a temporary directory, removed afterwards),
   unless a file with that many rows is already there.
2. In a fresh process limited to ``--limit-gb`` of address space (default 4; ``RLIMIT_AS``, what
   ``ulimit -v`` sets, applied before the interpreter starts), for each configuration:
   - ``read + featurize``: the reader pipeline alone (Parquet -> columns -> CSR), no training;
   - ``fit streamed``: ``WideClassifier(geo_spec(bits=None), epochs=1, polish=0)`` on the data
     set, ``chunk_rows`` rows at a time through the shuffle buffer (the exact 1' model: 235.7M
     columns);
   - ``fit in memory`` (``--contrast``): the same data read whole and fitted in memory, which
     the limit is expected to stop (the row records whether it did).
   Reported: wall and CPU seconds, rows per second, peak RSS (VmHWM), state bytes, touched
   columns, nonzeros and held-out log-loss / AUC (2e5 rows of another seed).

    python benchmarks/bench_stream.py                  # 5e7 rows (about 10 minutes)
    python benchmarks/bench_stream.py --quick          # seconds; what the test suite runs

``--quick``: 40,000 rows in chunks of 10,000, both configurations in one process (the second
one's peak RSS is then at least the first one's).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table, save_results  # noqa: E402

ROOT = str(Path(__file__).resolve().parents[1])

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import numpy as np
cfgs = json.loads({cfgs!r})


def hwm_mb():
    line = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    return int(line.split()[1]) / 1024.0


import data_gen
import widecross as wc
from widecross import _stream, io
from widecross.metrics import log_loss, roc_auc

spec = wc.geo_spec(bits=None)
limit = resource.getrlimit(resource.RLIMIT_AS)[0]
# load the compiled kernels on a few rows first: compilation is not what is measured
small = data_gen.generate_housing(2000, seed=5)
wc.WideClassifier(spec, epochs=1, polish=1, random_state=0).fit(
    {{"lat": small["lat"], "lon": small["lon"]}}, small["label"])


def run(cfg):
    path = cfg["path"]
    out = dict(limit_gb=None if limit == resource.RLIM_INFINITY else limit / 2**30)
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        if cfg["mode"] == "read":
            data = _stream.DataSet(path, spec.columns, target="label")
            rows = 0
            for chunk in _stream.read_prepared(data, range(len(data.units)), cfg["chunk_rows"],
                                               lambda c: spec.transform({{k: c.columns[k] for k in spec.columns}})):
                rows += chunk.n_rows
        elif cfg["mode"] == "stream":
            clf = wc.WideClassifier(spec, epochs=1, polish=0, random_state=0)
            clf.fit(path, y="label", classes=[0, 1], chunk_rows=cfg["chunk_rows"])
            rows = clf.t_
        else:  # in memory
            columns = io.read_columns(path, ["lat", "lon", "label"])
            rows = len(columns["label"])
            clf = wc.WideClassifier(spec, epochs=1, polish=0, random_state=0)
            clf.fit({{"lat": columns["lat"], "lon": columns["lon"]}}, columns["label"])
    except MemoryError as error:
        out.update(failed=f"MemoryError after {{time.perf_counter() - w0:.0f}} s")
        rows = 0
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    out.update(rows=rows, wall_s=wall, cpu_s=cpu, rows_per_s=rows / wall, rows_per_cpu_s=rows / cpu, peak_rss_mb=hwm_mb())
    if cfg["mode"] != "read" and "failed" not in out:
        test = data_gen.generate_housing(cfg["test_rows"], seed=1)
        proba = clf.predict_proba({{"lat": test["lat"], "lon": test["lon"]}})[:, 1]
        out.update(log_loss=log_loss(test["label"], proba), auc=roc_auc(test["label"], proba), nnz=clf.model_.nnz,
                   slots=clf._trainer.n_slots, state_mb=clf.state_nbytes_ / 1e6)
    return out


print(json.dumps({{"results": [run(cfg) for cfg in cfgs]}}))
"""


def limited(gb: float):
    """A ``preexec_fn`` setting the address-space limit (what ``ulimit -v`` does) in the child."""
    limit = int(gb * 2**30)

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def run_child(cfgs: list[dict], limit_gb: float) -> list[dict]:
    """The configurations one after another in one fresh process under the memory limit."""
    code = CHILD.format(root=ROOT, cfgs=json.dumps(cfgs))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=7200, preexec_fn=limited(limit_gb)
    )
    if proc.returncode != 0:
        # an allocation refused outside Python's reach (e.g. in a native library) ends the process
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no message)"]
        return [dict(failed=f"exit code {proc.returncode}: {tail[0][:200]}") for _ in cfgs]
    return json.loads(proc.stdout.strip().splitlines()[-1])["results"]


def ensure_data(path: Path, rows: int, row_group: int) -> dict:
    import pyarrow.parquet as pq

    import data_gen

    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return dict(written=False, bytes=path.stat().st_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    data_gen.write_parquet(path, rows, seed=0, chunk_rows=row_group)
    return dict(written=True, write_s=time.perf_counter() - t, bytes=path.stat().st_size)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data (for tests)")
    parser.add_argument("--rows", type=int, default=None, help="rows in the data set (default 5e7)")
    parser.add_argument("--chunk-rows", type=int, default=None, help="rows per chunk (default 1e6)")
    parser.add_argument("--limit-gb", type=float, default=4.0, help="address-space limit of the child (default 4)")
    parser.add_argument("--data", type=Path, default=None, help="Parquet file to (re)use; default: a temporary one")
    parser.add_argument("--contrast", action="store_true", help="also try the in-memory fit under the same limit")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    quick = args.quick
    n = args.rows or (40_000 if quick else 50_000_000)
    chunk_rows = args.chunk_rows or (10_000 if quick else 1_000_000)
    test_rows = 2_000 if quick else 200_000
    tmp = None
    if args.data is None:
        tmp = Path(tempfile.mkdtemp(prefix="widecross_stream_"))
        path = tmp / "houses.parquet"
    else:
        path = args.data
    rows: list[dict] = []
    try:
        facts = ensure_data(path, n, chunk_rows)
        print(f"data set: {n:,} rows, {facts['bytes'] / 1e9:.2f} GB" + (f", written in {facts['write_s']:.0f} s" if facts["written"] else ""), flush=True)
        modes = [("read + featurize", "read"), ("fit streamed", "stream")]
        if args.contrast:
            modes.append(("fit in memory", "memory"))
        cfgs = [dict(mode=mode, path=str(path), chunk_rows=chunk_rows, test_rows=test_rows) for _, mode in modes]
        # a fresh process per configuration, its peak its own; --quick: one process for all
        results = run_child(cfgs, args.limit_gb) if quick else [run_child([cfg], args.limit_gb)[0] for cfg in cfgs]
        for (name, _), res in zip(modes, results):
            row = dict(config=name, data_rows=n, data_gb=facts["bytes"] / 1e9, chunk_rows=chunk_rows,
                       limit=f"RLIMIT_AS {args.limit_gb:g} GB", **res)
            rows.append(row)
            print(format_table([row]).splitlines()[-1], flush=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    print("\n" + format_table(rows, columns))
    params = dict(rows=n, chunk_rows=chunk_rows, limit_gb=args.limit_gb, test_rows=test_rows,
                  model="WideClassifier(geo_spec(bits=None), epochs=1, polish=0)")
    out = save_results("bench_stream", rows, params, quick=quick, results_dir=args.results_dir)
    print(f"saved {out}")
    return rows


if __name__ == "__main__":
    main()
