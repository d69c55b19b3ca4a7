"""Fuzz ``widecross.load``: a seeded mutation loop over valid model files.

Every case is a valid file (several encodings, with and without a spec, empty, 2**40 wide) with
random edits. Raw edits (bit flips, overwrites, insertions, deletions, duplicated spans,
truncation, splices of another file) must be caught by the checksums and sizes; *resealed* edits
(the section lengths and CRCs recomputed afterwards, metadata fields replaced by hostile JSON
values) reach the decoders behind the checksums. The only acceptable outcomes are
``ModelFormatError`` or a valid model (sorted in-range ids, finite nonzero float32 weights) that
predicts finitely and saves again; anything else is a failure, kept with its seed for replay.

    python -m benchmarks.fuzz_load                 # 60 s of cases
    python -m benchmarks.fuzz_load --seconds 600   # longer
    python -m benchmarks.fuzz_load --quick         # a few seconds; what the test suite runs
    python -m benchmarks.fuzz_load --replay SEED   # re-run one case by its seed
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import time
import traceback
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.common import format_table, peak_rss_mb, save_results

HEADER = 16 + 16 * 3 + 4  # preamble, three table entries, table CRC


# ---------------------------------------------------------------------- the corpus
def corpus() -> list[bytes]:
    """Valid files covering every encoding, spec or not, empty, int64-wide."""
    import scipy.sparse  # noqa: F401  (loaded once here, not inside the timed loop)

    import widecross as wc
    from widecross.export import dumps
    from widecross.features import Bucketize, Categorical, Cross, FeatureSpec
    from widecross.model import SparseModel

    rng = np.random.default_rng(0)
    geo = wc.geo_spec(bits=20)
    mixed = FeatureSpec([Bucketize("x", 0, 10, 1), Categorical("c", vocabulary=["a", "b", 7]),
                         Cross(Bucketize("x", 0, 10, 1), Categorical("c", vocabulary=["a", "b", 7]))], bits=None)

    def model(width: int, nnz: int, **kwargs: Any) -> Any:
        idx = np.unique(rng.integers(0, width, nnz))
        return SparseModel(idx, rng.laplace(0, 0.3, idx.size) + 1e-3, float(rng.normal()), width, **kwargs)

    files = [
        dumps(model(geo.n_features, 300, loss="logistic", spec=geo, classes=["no", "yes"], metadata={"l1": 1e-6}), "float32"),
        dumps(model(geo.n_features, 200, loss="logistic", spec=geo), "float16"),
        dumps(model(geo.n_features, 250, loss="logistic", spec=geo), "q8"),
        dumps(model(mixed.n_features, 20, loss="squared", spec=mixed), "float32"),
        dumps(model(2**40, 100, loss="poisson"), "float16"),
        dumps(model(2**63 - 1, 50, loss="hinge", classes=[-1, 1]), "q8"),
        dumps(SparseModel([], [], 0.5, 1000, "logistic"), "float32"),
    ]
    return files


# ---------------------------------------------------------------------- file surgery
def sections(blob: bytes) -> list[bytes] | None:
    """The three sections of a well-formed file, or None."""
    if len(blob) < HEADER or blob[12:16] != b"\x03\x00\x00\x00":
        return None
    lengths = [struct.unpack_from("<Q", blob, 20 + 16 * n)[0] for n in range(3)]
    if HEADER + sum(lengths) != len(blob):
        return None
    out, pos = [], HEADER
    for length in lengths:
        out.append(blob[pos : pos + length])
        pos += length
    return out


def seal(parts: list[bytes], version: int = 1, tags: tuple[bytes, ...] = (b"META", b"INDX", b"VALS")) -> bytes:
    """A file with correct lengths and checksums around ``parts``."""
    head = b"\x89WCM\r\n\x1a\n" + struct.pack("<II", version, len(parts))
    for tag, body in zip(tags, parts):
        head += tag + struct.pack("<QI", len(body), zlib.crc32(body))
    return head + struct.pack("<I", zlib.crc32(head)) + b"".join(parts)


def reseal(blob: bytes) -> bytes:
    """Recompute lengths and CRCs of an edited file, cutting its body where the old lengths say."""
    if len(blob) < HEADER:
        return blob
    lengths = [struct.unpack_from("<Q", blob, 20 + 16 * n)[0] for n in range(3)]
    body, parts, pos = blob[HEADER:], [], 0
    for n, length in enumerate(lengths):
        end = len(body) if n == 2 else min(len(body), pos + length)
        parts.append(body[pos:end])
        pos = end
    tags = tuple(blob[16 + 16 * n : 20 + 16 * n] for n in range(3))
    version = struct.unpack_from("<I", blob, 8)[0]
    return seal(parts, version, tags)


def canonical(meta: dict[str, Any]) -> bytes:
    """Metadata as the writer lays it out, so an edit that changes nothing gives the same bytes."""
    return json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()


# ---------------------------------------------------------------------- mutators
HOSTILE_JSON: list[Any] = [None, True, False, 0, 1, -1, 2, 255, 256, 257, -100, -101, 113, 114, 2**31, 2**32, 2**53 + 1,
                           2**63 - 1, 2**63, 2**64, -(2**63), 10**30, 0.5, -0.0, 1e308, 1e-320, "", "float32", "float16",
                           "q8", "rice64", "logistic", "squared", "x" * 300, [], [0], [0, 1], [0, 1, 2], ["a", "a"], {},
                           {"a": 1}, [[[]]], "\ud800", "\u0000"]
SPECIAL_FLOATS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" + "0" * 5000]


def _span(rng: np.random.Generator, n: int, longest: int = 64) -> tuple[int, int]:
    i = int(rng.integers(0, n))
    return i, min(n, i + 1 + int(rng.integers(0, longest)))


def m_bits(rng: np.random.Generator, blob: bytes, files: list[bytes]) -> bytes:
    out = bytearray(blob)
    for bit in rng.integers(0, 8 * len(out), int(rng.integers(1, 9))):
        out[bit >> 3] ^= 1 << (int(bit) & 7)
    return bytes(out)


def m_overwrite(rng, blob, files):
    i, j = _span(rng, len(blob))
    return blob[:i] + rng.bytes(j - i) + blob[j:]


def m_special_bytes(rng, blob, files):
    i, j = _span(rng, len(blob), 8)
    fill = bytes([int(rng.choice([0x00, 0xFF, 0x7F, 0x80]))]) * (j - i)
    return blob[:i] + fill + blob[j:]


def m_insert(rng, blob, files):
    i = int(rng.integers(0, len(blob) + 1))
    return blob[:i] + rng.bytes(int(rng.integers(1, 33))) + blob[i:]


def m_delete(rng, blob, files):
    i, j = _span(rng, len(blob))
    return blob[:i] + blob[j:]


def m_duplicate(rng, blob, files):
    i, j = _span(rng, len(blob))
    return blob[:j] + blob[i:j] + blob[j:]


def m_truncate(rng, blob, files):
    return blob[: int(rng.integers(0, len(blob)))]


def m_append(rng, blob, files):
    return blob + rng.bytes(int(rng.integers(1, 64)))


def m_splice(rng, blob, files):
    other = files[int(rng.integers(0, len(files)))]
    cut_a, cut_b = int(rng.integers(0, len(blob) + 1)), int(rng.integers(0, len(other) + 1))
    return blob[:cut_a] + other[cut_b:]


def resealed(mutator: Callable) -> Callable:
    def run(rng, blob, files):
        return reseal(mutator(rng, blob, files))

    run.__name__ = f"resealed_{mutator.__name__[2:]}"
    return run


def m_section_swap(rng, blob, files):
    """Sections taken from other files (each valid on its own), resealed."""
    parts = sections(blob)
    other = sections(files[int(rng.integers(0, len(files)))])
    if parts is None or other is None:
        return blob
    k = int(rng.integers(0, 3))
    parts[k] = other[k]
    return seal(parts)


def m_meta_field(rng, blob, files):
    """One metadata field replaced by a hostile JSON value (or removed), resealed."""
    parts = sections(blob)
    if parts is None:
        return blob
    meta = json.loads(parts[0])
    keys = sorted(meta) + ["codebook_size", "value_scale_exp", "extra"]
    key = keys[int(rng.integers(0, len(keys)))]
    if rng.random() < 0.1:
        meta.pop(key, None)
    else:
        meta[key] = HOSTILE_JSON[int(rng.integers(0, len(HOSTILE_JSON)))]
    parts[0] = canonical(meta)
    return seal(parts)


def m_meta_number(rng, blob, files):
    """A number in the metadata text replaced by NaN, infinities or a huge literal, resealed."""
    parts = sections(blob)
    if parts is None:
        return blob
    text = parts[0].decode()
    for key in ("intercept", "nnz", "n_features", "value_scale_exp", "codebook_size"):
        marker = f'"{key}":'
        if marker in text and rng.random() < 0.5:
            start = text.index(marker) + len(marker)
            end = start
            while end < len(text) and text[end] not in ",}":
                end += 1
            text = text[:start] + SPECIAL_FLOATS[int(rng.integers(0, len(SPECIAL_FLOATS)))] + text[end:]
            break
    parts[0] = text.encode()
    return seal(parts)


def m_meta_spec(rng, blob, files):
    """A field inside the stored FeatureSpec replaced by a hostile value, resealed."""
    parts = sections(blob)
    if parts is None:
        return blob
    meta = json.loads(parts[0])
    spec = meta.get("spec")
    if not isinstance(spec, dict):
        return m_meta_field(rng, blob, files)
    target: Any = spec
    path = ["spec"]
    while True:  # walk down to a random leaf
        if isinstance(target, dict) and target:
            key = sorted(target)[int(rng.integers(0, len(target)))]
        elif isinstance(target, list) and target:
            key = int(rng.integers(0, len(target)))
        else:
            break
        if not isinstance(target[key], (dict, list)) or rng.random() < 0.3:
            target[key] = HOSTILE_JSON[int(rng.integers(0, len(HOSTILE_JSON)))]
            path.append(key)
            break
        target = target[key]
    parts[0] = canonical(meta)
    return seal(parts)


def m_payload(rng, blob, files):
    """Random bytes inside the index or values section, resealed (the decoders see garbage)."""
    parts = sections(blob)
    if parts is None:
        return blob
    k = int(rng.integers(1, 3))
    body = bytearray(parts[k])
    if body and rng.random() < 0.7:
        i, j = _span(rng, len(body), 16)
        body[i:j] = rng.bytes(j - i)
    else:
        body = bytearray(rng.bytes(int(rng.integers(0, 80))))
    parts[k] = bytes(body)
    return seal(parts)


def m_nnz_vs_payload(rng, blob, files):
    """nnz changed by a little or a lot against intact sections, resealed."""
    parts = sections(blob)
    if parts is None:
        return blob
    meta = json.loads(parts[0])
    old = int(meta["nnz"])
    meta["nnz"] = old + int(rng.choice([1, 2, 64, 1000, 2**20])) if old < 2 or rng.random() < 0.5 else old - int(rng.choice([1, 2]))
    parts[0] = canonical(meta)
    return seal(parts)


MUTATORS: list[Callable] = [
    m_bits, m_overwrite, m_special_bytes, m_insert, m_delete, m_duplicate, m_truncate, m_append, m_splice,
    resealed(m_bits), resealed(m_overwrite), resealed(m_insert), resealed(m_delete), resealed(m_splice),
    m_section_swap, m_meta_field, m_meta_number, m_meta_spec, m_payload, m_nnz_vs_payload,
]
RAW = {m.__name__ for m in MUTATORS[:9]}  # edits the checksums must catch: never a loaded model


# ---------------------------------------------------------------------- one case
def make_case(seed: int, files: list[bytes]) -> tuple[str, bytes, bytes]:
    rng = np.random.default_rng(seed)
    blob = files[int(rng.integers(0, len(files)))]
    mutator = MUTATORS[int(rng.integers(0, len(MUTATORS)))]
    mutated = mutator(rng, blob, files)
    if mutated and rng.random() < 0.5:  # sometimes stack a second edit of the same kind
        mutated = mutator(rng, mutated, files)
    return mutator.__name__, blob, mutated


def check(blob: bytes) -> str:
    """``"format_error"``, ``"loaded"`` (a verified model) or raise for anything else."""
    import scipy.sparse as sp

    from widecross.export import ModelFormatError, dumps, loads

    try:
        model = loads(blob)
    except ModelFormatError:
        return "format_error"
    ids = model.indices.astype(np.int64)
    assert ids.shape == model.values.shape and model.values.dtype == np.float32
    assert np.all(np.diff(ids) > 0) and (model.nnz == 0 or (ids[0] >= 0 and ids[-1] < model.n_features))
    assert np.all(np.isfinite(model.values)) and np.all(model.values != 0) and math.isfinite(model.intercept)
    k = min(model.nnz, 8)
    X = sp.csr_matrix((np.ones(k), ids[:k], [0, k]), shape=(1, model.n_features))
    assert np.all(np.isfinite(model.decision_function(X)))
    if model.spec is not None:
        assert model.spec.n_features == model.n_features
    again = loads(dumps(model))
    assert np.array_equal(again.indices, model.indices) and np.array_equal(again.values, model.values)
    return "loaded"


# ---------------------------------------------------------------------- driver
def run(seconds: float, max_cases: int, seed0: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    files = corpus()
    check(files[0])  # compile (or load the Numba cache) before timing
    stats: dict[str, Counter] = defaultdict(Counter)
    failures: list[dict[str, Any]] = []
    unchanged = 0
    start = time.perf_counter()
    cpu0 = time.process_time()
    cases = 0
    while cases < max_cases and time.perf_counter() - start < seconds:
        seed = seed0 + cases
        cases += 1
        name, original, mutated = make_case(seed, files)
        if mutated == original:
            unchanged += 1
            continue
        try:
            outcome = check(mutated)
            if outcome == "loaded" and name in RAW:
                raise AssertionError("a raw edit passed the checksums")
        except Exception as error:  # noqa: BLE001  (the point: anything but the two outcomes)
            outcome = "failure"
            failures.append({"seed": seed, "mutator": name, "error": f"{type(error).__name__}: {error}"[:300],
                             "traceback": traceback.format_exc()[-1500:]})
        stats[name][outcome] += 1
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    rows = []
    for m in MUTATORS:
        c = stats.get(m.__name__, Counter())
        rows.append({"mutator": m.__name__, "cases": sum(c.values()), "format_error": c["format_error"],
                     "loaded_valid": c["loaded"], "failures": c["failure"]})
    tested = sum(r["cases"] for r in rows)
    summary = {"cases_generated": cases, "cases_tested": tested, "unchanged_skipped": unchanged, "wall_s": wall,
               "cpu_s": cpu, "cases_per_s": tested / wall if wall > 0 else 0.0,
               "cases_per_cpu_s": tested / cpu if cpu > 0 else 0.0, "failures": failures[:20],
               "n_failures": len(failures), "peak_rss_mb": peak_rss_mb(), "first_seed": seed0}
    return rows, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument("--cases", type=int, default=10**12, help="stop after this many cases")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first case; case k uses seed + k")
    parser.add_argument("--quick", action="store_true", help="3,000 cases (10 s at most), for the test suite")
    parser.add_argument("--replay", type=int, default=None, help="run the case of this seed and show the outcome")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.replay is not None:
        name, _, mutated = make_case(args.replay, corpus())
        print(f"seed {args.replay}: {name}, {len(mutated)} bytes -> {check(mutated)}")
        return 0
    seconds, cases = (10.0, 3_000) if args.quick else (args.seconds, args.cases)
    rows, summary = run(seconds, cases, args.seed)
    print(format_table(rows))
    print(f"\n{summary['cases_tested']:,} cases in {summary['wall_s']:.1f} s: {summary['cases_per_s']:,.0f} cases/s "
          f"({summary['cases_per_cpu_s']:,.0f} per CPU-second), {summary['n_failures']} failures, "
          f"peak RSS {summary['peak_rss_mb']:.0f} MB")
    for failure in summary["failures"][:5]:
        print(f"  seed {failure['seed']} ({failure['mutator']}): {failure['error']}", file=sys.stderr)
    path = save_results("fuzz_load", rows + [{"mutator": "total", "cases": summary["cases_tested"],
                                               "format_error": sum(r["format_error"] for r in rows),
                                               "loaded_valid": sum(r["loaded_valid"] for r in rows),
                                               "failures": summary["n_failures"]}],
                        params={**{k: v for k, v in vars(args).items() if k != "results_dir"}, **summary},
                        quick=args.quick, results_dir=args.results_dir)
    print(f"results: {path.name}")
    return 1 if summary["n_failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
