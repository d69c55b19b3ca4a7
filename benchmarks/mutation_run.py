"""Plant known bugs one at a time and check that the named test catches each.

Every mutation replaces one exact snippet of a library file (it must occur exactly once), runs the
test that should catch it, expects that test to fail, and puts the file back (its bytes are
compared afterwards). With ``--baseline`` the named tests first run on the unmodified code and
must pass, so that a failure can only come from the planted bug. Not part of the test suite: it
edits the working tree while it runs (run it on a clean one, and nothing else at the same time).

    python benchmarks/mutation_run.py                 # every mutation (about 10 minutes on 2 cores)
    python benchmarks/mutation_run.py --only held_out_trained,quiet_ignored --baseline
    python benchmarks/mutation_run.py --list

Reported per mutation: the area, the change, the test run, whether it failed (caught), and the
seconds that test took to fail (Numba recompiles a mutated kernel module, which is included).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table, save_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    area: str
    what: str
    path: str
    old: str
    new: str
    test: str


MUTATIONS = [
    # -- the edges: bugs an earlier suite let through
    Mutation("held_out_trained", "cli", "train also learns from its held-out rows", "widecross/tasks/training.py",
             "seconds = fit_reporting(estimator, take(features, train_rows), y_train, bar, estimator.epochs * len(y_train))",
             "seconds = fit_reporting(estimator, features, y, bar, estimator.epochs * len(y))",
             "tests/test_cli_train.py::test_train_and_held_out_rows_are_disjoint_and_cover_the_data"),
    Mutation("progress_not_a_terminal", "cli", "progress drawn when stderr is not a terminal", "widecross/_progress.py",
             'enabled = bool(getattr(self.stream, "isatty", lambda: False)())', "enabled = True",
             "tests/test_progress.py::test_progress_on_a_terminal_only_and_never_with_quiet"),
    Mutation("quiet_ignored", "cli", "--quiet ignored by the progress bars", "widecross/cli/output.py",
             "enabled=None if not self.quiet else False)", "enabled=None)",
             "tests/test_progress.py::test_progress_on_a_terminal_only_and_never_with_quiet"),
    Mutation("early_stop_late", "estimators", "early stopping one epoch late", "widecross/estimators/sources.py",
             "return self.stale >= self.params.n_iter_no_change", "return self.stale > self.params.n_iter_no_change",
             "tests/test_early_stopping.py::test_stops_exactly_patience_epochs_after_the_minimum"),
    Mutation("slot_ids_truncated", "kernels", "the slot map keeps 32 bits of a column id (wide ids collide)",
             "widecross/train/slots.py", "        c = np.int64(columns[p])\n        h = _home(c, shift)\n        while True:\n"
             "            k = table[h, 0]\n            if k == c:\n                out[p] = table[h, 1]\n                break\n"
             "            if k == EMPTY:\n                if n_slots",
             "        c = np.int64(columns[p]) & 0xFFFFFFFF\n        h = _home(c, shift)\n        while True:\n"
             "            k = table[h, 0]\n            if k == c:\n                out[p] = table[h, 1]\n                break\n"
             "            if k == EMPTY:\n                if n_slots",
             "tests/test_width_independence.py::test_same_weights_intercept_and_file_at_width_d_and_2_to_the_40"),
    # -- CLI
    Mutation("metrics_on_training_rows", "cli", "held-out metrics computed on the training rows",
             "widecross/tasks/training.py",
             "decision_function(take(features, held_rows)))\n        result.held_out = metrics.report(loss, y[held_rows], mean)",
             "decision_function(take(features, train_rows)))\n        result.held_out = metrics.report(loss, y_train, mean)",
             "tests/test_cli_train.py::test_reported_metrics_are_those_of_the_held_out_rows"),
    Mutation("hash_seed_ignored", "cli", "--hash-seed not passed to the spec", "widecross/cli/commands.py",
             "bits=args.bits, seed=args.hash_seed)", "bits=args.bits)",
             "tests/test_cli_train.py::test_lat_lon_bits_and_hash_seed_reach_the_spec"),
    Mutation("values_ignored", "cli", "train --values ignored (always float32)", "widecross/cli/commands.py",
             "model.save(args.output, values=args.values)", "model.save(args.output)",
             "tests/test_cli_train.py::test_values_flag_writes_that_encoding"),
    Mutation("ftrl_rate_lost", "cli", "--learning-rate reaches SGD's rate, never FTRL's alpha",
             "widecross/tasks/training.py", 'params[OPTIMIZERS[params.get("optimizer", "sgd")][0].rate_param] = rate',
             'params["learning_rate"] = rate',
             "tests/test_cli_train.py::test_optimizer_rate_penalty_and_seed_flags_reach_the_estimator"),
    # -- estimators
    Mutation("validation_rows_trained", "estimators", "early stopping also trains on its validation rows",
             "widecross/estimators/sources.py", "            X, y, sw = X[train], y[train], sw[train] if sw.size else sw\n",
             "", "tests/test_early_stopping.py::test_stops_exactly_patience_epochs_after_the_minimum"),
    Mutation("seed_ignored", "estimators", "random_state ignored: every fit shuffles with seed 0",
             "widecross/estimators/base.py",
             "        rng = generator(self.random_state)\n        trainer = self._warm_trainer(",
             "        rng = generator(0)\n        trainer = self._warm_trainer(",
             "tests/test_estimators.py::test_same_seed_same_bytes"),
    # -- kernels
    Mutation("l1_sign_flipped", "kernels", "L1 catch-up grows |w| instead of shrinking it", "widecross/train/_penalty.py",
             "        new = aw - l1 * a\n", "        new = aw + l1 * a\n", "tests/test_sgd.py::test_lazy_equals_eager"),
    Mutation("intercept_lost", "kernels", "SGD never updates the intercept", "widecross/train/_sgd.py",
             "        b -= rate(mode, eta0, delta, bias_sum) * c * g_step\n", "",
             "tests/test_sgd.py::test_lazy_equals_eager"),
    Mutation("ftrl_threshold_halved", "kernels", "FTRL zeroes a weight only below half its l1 threshold",
             "widecross/train/_ftrl.py", "    if abs(z) <= lam1:", "    if abs(z) <= 0.5 * lam1:",
             "tests/test_ftrl.py::test_matches_dict_reference"),
    # -- features
    Mutation("bucket_ceil", "features", "uniform buckets by ceil instead of floor (off by one)", "widecross/_hashing.py",
             "b = np.int64(np.floor((x - start) * comp_f[c, SCALE]))", "b = np.int64(np.ceil((x - start) * comp_f[c, SCALE]))",
             "tests/test_features.py::test_bucket_ids_match_reference_at_random_and_edge_values"),
    Mutation("hash_seed_dropped", "features", "the hash seed no longer enters a feature's base", "widecross/_hashing.py",
             "return mix(fnv1a64(name.encode(\"utf-8\")) ^ mix(seed + int(GOLDEN)))",
             "return mix(fnv1a64(name.encode(\"utf-8\")) ^ mix(int(GOLDEN)))",
             "tests/test_features.py::test_pinned_geo_columns"),
    Mutation("longitude_no_wrap", "features", "180 degrees east lands in the last bucket, not with -180", "widecross/_hashing.py",
             "        if wrap and x == stop:  # periodic: stop is the same point as start\n            b = 0\n", "",
             "tests/test_features.py::test_bucket_conventions_poles_antimeridian_and_negative_zero"),
    # -- model format
    Mutation("checksum_skipped", "model format", "section checksums not verified on load",
             "widecross/model/file_format.py",
             "    if zlib.crc32(buf) != crc:\n", "    if False:\n",
             "tests/test_export.py::test_flipped_byte_in_each_section_and_header_field"),
    Mutation("size_check_skipped", "model format", "a file longer or shorter than its header describes loads",
             "widecross/model/file_format.py", "    if expected_size != size:\n", "    if False:\n",
             "tests/test_export.py::test_truncated_at_every_section_boundary_and_header_byte"),
    Mutation("float16_tiny_sign", "model format", "float16: a weight too small to encode keeps the wrong sign",
             "widecross/model/_values.py", "half[lost] = np.where(values[lost] > 0, tiny, -tiny)",
             "half[lost] = np.where(values[lost] > 0, -tiny, tiny)",
             "tests/test_export.py::test_float16_relative_error_and_no_zeros"),
]


def run_test(test: str, timeout: float) -> tuple[int, float, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", test], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return proc.returncode, time.perf_counter() - start, (lines[0] if lines else proc.stdout.strip().splitlines()[-1])


def plant(m: Mutation, timeout: float) -> dict:
    path = ROOT / m.path
    original = path.read_bytes()
    text = original.decode()
    if text.count(m.old) != 1:
        raise SystemExit(f"{m.name}: the snippet occurs {text.count(m.old)} times in {m.path}, expected once")
    try:
        path.write_text(text.replace(m.old, m.new))
        code, seconds, first = run_test(m.test, timeout)
    finally:
        path.write_bytes(original)
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(original).digest(), f"{m.path} not restored"
    return dict(mutation=m.name, area=m.area, bug=m.what, file=m.path, test=m.test, caught=code != 0,
                seconds_to_fail=round(seconds, 1), failure=first[:160])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated mutation names")
    parser.add_argument("--baseline", action="store_true", help="first check that the named tests pass unmodified")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per test run")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only.split(",")]
    if args.list:
        print(format_table([dict(name=m.name, area=m.area, bug=m.what, file=m.path, test=m.test) for m in chosen]))
        return 0
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *sorted({m.path for m in chosen})], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        raise SystemExit(f"uncommitted changes in the files to mutate; commit or stash them first:\n{dirty}")
    if args.baseline:
        for test in dict.fromkeys(m.test for m in chosen):
            code, seconds, last = run_test(test, args.timeout)
            print(f"baseline {test}: {'passes' if code == 0 else 'FAILS'} ({seconds:.1f} s)", flush=True)
            if code != 0:
                raise SystemExit(f"{test} fails without any mutation: {last}")
    rows = []
    for m in chosen:
        rows.append(plant(m, args.timeout))
        r = rows[-1]
        print(f"{m.name:26s} {'caught' if r['caught'] else 'MISSED'} in {r['seconds_to_fail']:6.1f} s by {m.test}",
              flush=True)
    print("\n" + format_table(rows, ["mutation", "area", "bug", "test", "caught", "seconds_to_fail"]))
    path = save_results("mutation_run", rows, dict(baseline=args.baseline, n=len(rows)), results_dir=args.results_dir)
    print(f"saved {path}")
    missed = [r["mutation"] for r in rows if not r["caught"]]
    if missed:
        print(f"missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
