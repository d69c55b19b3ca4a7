"""Nothing lost: interrupted or failed writes never leave a partial file under the final name and
never damage the previous one; failed training writes nothing; a failed ``partial_fit`` leaves the
estimator in its last good state.

Interruptions are real where the platform allows: a child process killed with SIGKILL in the
middle of a save, a per-process file size limit (RLIMIT_FSIZE) and a full tmpfs mounted in a
private mount namespace. A patched writer covers failures at chosen byte offsets.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import widecross as wc
from widecross import export
from widecross.export import dumps
from widecross.model import file_format
from widecross.model import SparseModel

REPO = Path(__file__).resolve().parents[1]
TEMP_NAME = re.compile(r"^\.model\.wcm\.(\d+)\.[0-9a-f]{8}\.tmp$")  # the writer's pid, 8 hex digits

# Shared by the parent and the child processes: both build the same models from a seed.
MODEL_SOURCE = '''
import numpy as np
from widecross.model import SparseModel

def make_model(seed, nnz, width=2**24):
    rng = np.random.default_rng(seed)
    idx = np.unique(rng.integers(0, width, int(nnz * 1.02) + 8))[:nnz]
    values = (rng.laplace(0, 0.2, idx.size) + 1e-3).astype(np.float32)
    return SparseModel(idx, values, 0.25 * seed, width, "logistic", metadata={"seed": seed})
'''
_namespace: dict[str, Any] = {}
exec(MODEL_SOURCE, _namespace)  # noqa: S102  (our own constant source, shared with the children)
make_model = _namespace["make_model"]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": "0"}


def leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


# ---------------------------------------------------------------------- killed mid-write
KILL_CHILD = MODEL_SOURCE + textwrap.dedent('''
    import os, sys, time
    from widecross import export
    from widecross.model import file_format

    path = sys.argv[1]
    a, b = make_model(1, 100_000), make_model(2, 80_000)
    for name, model in (("a.ref", a), ("b.ref", b)):
        with open(os.path.join(os.path.dirname(path), name), "wb") as f:
            f.write(export.dumps(model))

    def paced(f, pieces):
        # The real save path (temporary file, fsync, rename), with the writing stretched out so
        # that the parent can kill us while the temporary file is half written.
        print("W", flush=True)
        for piece in pieces:
            view = memoryview(piece)
            for start in range(0, len(view), 1 << 15):
                f.write(view[start : start + (1 << 15)])
                f.flush()
                time.sleep(0.001)

    real_replace = os.replace

    def replace(src, dst):
        print("R", flush=True)
        real_replace(src, dst)

    file_format._write_all = paced
    file_format.os.replace = replace
    export.save(a, path)
    print("READY", flush=True)
    sys.stdin.readline()  # wait for the parent's go
    i = 0
    while True:
        export.save(b if i % 2 == 0 else a, path)
        i += 1
''')


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_save_killed_at_any_point_leaves_the_old_or_the_new_model(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(KILL_CHILD)
    rng = np.random.default_rng(2024)
    # (marker to wait for, how many of them, bound of a random extra delay in seconds): inside the
    # write of the first or second save, just before or after a rename, or anywhere.
    plans = [("W", 1, 0.03), ("W", 2, 0.05), ("R", 2, 0.002), (None, 0, 0.3)]
    children = []
    for trial in range(len(plans)):  # started together: their start-up costs overlap
        work = tmp_path / f"trial{trial}"
        work.mkdir()
        proc = subprocess.Popen([sys.executable, "-u", str(script), str(work / "model.wcm")], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=child_env(), cwd=REPO)
        children.append((work, proc))
    seen = set()
    try:
        for trial, ((marker, count, jitter), (work, proc)) in enumerate(zip(plans, children)):
            lines = iter(proc.stdout.readline, "")
            assert any(line.strip() == "READY" for line in lines), f"trial {trial}: the child did not start"
            proc.stdin.write("go\n")
            proc.stdin.flush()
            hits = 0
            for line in lines if marker else ():
                hits += line.strip() == marker
                if hits == count:
                    break
            time.sleep(float(rng.uniform(0, jitter)))
            proc.kill()
            proc.wait(timeout=30)
            path = work / "model.wcm"
            refs = {(work / "a.ref").read_bytes(): "a", (work / "b.ref").read_bytes(): "b"}
            data = path.read_bytes()
            assert data in refs, f"trial {trial}: the final name holds {len(data)} bytes that are neither model"
            seen.add(refs[data])
            assert wc.load(path).nnz in (100_000, 80_000)
            temps = leftovers(work, {"model.wcm", "a.ref", "b.ref"})
            # a killed writer leaves only its own temporary file, named with its pid
            assert all(TEMP_NAME.match(name) and int(TEMP_NAME.match(name)[1]) == proc.pid for name in temps), temps
            # A later save over the same name still works and removes what the killed writer left.
            make_model(3, 1000).save(path)
            assert wc.load(path).metadata == {"seed": 3}
            assert leftovers(work, {"model.wcm", "a.ref", "b.ref"}) == []
    finally:
        for _, proc in children:
            proc.kill()
            proc.wait(timeout=30)
            for stream in (proc.stdin, proc.stdout):
                stream.close()
    assert seen == {"a", "b"}  # the kills landed in saves of both models


# ---------------------------------------------------------------------- failures at chosen points
@pytest.fixture(scope="module")
def old_and_new() -> tuple[SparseModel, SparseModel]:
    return make_model(1, 3000), make_model(2, 5000)


def test_write_failing_at_any_offset_keeps_the_previous_file(tmp_path, monkeypatch, old_and_new):
    old, new = old_and_new
    path = tmp_path / "model.wcm"
    old.save(path)
    before = path.read_bytes()
    size = len(dumps(new))
    header = 16 + 16 * 3 + 4
    for offset in sorted({0, 1, 8, header - 1, header, header + 1, size // 3, size // 2, size - 1}):

        def disk_full_after(f, pieces, offset=offset):
            blob = b"".join(pieces)
            f.write(blob[:offset])
            f.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(file_format, "_write_all", disk_full_after)
        with pytest.raises(OSError) as info:
            new.save(path)
        assert info.value.errno == errno.ENOSPC
        assert path.read_bytes() == before, offset
        assert leftovers(tmp_path, {"model.wcm"}) == [], offset
    monkeypatch.undo()
    new.save(path)
    assert path.read_bytes() == dumps(new)


@pytest.mark.parametrize("failing", ["fsync", "replace", "close"])
def test_failures_after_the_write_keep_the_previous_file(tmp_path, monkeypatch, old_and_new, failing):
    old, new = old_and_new
    path = tmp_path / "model.wcm"
    old.save(path)
    before = path.read_bytes()
    if failing == "fsync":
        monkeypatch.setattr(file_format.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    elif failing == "replace":
        monkeypatch.setattr(file_format.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError(errno.EXDEV, "cross-device")))
    else:
        real_fdopen = os.fdopen

        class ClosingFails:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self.f

            def __exit__(self, *exc):
                self.f.close()
                if exc[0] is None:
                    raise OSError(errno.EDQUOT, "quota exceeded on close")

        monkeypatch.setattr(file_format.os, "fdopen", lambda fd, mode: ClosingFails(real_fdopen(fd, mode)))
    with pytest.raises(OSError):
        new.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"model.wcm"}) == []


def test_an_encoding_error_touches_nothing(tmp_path, old_and_new):
    old, _ = old_and_new
    path = tmp_path / "model.wcm"
    old.save(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="values"):
        old.save(path, values="int4")
    assert path.read_bytes() == before and leftovers(tmp_path, {"model.wcm"}) == []


# ---------------------------------------------------------------------- a real full disk
FULL_DISK_CHILD = MODEL_SOURCE + textwrap.dedent('''
    import errno, json, os, resource, signal, sys
    import numpy as np
    from widecross import export, load

    directory, mode = sys.argv[1], sys.argv[2]
    path = os.path.join(directory, "model.wcm")
    old, new = make_model(1, 2_000), make_model(2, 200_000)
    old.save(path)
    before = open(path, "rb").read()
    report = {}
    if mode == "rlimit":
        # Writes past the limit fail with EFBIG (SIGXFSZ ignored): a short write, then an error.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = len(before) + 100_000
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    else:
        # Fill the file system but for 100 kB, so the new model (about 900 kB) cannot fit.
        stat = os.statvfs(directory)
        free = stat.f_bavail * stat.f_frsize
        with open(os.path.join(directory, "filler"), "wb") as f:
            f.write(b"\\0" * max(0, free - 100_000))
    try:
        new.save(path)
        report["save"] = "saved"
    except OSError as e:
        report["save"] = errno.errorcode.get(e.errno, str(e.errno))
    report["intact"] = open(path, "rb").read() == before
    report["loads"] = load(path).nnz
    report["files"] = sorted(os.listdir(directory))
    # Predictions written through io.TableWriter (the CLI's predict) on the full disk.
    from widecross.io import TableWriter
    out = os.path.join(directory, "pred.parquet")
    try:
        with TableWriter(out) as writer:
            for seed in range(20):
                writer.write({"p": np.random.default_rng(seed).random(50_000)})
        report["table"] = "written"
    except OSError as e:
        report["table"] = type(e).__name__
    report["files_after_table"] = sorted(os.listdir(directory))
    if mode == "tmpfs":
        os.unlink(os.path.join(directory, "filler"))
        new.save(path)
        report["after_space_freed"] = load(path).nnz
    print(json.dumps(report))
''')


def _check_full_disk_report(report: dict[str, Any], mode: str) -> None:
    expected_errno = "EFBIG" if mode == "rlimit" else "ENOSPC"
    assert report["save"] == expected_errno, report
    assert report["intact"] and report["loads"] == 2_000
    assert [f for f in report["files"] if f != "filler"] == ["model.wcm"]
    assert report["table"] != "written", report
    assert [f for f in report["files_after_table"] if f != "filler"] == ["model.wcm"]


@pytest.mark.skipif(not hasattr(__import__("resource"), "RLIMIT_FSIZE") or not hasattr(signal, "SIGXFSZ"),
                    reason="needs RLIMIT_FSIZE and SIGXFSZ")
def test_file_size_limit_mid_save(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(FULL_DISK_CHILD)
    work = tmp_path / "data"
    work.mkdir()
    result = subprocess.run([sys.executable, str(script), str(work), "rlimit"], capture_output=True, text=True,
                            timeout=120, env=child_env(), cwd=REPO)
    assert result.returncode == 0, result.stderr
    _check_full_disk_report(json.loads(result.stdout.strip().splitlines()[-1]), "rlimit")


def test_full_tmpfs_mid_save(tmp_path):
    unshare = shutil.which("unshare")
    if unshare is None or sys.platform != "linux":
        pytest.skip("needs Linux and unshare(1) to mount a private tmpfs")
    script = tmp_path / "child.py"
    script.write_text(FULL_DISK_CHILD)
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    # A private mount namespace: the 1 MB tmpfs exists only for the child and vanishes with it.
    shell = 'mount -t tmpfs -o size=1m widecross_test "$1" || exit 77; exec "$2" "$3" "$1" tmpfs'
    result = subprocess.run([unshare, "--user", "--map-root-user", "--mount", "sh", "-c", shell, "sh",
                             str(mount_point), sys.executable, str(script)],
                            capture_output=True, text=True, timeout=120, env=child_env(), cwd=REPO)
    if result.returncode == 77 or (result.returncode != 0 and "unshare" in result.stderr):
        pytest.skip(f"cannot mount a private tmpfs here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    _check_full_disk_report(report, "tmpfs")
    assert report["after_space_freed"] == 200_000
    assert list(mount_point.iterdir()) == []  # the mount was private: nothing leaked out here


# ---------------------------------------------------------------------- failed commands write nothing
@pytest.fixture(scope="module")
def data_files(tmp_path_factory) -> dict[str, Path]:
    import data_gen
    from widecross.io import write_table

    root = tmp_path_factory.mktemp("nothing_lost")
    good = data_gen.generate_housing(3000, seed=5)
    bad = {k: good[k].copy() for k in ("lat", "lon", "label")}
    bad["lat"][2500] = np.nan  # in the last chunk of a streamed pass
    write_table(root / "good.parquet", {k: good[k] for k in ("lat", "lon", "label")})
    write_table(root / "bad.parquet", bad)
    return {"root": root, "good": root / "good.parquet", "bad": root / "bad.parquet"}


def _cli(*args: Any) -> int:
    from widecross import cli

    try:
        return cli.main([str(a) for a in args])
    except SystemExit as exit_:
        return int(exit_.code)


def test_a_prediction_failing_in_a_late_chunk_leaves_the_previous_output(data_files, capsys):
    import pyarrow.parquet as pq

    out = data_files["root"] / "pred.parquet"
    spec = wc.geo_spec(bits=18)
    model = make_model(7, 2000, width=spec.n_features)
    model = SparseModel(model.indices, model.values, 0.1, spec.n_features, "logistic", spec=spec)
    path = data_files["root"] / "geo.wcm"
    model.save(path)
    assert _cli("predict", path, data_files["good"], "-o", out, "--quiet") == 0
    before = out.read_bytes()
    assert _cli("predict", path, data_files["bad"], "-o", out, "--chunk-rows", "1000", "--quiet") == 1
    assert "column 'lat'" in capsys.readouterr().err
    assert out.read_bytes() == before and pq.read_table(out).num_rows == 3000
    assert not [p.name for p in data_files["root"].iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize(
    "extra, fragment",
    [
        # FTRL: the default SGD step is implicit and cannot blow up
        (["--optimizer", "ftrl", "--learning-rate", "1e300"], "alpha"),
        (["--memory-rows", "10", "--chunk-rows", "1000"], "column 'lat'"),  # streamed: fails in the last chunk
        ([], "row 2500"),
    ],
    ids=["diverges", "bad row while streaming", "bad row in memory"],
)
def test_failed_training_writes_nothing(data_files, capsys, extra, fragment):
    target = data_files["root"] / "trained.wcm"
    previous = make_model(9, 500)
    previous.save(target)
    before = target.read_bytes()
    data = data_files["good"] if fragment == "alpha" else data_files["bad"]
    code = _cli("train", data, "--target", "label", "-o", target, "--epochs", "1", "--bits", "18", "--quiet", *extra)
    err = capsys.readouterr().err
    assert code == 1 and fragment in err and len(err.strip().splitlines()) == 1, err
    assert target.read_bytes() == before
    assert not [p.name for p in data_files["root"].iterdir() if ".tmp" in p.name]


# ---------------------------------------------------------------------- partial_fit keeps its last good state
@pytest.fixture(scope="module")
def stream():
    import data_gen

    rows = data_gen.generate_housing(3000, seed=11)
    X = {"lat": rows["lat"], "lon": rows["lon"]}
    chunks = [{k: v[i : i + 1000] for k, v in X.items()} for i in range(0, 3000, 1000)]
    return chunks, rows["label"].astype(np.int64).reshape(3, 1000), np.log(rows["price"]).reshape(3, 1000)


def _state(est: Any) -> tuple:
    m = est.model_
    return (m.indices.tobytes(), m.values.tobytes(), m.intercept, est.t_, est.n_iter_, list(est.loss_curve_),
            json.dumps(est._rng.bit_generator.state, default=str))


def _twins(factory: Any, first: Any) -> tuple[Any, Any]:
    a, b = factory(), factory()
    first(a)
    first(b)
    return a, b


@pytest.mark.parametrize("optimizer, schedule", [("sgd", "adagrad"), ("sgd", "constant"), ("sgd", "invscaling"), ("ftrl", "adagrad")])
def test_partial_fit_rolls_back_a_divergence(stream, optimizer, schedule):
    from widecross.estimators import WideRegressor

    chunks, _, y = stream
    spec = wc.geo_spec(bits=20)
    a, b = _twins(lambda: WideRegressor(spec, optimizer=optimizer, schedule=schedule, random_state=0),
                  lambda e: e.partial_fit(chunks[0], y[0]))
    before = _state(a)
    with pytest.raises(FloatingPointError, match="diverged"):
        a.partial_fit(chunks[1], np.full(1000, 1e300))
    assert _state(a) == before
    a.partial_fit(chunks[2], y[2])
    b.partial_fit(chunks[2], y[2])
    assert _state(a) == _state(b)  # as if the failed call had never happened


def test_partial_fit_rejecting_input_changes_nothing(stream):
    from widecross.estimators import WideClassifier

    chunks, labels, _ = stream
    spec = wc.geo_spec(bits=20)
    a, b = _twins(lambda: WideClassifier(spec, random_state=0), lambda e: e.partial_fit(chunks[0], labels[0], classes=[0, 1]))
    before = _state(a)
    bad = {k: v.copy() for k, v in chunks[1].items()}
    bad["lon"][999] = np.inf
    failing_calls = [
        lambda: a.partial_fit(bad, labels[1]),
        lambda: a.partial_fit(chunks[1], labels[1][:-1]),
        lambda: a.partial_fit(chunks[1], np.where(labels[1] == 1, 7, 0)),
        lambda: a.partial_fit(chunks[1], labels[1], classes=[0, 2]),
        lambda: a.partial_fit(chunks[1], labels[1], sample_weight=-np.ones(1000)),
        lambda: a.partial_fit({"lat": chunks[1]["lat"]}, labels[1]),
    ]
    for call in failing_calls:
        with pytest.raises((ValueError, KeyError, TypeError)):
            call()
        assert _state(a) == before
    a.partial_fit(chunks[1], labels[1])
    b.partial_fit(chunks[1], labels[1])
    assert _state(a) == _state(b)


def test_a_failed_fit_keeps_the_previous_fit(stream):
    from widecross.estimators import WideClassifier

    chunks, labels, _ = stream
    spec = wc.geo_spec(bits=20)
    clf = WideClassifier(spec, random_state=0, epochs=2).fit(chunks[0], labels[0])
    before = _state(clf)
    bad = {k: v.copy() for k, v in chunks[1].items()}
    bad["lat"][3] = -91.0
    with pytest.raises(ValueError, match="row 3"):
        clf.fit(bad, labels[1])
    assert _state(clf) == before
    clf.set_params(learning_rate=1e300, implicit=False)  # the plain step diverges; the implicit one cannot
    with pytest.raises(FloatingPointError, match="learning_rate"):
        clf.fit(chunks[1], labels[1])
    assert _state(clf) == before


def test_a_fit_whose_weights_overflow_float32_keeps_the_previous_fit(stream):
    from widecross.estimators import WideClassifier

    chunks, labels, _ = stream
    clf = WideClassifier(wc.geo_spec(bits=20), random_state=0).fit(chunks[0], labels[0])
    before = _state(clf)
    clf.set_params(learning_rate=1e50, implicit=False)
    with pytest.raises(FloatingPointError, match="learning_rate"):
        clf.fit(chunks[1], labels[1])
    assert _state(clf) == before


def test_partial_fit_interrupted_inside_the_epoch_keeps_its_last_good_state(stream, monkeypatch):
    from widecross.train import trainer as _trainer
    from widecross.estimators import WideClassifier

    chunks, labels, _ = stream
    spec = wc.geo_spec(bits=20)
    a, b = _twins(lambda: WideClassifier(spec, random_state=0), lambda e: e.partial_fit(chunks[0], labels[0], classes=[0, 1]))
    real_epoch = _trainer.Trainer.epoch

    def interrupted(self, *args):
        real_epoch(self, *args)  # the kernel has updated the state...
        raise MemoryError("simulated: no memory for the next step")  # ...then the call fails

    monkeypatch.setattr(_trainer.Trainer, "epoch", interrupted)
    with pytest.raises(MemoryError):
        a.partial_fit(chunks[1], labels[1])
    monkeypatch.undo()
    a.partial_fit(chunks[2], labels[2])
    b.partial_fit(chunks[2], labels[2])
    assert _state(a) == _state(b)
