"""Replay the hostile inputs of the memory-safety review against a widecross source tree.

Each case runs in a fresh interpreter (a crash must not take the others down) with the given
tree first on ``sys.path``, and is classified: ``correct``, ``clear error`` (ValueError,
TypeError, KeyError or an OSError, with its message), ``unclear error`` (anything else, e.g.
SciPy's ``RuntimeError: vector::_M_default_append``), ``silently wrong`` (the case checks the
result itself), ``crash`` (killed by a signal) or ``hang``; command-line cases by exit code and
whether a traceback reached the user. The tests replay the same cases against this checkout and
assert the expected outcome; this script prints the table, side by side with another tree:

    python -m benchmarks.bad_inputs                        # this checkout
    python -m benchmarks.bad_inputs --before /path/to/old  # before/after table
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import format_table, save_results
from benchmarks.fuzz_load import seal

REPO = Path(__file__).resolve().parents[1]
CLEAR = ("ValueError", "TypeError", "KeyError", "ModelFormatError", "FileExistsError", "IsADirectoryError",
         "FileNotFoundError", "PermissionError", "OSError")


@dataclass(frozen=True)
class Case:
    name: str
    group: str  # arrays, threads, files, cli
    code: str = ""  # Python (may call ok() / wrong()); or, for the CLI, the argv after "widecross"
    argv: tuple[str, ...] = ()
    expect: str = "clear error"  # the outcome this checkout must give (asserted by the tests)
    fragments: tuple[str, ...] = field(default=())  # ... with these in its message


# What every Python case starts with: a small CSR problem and the two verdict helpers.
PRELUDE = """
import json, os, stat, subprocess, sys, tempfile, threading, time
import numpy as np, scipy.sparse as sp
import widecross as wc

class Verdict(Exception):
    pass

def ok(text):
    raise Verdict("correct", text)

def wrong(text):
    raise Verdict("silently wrong", text)

def problem(n=200, d=50, seed=0, density=0.1):
    X = sp.random(n, d, density=density, format="csr", random_state=seed)
    X.data[:] = 1.0
    return X, np.random.default_rng(seed).integers(0, 2, n)

def fitted():
    X, y = problem()
    return wc.WideClassifier(random_state=0).fit(X, y), X, y

def same_three_times(call):
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(repr(np.round(call(), 9).tolist()))
        except Exception as error:
            outcomes.append(error)
    texts = {o if isinstance(o, str) else f"{type(o).__name__}: {o}" for o in outcomes}
    if len(texts) > 1:
        wrong(f"3 calls, {len(texts)} different answers")
    if not isinstance(outcomes[0], str):
        raise outcomes[0]
    wrong("returned numbers for a corrupted matrix")
