"""Security of the load path: no pickle, eval or exec anywhere in the package (checked on the
syntax tree, so strings and comments do not count), NumPy files opened with
``allow_pickle=False``, loading never reaches an unpickler or the training code, and every size
read from a header is bounded by the file's size before anything is allocated.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import re
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import widecross as wc
from widecross.export import ModelFormatError, dumps, loads
from widecross.model import SparseModel

REPO = Path(__file__).resolve().parents[1]
PACKAGES = [REPO / "widecross", REPO / "data_gen"]
SOURCES = sorted(p for package in PACKAGES for p in package.rglob("*.py"))

# Modules whose import would let a file execute code or rebuild arbitrary objects.
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve", "yaml",
                     "jsonpickle", "copyreg"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "execfile", "input"}
# Modules a model file goes through between ``load(path)`` and a prediction.
LOAD_PATH = {"widecross/__init__.py", "widecross/export.py", "widecross/model/__init__.py", "widecross/model/sparse.py",
             "widecross/model/file_format.py", "widecross/model/inputs.py", "widecross/losses.py",
             "widecross/_hashing.py", "widecross/_components.py", "widecross/_strings.py", "widecross/_validation.py",
             "widecross/model/_rice.py", "widecross/model/_values.py", "widecross/model/_lookup.py", "widecross/_jit.py",
             "widecross/_version.py", "widecross/_csr_check.py", "widecross/_csr_scan.py", "widecross/_atomic_file.py"} | {
    p.relative_to(REPO).as_posix() for p in (REPO / "widecross" / "features").glob("*.py")}


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def findings(path: Path) -> list[str]:
    """Forbidden imports and calls, and NumPy loads that could unpickle, in one source file."""
    out = []
    rel = path.relative_to(REPO).as_posix() if REPO in path.parents else path.name
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            out += [f"{rel}:{node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FORBIDDEN_MODULES:
            out.append(f"{rel}:{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if isinstance(func, ast.Name) and name in FORBIDDEN_CALLS:
                out.append(f"{rel}:{node.lineno}: {name}()")
            keywords = {k.arg: k.value for k in node.keywords}
            pickle_flag = keywords.get("allow_pickle")
            if pickle_flag is not None and not (isinstance(pickle_flag, ast.Constant) and pickle_flag.value is False):
                out.append(f"{rel}:{node.lineno}: allow_pickle is not the literal False")
            if name == "load" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                    and func.value.id in ("np", "numpy") and pickle_flag is None:
                out.append(f"{rel}:{node.lineno}: np.load without allow_pickle=False")
            if name in ("loads", "load") and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                    and func.value.id == "json" and ("object_hook" in keywords or "object_pairs_hook" in keywords):
                out.append(f"{rel}:{node.lineno}: json with an object hook")
        elif isinstance(node, ast.Attribute) and node.attr in ("__reduce__", "__reduce_ex__", "__setstate__"):
            out.append(f"{rel}:{node.lineno}: {node.attr}")
    return out


def test_the_scan_sees_every_package_file():
    names = {p.relative_to(REPO).as_posix() for p in SOURCES}
    assert LOAD_PATH <= names, LOAD_PATH - names
    assert len(SOURCES) >= 20


def test_the_scan_catches_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import pickle\nfrom marshal import loads\nimport numpy as np\n"
        "eval('1')\nexec('x = 1')\nnp.load('a.npy')\nnp.load('a.npy', allow_pickle=True)\n"
        "import json\njson.loads('{}', object_hook=dict)\n"
        "x = 'pickle eval exec allow_pickle=True'  # pickle in a string is not code\n"
    )
    found = [f.split(": ", 1)[1] for f in findings(bad)]
    assert found == ["import pickle", "from marshal import ...", "eval()", "exec()", "np.load without allow_pickle=False",
                     "allow_pickle is not the literal False", "json with an object hook"], found


def test_no_pickle_eval_exec_anywhere_in_the_package():
    problems = [f for path in SOURCES for f in findings(path)]
    assert problems == []


def test_the_load_path_runs_no_dynamic_code():
    # Stricter on the modules a model file passes through: no subprocess, no dynamic imports
    # beyond the package's own fixed table of public names.
    problems = []
    for path in SOURCES:
        rel = path.relative_to(REPO).as_posix()
        if rel not in LOAD_PATH:
            continue
        for node in ast.walk(parse(path)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                bad = [n for n in names if n.split(".")[0] in ("subprocess", "ctypes", "runpy", "code", "codeop")]
                problems += [f"{rel}:{node.lineno}: imports {n}" for n in bad]
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module":
                first = node.args[0] if node.args else None
                fixed = rel == "widecross/__init__.py" and isinstance(first, ast.JoinedStr)
                if not fixed:
                    problems.append(f"{rel}:{node.lineno}: import_module")
    assert problems == []


def test_public_names_resolve_through_a_fixed_table():
    import widecross

    assert set(widecross._PUBLIC.values()) <= {"features", "estimators", "model", "export"}
    with pytest.raises(AttributeError):
        widecross.__getattr__("os")


def test_loading_never_reaches_an_unpickler(tmp_path, monkeypatch):
    spec = wc.geo_spec(bits=20)
    rng = np.random.default_rng(0)
    idx = np.unique(rng.integers(0, spec.n_features, 3000))
    model = SparseModel(idx, rng.laplace(0, 0.3, idx.size) + 1e-3, 0.1, spec.n_features, "logistic", spec=spec,
                        classes=["cheap", "dear"], metadata={"note": "ok"})
    columns = {"lat": rng.uniform(-90, 90, 500), "lon": rng.uniform(-180, 180, 500)}
    paths = [model.save(tmp_path / f"m.{e}.wcm", values=e) for e in ("float32", "float16", "q8")]
    expected = [wc.load(p).predict_proba(columns) for p in paths]  # compiles (or loads Numba's cache) first

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an unpickler or code evaluator was called while loading a model")

    import builtins
    import marshal

    for module, names in ((pickle, ("load", "loads", "Unpickler")), (marshal, ("load", "loads")),
                          (builtins, ("eval", "exec", "compile"))):
        for name in names:
            monkeypatch.setattr(module, name, refuse)
    for path, want in zip(paths, expected):
        loaded = wc.load(path)
        np.testing.assert_array_equal(loaded.predict_proba(columns), want)
        assert loaded.classes == ["cheap", "dear"] and loaded.metadata == {"note": "ok"}


def test_a_malicious_pickle_is_rejected_without_running(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "model.wcm"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFormatError, match="pickle"):
        wc.load(path)
    # The same payload smuggled into the metadata or spec JSON is just text.
    blob = pickle.dumps(Payload()).decode("latin-1")
    m = SparseModel([1], [1.0], 0.0, 10, "logistic", metadata={"payload": blob})
    assert wc.load(m.save(tmp_path / "m.wcm")).metadata["payload"] == blob
    assert not marker.exists()


def test_loading_does_not_import_the_trainer(tmp_path):
    spec = wc.geo_spec(bits=16)
    model = SparseModel([1, 2], [0.5, -0.5], 0.0, spec.n_features, "logistic", spec=spec)
    path = model.save(tmp_path / "m.wcm")
    code = (
        "import sys, widecross as wc\n"
        f"m = wc.load({str(path)!r})\n"
        "m.predict_proba({'lat': [1.0], 'lon': [2.0]})\n"
        "print(sorted(k for k in sys.modules if k.startswith('widecross')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    assert result.returncode == 0, result.stderr
    loaded = set(eval(result.stdout.strip().splitlines()[-1], {"__builtins__": {}}))  # noqa: S307  (a list literal we printed)
    assert "widecross.export" in loaded and "widecross.model" in loaded
    training = ("widecross.estimators", "widecross.train", "widecross.cli", "widecross.tasks")
    reached = {m for m in loaded if m.split(".")[:2] and ".".join(m.split(".")[:2]) in training}
    assert not reached, reached


# ---------------------------------------------------------------------- sizes from headers
def assemble(meta: dict[str, Any] | bytes, index: bytes, values: bytes, lengths: list[int] | None = None) -> bytes:
    """A file by the documented layout with valid checksums; ``lengths`` may lie about the sections."""
    meta_bytes = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    bodies = [meta_bytes, index, values]
    head = b"\x89WCM\r\n\x1a\n" + struct.pack("<II", 1, 3)
    for n, (tag, body) in enumerate(zip((b"META", b"INDX", b"VALS"), bodies)):
        length = len(body) if lengths is None else lengths[n]
        head += tag + struct.pack("<QI", length, zlib.crc32(body))
    return head + struct.pack("<I", zlib.crc32(head)) + b"".join(bodies)


def base_meta(**change: Any) -> dict[str, Any]:
    meta = {"library_version": "0.1.0", "n_features": 2**40, "nnz": 4, "intercept": 0.0, "loss": "logistic",
            "classes": None, "spec": None, "metadata": {}, "index_codec": "rice64", "value_encoding": "float32"}
    meta.update(change)
    return meta


def peak_bytes(call: Any) -> int:
    tracemalloc.start()
    try:
        try:
            call()
        except ModelFormatError:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def spec_json(feature: dict[str, Any]) -> dict[str, Any]:
    return {"format": "widecross.FeatureSpec", "version": 1, "bits": None, "seed": 0, "features": [feature]}


ZEROS = zlib.compress(bytes(64 << 20), 9)  # a 64 MB zlib bomb of about 64 kB
SMALL = b"\x00" * 64


def index(nnz: int) -> bytes:
    """A valid index section for ``nnz`` ids 0..nnz-1, so that decoding goes on past it."""
    from widecross.model import _rice

    return _rice.encode(np.arange(nnz, dtype=np.int64))


def values(nnz: int) -> bytes:
    from widecross.model import _values

    return _values.encode(np.ones(nnz, dtype=np.float32), "float32")[0]


HOSTILE = [
    ("section lengths of 2**63", lambda: assemble(base_meta(), SMALL, SMALL, lengths=[2**63 - 1, 2**62, 2**62]),
     "the header describes"),
    ("metadata length of 1 TB", lambda: assemble(base_meta(), SMALL, SMALL, lengths=[2**40, 64, 64]), "the header describes"),
    ("nnz of 2**39 with a tiny index", lambda: assemble(base_meta(nnz=2**39), SMALL, SMALL), "holds at most 512"),
    ("nnz of 2**20 with 64 index bytes", lambda: assemble(base_meta(nnz=2**20), index(4), values(4)), "holds at most"),
    ("nnz of 5000 with a zlib bomb of values", lambda: assemble(base_meta(nnz=5000), index(5000), ZEROS), "inflates to more"),
    ("q8 codebook of 2**31", lambda: assemble(base_meta(value_encoding="q8", codebook_size=2**31), index(4), SMALL),
     "codebook_size"),
    ("float16 scale of 10**9", lambda: assemble(base_meta(value_encoding="float16", value_scale_exp=10**9), index(4),
                                                 values(4)), "value_scale_exp"),
    ("a spec with 10**12 buckets of another width", lambda: assemble(base_meta(spec=spec_json(
        {"type": "bucketize", "column": "x", "start": 0.0, "stop": 1.0, "n_buckets": 10**12, "wrap": False,
         "out_of_range": "error", "name": "x"})), index(4), values(4)), "spec.n_features=1000000000000"),
    ("a vocabulary of 50k values of another width", lambda: assemble(base_meta(spec=spec_json(
        {"type": "categorical", "column": "c", "n_buckets": None, "vocabulary": list(range(50_000)),
         "unknown": "error", "name": "c"})), index(4), values(4)), "spec.n_features=50000"),
    ("metadata nested 100k deep", lambda: assemble(b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", SMALL, SMALL),
     "not valid UTF-8 JSON"),
]


@pytest.mark.parametrize("make, reason", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_header_sizes_are_bounded_by_the_file_size(make, reason):
    blob = make()
    with pytest.raises(ModelFormatError, match=re.escape(reason)):
        loads(blob)
    # Whatever the header claims, loading allocates a multiple of the file's own size: at most
    # about 50 bytes of Python objects per byte of JSON metadata (a vocabulary of small ints),
    # plus the 1 MB inflate buffer.
    assert peak_bytes(lambda: loads(blob)) <= 64 * len(blob) + (4 << 20)


@pytest.mark.parametrize("width", [2**30, 10**12], ids=["2**30", "10**12 exact buckets"])
def test_a_genuine_large_model_loads_in_about_its_own_size(width):
    from widecross.features import Bucketize, FeatureSpec

    rng = np.random.default_rng(1)
    idx = np.unique(rng.integers(0, width, 300_000))
    spec = FeatureSpec([Bucketize("x", 0.0, 1.0, n_buckets=width)]) if width == 10**12 else None
    model = SparseModel(idx, rng.laplace(0, 0.3, idx.size) + 1e-3, 0.0, width, "logistic", spec=spec)
    blob = dumps(model)
    # Arrays of 4-8 + 4 bytes per nonzero, a directory of about 1, and the file's sections read once:
    # nothing of the model's width.
    peak = peak_bytes(lambda: loads(blob))
    assert peak <= 14 * model.nnz + 2 * len(blob) + (2 << 20)
    assert loads(blob).nnz == model.nnz


# ---------------------------------------------------------------------- the fuzz benchmark
@pytest.mark.slow
def test_fuzz_load_quick(tmp_path, capsys):
    from benchmarks import fuzz_load

    assert fuzz_load.main(["--quick", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "cases/s" in out and "0 failures" in out
    result = json.loads((tmp_path / "fuzz_load.quick.json").read_text())
    assert result["quick"] is True and result["params"]["n_failures"] == 0
    rows = {row["mutator"]: row for row in result["rows"]}
    assert rows["total"]["cases"] >= 2000 and rows["total"]["failures"] == 0
    # Raw edits never pass the checksums; resealed ones reach the decoders, and some load.
    assert all(rows[name]["loaded_valid"] == 0 for name in fuzz_load.RAW)
    assert rows["total"]["loaded_valid"] > 0 and rows["m_payload"]["format_error"] > 0
    assert (tmp_path / "fuzz_load.quick.md").read_text().startswith("| ")


def test_fuzz_cases_replay_from_their_seed():
    from benchmarks import fuzz_load

    files = fuzz_load.corpus()
    assert fuzz_load.make_case(1234, files) == fuzz_load.make_case(1234, files)
    name, original, mutated = fuzz_load.make_case(1234, files)
    assert name in {m.__name__ for m in fuzz_load.MUTATORS} and original in files
    # A resealed file keeps valid checksums: the structure, not the CRC, is what the decoder faces.
    assert fuzz_load.check(fuzz_load.reseal(original)) == "loaded"
