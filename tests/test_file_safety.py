"""Model files under attack: what ``save`` may replace, every legal name, what killed writers
leave behind, hostile values behind valid checksums, and the memory bound of ``load``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import widecross as wc
from benchmarks.fuzz_load import seal
from widecross.model import _rice, _values
from widecross.export import MAX_META_BYTES, ModelFormatError, dumps, loads


@pytest.fixture
def model() -> wc.SparseModel:
    return wc.SparseModel([3, 70], [0.5, -1.5], 0.25, 2**24, "logistic")


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ---------------------------------------------------------------------- what save may replace
def test_save_refuses_a_device_a_fifo_and_a_directory(model, tmp_path):
    nodes = {"fifo": "a FIFO", "dir": "a directory"}
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    if os.geteuid() == 0:  # a copy of /dev/full's node: replacing it by a file was the bug
        os.mknod(tmp_path / "full", 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        nodes["full"] = "a character device"
    before = {name: os.lstat(tmp_path / name).st_mode for name in nodes}
    for name, words in nodes.items():
        with pytest.raises(OSError, match=words):
            model.save(tmp_path / name)
        with pytest.raises(OSError, match=words):
            model.save(str(tmp_path / name) + ("/" if name == "dir" else ""))
    assert {name: os.lstat(tmp_path / name).st_mode for name in nodes} == before
    assert _names(tmp_path) == sorted(nodes)  # no temporary file left either
    os.symlink(tmp_path / "fifo", tmp_path / "link")
    with pytest.raises(OSError, match="a FIFO"):
        model.save(tmp_path / "link")  # a link to a FIFO is judged by what it points to
    assert stat.S_ISLNK(os.lstat(tmp_path / "link").st_mode)


def test_save_to_an_empty_path_says_so(model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for path in ("", b""):
        with pytest.raises(ValueError, match="file name is empty"):
            model.save(path)
    assert _names(tmp_path) == []


def test_save_into_a_missing_directory_names_the_target(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot create a temporary file in .*absent") as info:
        model.save(tmp_path / "absent" / "m.wcm")
    assert info.value.filename == str(tmp_path / "absent" / "m.wcm")


@pytest.mark.parametrize("name", ["m" * 232 + ".wcm", "x" * 255, "é" * 127 + "z", "日本" * 42 + "abc"],
                         ids=["236 chars (the reported case)", "255 bytes", "254 bytes of é", "255 bytes, 3-byte chars"])
def test_every_legal_file_name_works(model, tmp_path, name):
    assert len(os.fsencode(name)) <= 255
    path = model.save(tmp_path / name)
    assert _names(tmp_path) == [name]
    again = wc.load(path)
    assert again.indices.tolist() == [3, 70] and again.intercept == 0.25
    model.save(path, values="q8")  # replacing it works too
    assert _names(tmp_path) == [name]


# ---------------------------------------------------------------------- killed writers
def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_the_next_save_removes_what_killed_writers_left(model, tmp_path):
    target = model.save(tmp_path / "m.wcm")
    dead = [f".m.wcm.{_dead_pid()}.{tag}.tmp" for tag in ("0123abcd", "deadbeef")]
    alive = [f".m.wcm.{os.getppid()}.00000000.tmp", f".m.wcm.{os.getpid()}.11111111.tmp"]
    other = [".other.wcm.1.00000000.tmp", ".m.wcm.1.notmine.tmp", "m.wcm.bak"]
    for name in dead + alive + other:
        (tmp_path / name).write_bytes(b"partial")
    model.save(target)
    assert _names(tmp_path) == sorted(["m.wcm", *alive, *other])


def test_a_writer_killed_mid_save_leaves_the_old_file_and_a_pid_named_temporary(model, tmp_path):
    target = model.save(tmp_path / "m.wcm")
    child = (
        "import sys, time, widecross as wc, widecross.model.file_format as file_format\n"
        "def stall(f, pieces):\n    f.write(pieces[0]); f.flush(); print('writing', flush=True); time.sleep(120)\n"
        "file_format._write_all = stall\n"
        "wc.SparseModel([5], [2.0], 0.0, 10, 'logistic').save(sys.argv[1])\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", child, str(target)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "writing\n"
    writer.kill()
    writer.wait()
    writer.stdout.close()
    left = [n for n in _names(tmp_path) if n != "m.wcm"]
    assert left and all(n.startswith(f".m.wcm.{writer.pid}.") for n in left)
    assert wc.load(target).indices.tolist() == [3, 70]  # old or new: here the old one
    model.save(target, values="float16")
    assert _names(tmp_path) == ["m.wcm"]


# ---------------------------------------------------------------------- hostile values
def _meta(**change) -> dict:
    meta = {"library_version": "0.1.0", "n_features": 100, "nnz": 4, "intercept": 0.0, "loss": "logistic",
            "classes": None, "spec": None, "metadata": {}, "index_codec": "rice64", "value_encoding": "float32"}
    meta.update(change)
    return meta


def _file(meta: dict | bytes, nnz: int = 4, encoding: str = "float32", width: int = 100) -> bytes:
    index = _rice.encode(np.arange(nnz, dtype=np.int64))
    values, facts = _values.encode(np.full(nnz, 0.5, dtype=np.float32), encoding)
    if isinstance(meta, dict):
        meta = json.dumps({**meta, "nnz": nnz, "n_features": width, "value_encoding": encoding, **facts}).encode()
    return seal([meta, index, values])


HUGE = int("9" * 400)


@pytest.mark.parametrize("change, words", [
    (dict(intercept=HUGE), "400-digit integer"),
    (dict(intercept=-HUGE), "400-digit integer"),
    (dict(intercept=1e400), "intercept must be finite"),
    (dict(value_encoding="float16", value_scale_exp=HUGE), "value_scale_exp"),
    (dict(value_encoding="q8", codebook_size=HUGE), "codebook_size"),
    (dict(n_features=HUGE), "out of range"),
    (dict(nnz=-HUGE), "out of range"),
], ids=["intercept 10**400", "intercept -10**400", "intercept 1e400", "float16 scale 10**400", "q8 codebook 10**400",
        "width 10**400", "nnz -10**400"])
def test_hostile_numbers_behind_valid_checksums_are_format_errors(change, words):
    meta = _meta()
    meta.update(change)
    text = json.dumps(meta).replace("Infinity", "1e400").encode()  # JSON has no inf; 1e400 parses as one
    with pytest.raises(ModelFormatError, match=words):
        loads(seal([text, _rice.encode(np.arange(4)), _values.encode(np.ones(4, np.float32), "float32")[0]]))


def test_a_huge_integer_class_label_loads_and_predicts_it():
    m = loads(_file(_meta(classes=[0, HUGE])))
    assert m.classes == [0, HUGE] and m.predict(np.ones((1, 100))).tolist() == [HUGE]


def test_metadata_over_the_cap_is_refused_by_save_and_by_load(tmp_path):
    spec = wc.FeatureSpec([wc.Categorical("c", vocabulary=[f"word{i}" for i in range(250_000)])])
    big = wc.SparseModel([1], [1.0], 0.0, spec.n_features, "logistic", spec=spec)
    with pytest.raises(ValueError, match="more than the 2,097,152 a model file holds"):
        big.save(tmp_path / "big.wcm")
    assert _names(tmp_path) == []
    (tmp_path / "meta.wcm").write_bytes(_file(_meta(metadata={"x": "y" * MAX_META_BYTES})))
    tracemalloc.start()
    try:
        with pytest.raises(ModelFormatError, match="more than the 2,097,152 allowed"):
            wc.load(tmp_path / "meta.wcm")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # refused from the header, before the section is read


# ---------------------------------------------------------------------- the memory bound of load
def _peak(blob: bytes) -> int:
    loads(blob)  # compiled and warm
    tracemalloc.start()
    try:
        loads(blob)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _bound(blob: bytes) -> int:
    """The bound the format docstring states: 160 bytes per byte of file, plus 2 MiB."""
    return 160 * len(blob) + (2 << 20)


@pytest.mark.parametrize("width", [2**30, 2**40], ids=["int32 ids", "int64 ids"])
@pytest.mark.parametrize("encoding", ["float32", "float16", "q8"])
def test_the_densest_index_loads_within_the_stated_bound(width, encoding):
    # Consecutive ids cost one bit each in the file and 13 bytes each in memory: the worst case.
    blob = _file(_meta(), nnz=1_000_000, encoding=encoding, width=width)
    peak = _peak(blob)
    assert peak <= _bound(blob), (peak, len(blob), peak / len(blob))
    assert peak >= 10 * len(blob)  # the case is as dense as claimed (the check can fail)


def _metadata_file(body: str) -> bytes:
    room = MAX_META_BYTES - len(json.dumps(_meta())) - 64
    payload = ("[" + ",".join([body] * (room // (len(body) + 1))) + "]").encode()
    meta = json.dumps(_meta(nnz=4, metadata={"x": 0})).encode().replace(b'{"x": 0}', b'{"x": ' + payload + b"}")
    assert len(meta) <= MAX_META_BYTES
    return _file(meta)


@pytest.mark.parametrize("body", ["[[]]", "{}", '"ab"', "1.5"], ids=["nested lists", "dicts", "strings", "floats"])
def test_metadata_at_the_cap_loads_within_the_stated_bound(body):
    blob = _metadata_file(body)
    peak = _peak(blob)
    assert peak <= _bound(blob) and peak <= 100 << 20, (peak, len(blob))


def test_a_spec_with_a_large_vocabulary_loads_within_the_stated_bound():
    spec = wc.FeatureSpec([wc.Categorical("c", vocabulary=[f"w{i}" for i in range(150_000)])])
    blob = dumps(wc.SparseModel([1, 5], [0.5, 1.0], 0.0, spec.n_features, "logistic", spec=spec))
    assert len(blob) > MAX_META_BYTES // 2
    assert _peak(blob) <= _bound(blob)


def test_docstring_examples_of_the_atomic_writer_run():
    import doctest

    from widecross import _atomic_file

    result = doctest.testmod(_atomic_file, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