"""

_A = 'X, y = problem()\n'
CASES = [
    Case("fit, column index 10**8 in a 50-column CSR (dense layout)", "arrays",
         _A + "X.indices[5] = 10**8\nwc.WideClassifier(random_state=0).fit(X, y)\nwrong('fit accepted it')",
         fragments=("row 1", "column index 100000000", "[0, 50)")),
    Case("fit, column index 55 of 50 (dense layout)", "arrays",
         _A + "X.indices[5] = 55\nwc.WideClassifier(random_state=0).fit(X, y)\nwrong('fit accepted it')",
         fragments=("row 1", "column index 55")),
    Case("fit, column index -1 (dense layout)", "arrays",
         _A + "X.indices[5] = -1\nc = wc.WideClassifier(random_state=0).fit(X, y)\n"
         "wrong(f'-1 became column {c.model_.indices.max()}')", fragments=("row 1", "column index -1", "not wrapped")),
    Case("fit, column index -1 (sparse layout)", "arrays",
         _A + "X.indices[5] = -1\nc = wc.WideClassifier(random_state=0, layout='sparse').fit(X, y)\n"
         "wrong(f'fit accepted it, nnz {c.model_.nnz}')", fragments=("row 1", "column index -1")),
    Case("fit, decreasing indptr", "arrays",
         _A + "X.indptr[10] = X.indptr[12] + 3\nwc.WideClassifier(random_state=0).fit(X, y)\nwrong('fit accepted it')",
         fragments=("row 10", "indptr decreases from")),
    Case("fit, indptr[0] = 1", "arrays",
         _A + "X.indptr[0] = 1\nwc.WideRegressor(random_state=0).fit(X, y)\nwrong('fit accepted it')",
         fragments=("indptr[0] is 1",)),
    Case("fit, indptr ends past the indices", "arrays",
         _A + "X.indptr[-1] += 7\nwc.WideClassifier(random_state=0).fit(X, y)\nwrong('fit accepted it')",
         fragments=("row 199", "past the end")),
    Case("fit, COO with a column index past the width", "arrays",
         _A + "C = X.tocoo(copy=True)\nC.col[3] = 10**6\nwc.WideClassifier(random_state=0).fit(C, y)\nwrong('fit accepted it')",
         fragments=("entry 3", "column index 1000000")),
    Case("partial_fit, csr_array with a negative index", "arrays",
         _A + "A = sp.csr_array(X)\nA.indices[7] = -3\nwc.WideClassifier(random_state=0).partial_fit(A, y, classes=[0, 1])\n"
         "wrong('partial_fit accepted it')", fragments=("column index -3",)),
    Case("decision_function x3, decreasing indptr", "arrays",
         "c, X, y = fitted()\nB = X.copy()\nB.indptr[10] = B.indptr[12] + 3\nsame_three_times(lambda: c.decision_function(B))",
         fragments=("row 10", "indptr decreases from")),
    Case("predict x3, CSC with a row index past the rows", "arrays",
         "c, X, y = fitted()\nB = X.tocsc(copy=True)\nB.indices[4] = 10**6\nsame_three_times(lambda: c.predict(B))",
         fragments=("row index 1000000", "[0, 200)")),
    Case("SparseModel x3, CSC with a row index past the rows", "arrays",
         "c, X, y = fitted()\nB = X.tocsc(copy=True)\nB.indices[4] = 10**6\n"
         "same_three_times(lambda: c.model_.decision_function(B))", fragments=("row index 1000000",)),
    Case("score, float column indices", "arrays",
         "c, X, y = fitted()\nB = X.copy()\nB.indices = B.indices.astype(float)\nc.score(B, y)\nwrong('score accepted it')",
         expect="clear error", fragments=("indices", "integers")),
    Case("fit, int64 indptr and indices (valid)", "arrays",
         _A + "B = X.copy()\nB.indptr = B.indptr.astype(np.int64)\nB.indices = B.indices.astype(np.int64)\n"
         "a = wc.WideClassifier(random_state=0).fit(X, y).model_\nb = wc.WideClassifier(random_state=0).fit(B, y).model_\n"
         "same = np.array_equal(a.indices, b.indices) and np.array_equal(a.values, b.values)\n"
         "ok('same model as int32') if same else wrong('another model')", expect="correct"),
    Case("two threads partial_fit 19,100 rows (3 trials)", "threads", textwrap.dedent("""
        X, y = problem(19100, 300, density=0.3)
        counts = []
        for trial in range(3):
            clf = wc.WideClassifier(random_state=0).partial_fit(X[:100], y[:100], classes=[0, 1])
            parts = [(X[100 + 1000 * i: 1100 + 1000 * i], y[100 + 1000 * i: 1100 + 1000 * i]) for i in range(19)]
            def work(k):
                for i in range(k, 19, 2):
                    clf.partial_fit(*parts[i])
            threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
            [t.start() for t in threads]
            [t.join() for t in threads]
            counts.append(clf.t_)
        (ok if counts == [19100] * 3 else wrong)(f"t_ = {counts}")"""), expect="correct"),
    Case("save over a device node (a copy of /dev/full's)", "files", textwrap.dedent("""
        m = wc.SparseModel([3], [1.0], 0.0, 10, "logistic")
        node = os.path.join(tempfile.mkdtemp(), "full")
        if os.geteuid() == 0:
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        else:
            os.mkfifo(node)
        try:
            m.save(node)
        finally:
            if stat.S_ISREG(os.lstat(node).st_mode):
                wrong("the node was replaced by a regular file")"""), fragments=("only a regular file",)),
    Case("save to a 236-character name", "files", textwrap.dedent("""
        m = wc.SparseModel([3], [1.0], 0.0, 10, "logistic")
        path = os.path.join(tempfile.mkdtemp(), "m" * 232 + ".wcm")
        ok(f"saved, loads nnz {wc.load(m.save(path)).nnz}")"""), expect="correct"),
    Case("save('')", "files", 'wc.SparseModel([3], [1.0], 0.0, 10, "logistic").save("")', fragments=("empty",)),
    Case("kill -9 during save, then save again", "files", textwrap.dedent("""
        d = tempfile.mkdtemp()
        m = wc.SparseModel([3], [1.0], 0.0, 10, "logistic")
        target = m.save(os.path.join(d, "m.wcm"))
        child = ("import sys, time, widecross as wc\\n"
                 "try:\\n    import widecross.model.file_format as e\\nexcept ImportError:  # a tree of the earlier layout\\n"
                 "    import widecross.export as e\\n"
                 "def stall(f, pieces):\\n    f.write(pieces[0]); f.flush(); print('writing', flush=True); time.sleep(60)\\n"
                 "e._write_all = stall\\nwc.SparseModel([5], [2.0], 0.0, 10, 'logistic').save(sys.argv[1])\\n")
        for _ in range(2):
            p = subprocess.Popen([sys.executable, "-c", child, str(target)], stdout=subprocess.PIPE, text=True)
            p.stdout.readline()
            p.kill()
            p.wait()
        left = [n for n in os.listdir(d) if n != "m.wcm"]
        m.save(target)
        after = [n for n in os.listdir(d) if n != "m.wcm"]
        intact = wc.load(target).nnz == 1
        (ok if not after and intact else wrong)(f"temporary files: {len(left)} after 2 kills, {len(after)} after the next save")"""),
         expect="correct"),
    Case("load, a 400-digit intercept behind valid checksums", "files",
         "wc.load(os.environ['FIXTURES'] + '/intercept400.wcm')\nwrong('loaded')", fragments=("400-digit",)),
    Case("load, 60 MB of metadata behind valid checksums", "files", textwrap.dedent("""
        def rss():
            return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024
        before = rss()
        m = wc.load(os.environ['FIXTURES'] + '/meta60.wcm')
        wrong(f"loaded at +{rss() - before:.0f} MB RSS")"""), fragments=("more than the",)),
    Case("wc.load from a read-only install, read-only HOME, not root", "install", expect="correct"),
]

_T = ("train", "h.parquet", "--target", "label", "-o", "t.wcm", "-q")
CASES += [Case(f"cli train {' '.join(a)}", "cli", argv=_T + a, expect="exit 2", fragments=(a[0],))
          for a in (("--l1", "-1"), ("--bits", "0"), ("--learning-rate", "0"), ("--resolutions", "7"),
                    ("--epochs", "-1"), ("--memory-rows", "-1"))]
CASES += [
    Case("cli train on an empty CSV", "cli", argv=("train", "empty.csv", "--target", "label", "-o", "t.wcm", "-q"),
         expect="exit 1", fragments=("empty.csv", "Empty CSV file")),
    Case("cli train on a .parquet that is not Parquet", "cli",
         argv=("train", "bad.parquet", "--target", "label", "-o", "t.wcm", "-q"), expect="exit 1",
         fragments=("bad.parquet", "magic bytes")),
    Case("cli train --l1 1e300 (all weights zero)", "cli", argv=_T + ("--l1", "1e300"), expect="exit 0",
         fragments=("removed every weight",)),
    Case("cli map -o x.txt", "cli", argv=("map", "good.wcm", "-o", "x.txt", "-q"), expect="exit 2", fragments=(".png",)),
    Case("cli evaluate on a one-class target", "cli", argv=("evaluate", "good.wcm", "one.parquet", "--target", "label", "-q"),
         expect="exit 0", fragments=("auc  undefined",)),
    Case("cli inspect a 400-digit intercept", "cli", argv=("inspect", "intercept400.wcm"), expect="exit 1",
         fragments=("400-digit",)),
]


# ---------------------------------------------------------------------- running
def _child_env(source: Path, fixtures: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = os.pathsep.join([str(source), str(REPO)])
    env["FIXTURES"] = str(fixtures)
    return env


_BATCH = """
import json, sys, traceback
cases = json.loads(sys.argv[1])
for name, code in cases:
    scope = {}
    try:
        exec(compile(PRELUDE + code, name, "exec"), scope)
        result = {"kind": "correct", "detail": "(no verdict)"}
    except BaseException as error:
        if type(error).__name__ == "Verdict":
            result = {"kind": error.args[0], "detail": error.args[1]}
        else:
            clear = any(type(error).__name__ == c or c in [k.__name__ for k in type(error).__mro__] for c in CLEAR)
            result = {"kind": "clear error" if clear else "unclear error", "detail": f"{type(error).__name__}: {error}"}
    print("RESULT " + json.dumps({"name": name, **result}), flush=True)
"""


def run_python_cases(cases: list[Case], source: Path, fixtures: Path, timeout: float = 600) -> list[dict[str, Any]]:
    """Run ``cases`` one after another in one fresh interpreter; a crash ends the batch there."""
    program = f"PRELUDE = {PRELUDE!r}\nCLEAR = {CLEAR!r}\n" + _BATCH
    payload = json.dumps([(c.name, c.code) for c in cases])
    try:
        proc = subprocess.run([sys.executable, "-c", program, payload], capture_output=True, text=True,
                              timeout=timeout, env=_child_env(source, fixtures), cwd=fixtures)
    except subprocess.TimeoutExpired:
        return [{"name": c.name, "kind": "hang", "detail": f"> {timeout:.0f} s"} for c in cases]
    results = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if len(results) < len(cases):
        why = f"crash ({signal.Signals(-proc.returncode).name})" if proc.returncode < 0 else f"exit {proc.returncode}"
        last = proc.stderr.strip().splitlines()[-1:] or [""]
        results.append({"name": cases[len(results)].name, "kind": why.split(" ")[0] if proc.returncode < 0 else "unclear error",
                        "detail": f"{why}: {last[0][:200]}"})
        results += [{"name": c.name, "kind": "not run", "detail": "after a crash"} for c in cases[len(results):]]
    return results


def run_cli_case(case: Case, source: Path, fixtures: Path, timeout: float = 600) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "widecross", *case.argv], capture_output=True, text=True,
                          timeout=timeout, env=_child_env(source, fixtures), cwd=fixtures)
    text = (proc.stderr + proc.stdout).strip()
    kind = f"exit {proc.returncode}" + (" with a traceback" if "Traceback" in text else "")
    lines = [line for line in text.splitlines() if "error" in line or "warning" in line or "auc" in line]
    return {"name": case.name, "kind": kind, "detail": (lines or text.splitlines() or [""])[-1][:240]}


def run_cases(cases: list[Case], source: Path, fixtures: Path, isolated: bool = True) -> list[dict[str, Any]]:
    """Outcomes of ``cases`` against ``source``: each in its own process, or the Python ones in one."""
    python = [c for c in cases if c.group not in ("cli", "install")]
    outcomes = {c.name: _install_case(c, source) for c in cases if c.group == "install"}
    batches = [[c] for c in python] if isolated else ([python] if python else [])
    for batch in batches:
        outcomes.update({r["name"]: r for r in run_python_cases(batch, source, fixtures)})
    outcomes.update({c.name: run_cli_case(c, source, fixtures) for c in cases if c.group == "cli"})
    return [outcomes[c.name] for c in cases]


def _install_case(case: Case, source: Path) -> dict[str, Any]:
    try:
        return {"name": case.name, "kind": "correct", "detail": readonly_load(str(source))}
    except RuntimeError as error:
        return {"name": case.name, "kind": "unclear error", "detail": str(error)}


# ---------------------------------------------------------------------- fixtures
def make_fixtures(directory: Path, large: bool = True) -> Path:
    """The data and model files the cases read (written with this checkout, read by any);
    ``large=False`` leaves out the 60 MB file that only the metadata case reads."""
    import data_gen
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o755)
    rows = data_gen.generate_housing(3000, seed=0)
    table = pa.table({"lat": rows["lat"], "lon": rows["lon"], "label": rows["label"]})
    pq.write_table(table, directory / "h.parquet")
    pq.write_table(table.set_column(2, "label", pa.array(np.ones(3000, dtype=np.int64))), directory / "one.parquet")
    (directory / "empty.csv").write_bytes(b"")
    (directory / "bad.parquet").write_bytes(b"not a parquet file\n")
    import widecross as wc

    spec = wc.geo_spec(resolutions=(60,), bits=None)
    wc.SparseModel([3, 70], [0.5, -1.5], 0.25, spec.n_features, "logistic", spec=spec).save(directory / "good.wcm")
    index, values = _sections(4)
    (directory / "intercept400.wcm").write_bytes(seal([_meta(intercept=int("9" * 400)), index, values]))
    if large:
        blob = _meta(metadata={"x": 0}).replace(b'{"x":0}', b'{"x":[' + b"0," * (30 << 20) + b"0]}")
        (directory / "meta60.wcm").write_bytes(seal([blob, index, values]))
    return directory


def _meta(**change: Any) -> bytes:
    meta = {"library_version": "0.1.0", "n_features": 100, "nnz": 4, "intercept": 0.0, "loss": "logistic",
            "classes": None, "spec": None, "metadata": {}, "index_codec": "rice64", "value_encoding": "float32"}
    meta.update(change)
    return json.dumps(meta, separators=(",", ":")).encode()


def _sections(nnz: int) -> tuple[bytes, bytes]:
    from widecross.model import _rice, _values

    return _rice.encode(np.arange(nnz, dtype=np.int64)), _values.encode(np.ones(nnz, dtype=np.float32), "float32")[0]


# ---------------------------------------------------------------------- a read-only install
NOBODY = 65534


def readonly_install(source: Path, directory: Path) -> dict[str, Any]:
    """A read-only copy of ``source``'s package, a read-only HOME, a model file, and how to run a
    Python there as a user who is not root (``nobody`` when we are root). Raises ``RuntimeError``
    when no interpreter of ours can run as that user."""
    package = directory / "install"
    shutil.copytree(Path(source) / "widecross", package / "widecross", ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(source))
    try:
        import widecross as wc
    finally:
        sys.path.pop(0)
    model = directory / "model.wcm"
    wc.SparseModel([3, 70], [0.5, -1.5], 0.25, 2**24, "logistic").save(model)
    home, tmp = directory / "home", directory / "tmp"
    home.mkdir()
    tmp.mkdir()
    for root, dirs, files in os.walk(package):
        for name in files:
            os.chmod(os.path.join(root, name), 0o444)
        os.chmod(root, 0o555)
    os.chmod(home, 0o555)
    os.chmod(tmp, 0o1777)
    os.chmod(model, 0o444)
    os.chmod(directory, 0o755)
    run_as: dict[str, Any] = {}
    python, paths = sys.executable, [str(package)]
    if os.geteuid() == 0:  # root writes anywhere: the failure needs an ordinary user
        found = _interpreter_for(NOBODY)
        if found is None:
            raise RuntimeError("no Python interpreter with this environment's packages is reachable by uid 65534")
        python, site_dirs = found
        paths += site_dirs
        run_as = dict(user=NOBODY, group=NOBODY, extra_groups=[])
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp), "PYTHONPATH": os.pathsep.join(paths)}
    return {"python": python, "env": env, "run_as": run_as, "model": model, "package": package, "tmp": tmp}


def run_in_install(install: dict[str, Any], code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([install["python"], "-c", code], capture_output=True, text=True, timeout=600,
                          env={**install["env"], **env}, cwd=install["tmp"], **install["run_as"])


def readonly_load(source: str) -> str:
    """``wc.load`` + a prediction in a read-only install as a user who is not root."""
    with tempfile.TemporaryDirectory() as directory:
        install = readonly_install(Path(source), Path(directory))
        code = ("import widecross as wc, scipy.sparse as sp\n"
                f"m = wc.load({str(install['model'])!r})\n"
                "print(m.decision_function(sp.csr_matrix(([1.0], [3], [0, 1]), shape=(1, 2**24)))[0])\n")
        proc = run_in_install(install, code)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1])
        return f"loaded and predicted {proc.stdout.strip()} as uid {install['run_as'].get('user', os.getuid())}"


def _interpreter_for(uid: int) -> tuple[str, list[str]] | None:
    """A Python of this version that ``uid`` can run, with this environment's site directories."""
    import site

    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    site_dirs = [p for p in site.getsitepackages() if os.path.isdir(p)]
    if not all(_reachable(p) for p in site_dirs):
        return None
    for candidate in (sys.executable, shutil.which(f"python{version}"), f"/usr/bin/python{version}"):
        if not candidate or not os.path.exists(candidate) or not _reachable(candidate):
            continue
        probe = subprocess.run([candidate, "-c", "import sys, numpy, numba, scipy; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, user=uid, group=uid, extra_groups=[],
                               env={"PYTHONPATH": os.pathsep.join(site_dirs), "PATH": "/usr/bin:/bin"}, cwd="/")
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate, site_dirs
    return None


def _reachable(path: str) -> bool:
    """Whether any user may read and enter or run ``path`` (o+x on every directory above it)."""
    real = os.path.realpath(path)
    return all(os.stat(p).st_mode & 0o001 for p in Path(real).parents) and os.stat(real).st_mode & 0o005 == 0o005


# ---------------------------------------------------------------------- the table
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="another source tree (e.g. an older checkout) to compare with")
    parser.add_argument("--before-label", default="before", help="what to call it in the results (e.g. its commit)")
    parser.add_argument("--cases", default="", help="only the cases whose name contains this text")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if args.cases in c.name]
    with tempfile.TemporaryDirectory() as directory:
        fixtures = make_fixtures(Path(directory) / "fixtures")
        trees = ([("before", args.before)] if args.before else []) + [("after", REPO)]
        outcomes = {label: run_cases(cases, tree, fixtures) for label, tree in trees}
    rows = []
    for i, case in enumerate(cases):
        row: dict[str, Any] = {"case": case.name}
        for label, _ in trees:
            result = outcomes[label][i]
            detail = re.sub(r"(?:/[\w.\-]+)+/", "", result["detail"])  # file names, not where they were
            row[label] = f"{result['kind']}: {detail[:150]}"
        rows.append(row)
    print(format_table(rows))
    save_results("bad_inputs", rows, params={"before": args.before_label if args.before else None})
    failed = [c.name for c, r in zip(cases, outcomes["after"]) if not matches(c, r)]
    if failed:
        print(f"\n{len(failed)} case(s) without the expected outcome: {failed}", file=sys.stderr)
    return 1 if failed else 0


def matches(case: Case, result: dict[str, Any]) -> bool:
    """Whether ``result`` is what this checkout must give for ``case``."""
    return result["kind"] == case.expect and all(f in result["detail"] for f in case.fragments)


if __name__ == "__main__":
    sys.exit(main())
