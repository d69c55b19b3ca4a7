"""Progress on stderr: drawn on a terminal (a pty here), never into a pipe or a file, never with
``--quiet``; results stay on stdout either way."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import data_gen
from widecross._progress import Progress
from widecross.cli import main

REPO = Path(__file__).resolve().parents[1]


class TerminalReader:
    """The master side of a pty: collects everything written to the slave until it closes."""

    def __init__(self, master: int) -> None:
        self.master, self.chunks = master, []
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: every slave descriptor is closed
                return
            if not chunk:
                return
            self.chunks.append(chunk)

    def text(self) -> str:
        self.thread.join(timeout=30)
        os.close(self.master)
        return b"".join(self.chunks).decode()


@contextlib.contextmanager
def terminal_stderr():
    """sys.stderr on a fresh pty for the block; yields a list that receives what it showed."""
    master, slave = pty.openpty()
    reader = TerminalReader(master)
    shown: list[str] = []
    stream = open(slave, "w", encoding="utf-8")
    assert stream.isatty()
    try:
        with contextlib.redirect_stderr(stream):
            yield shown
    finally:
        stream.close()
        shown.append(reader.text())


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("progress")
    rows = data_gen.generate_housing(3000, seed=4)
    data = root / "houses.parquet"
    pq.write_table(pa.table({k: rows[k] for k in ("lat", "lon", "label")}), data)
    model = root / "model.wcm"
    assert main(["train", str(data), "--target", "label", "--bits", "16", "--epochs", "1", "-o", str(model), "--quiet"]) == 0
    return {"data": data, "model": model, "root": root}


def commands(files: dict[str, Path]) -> dict[str, tuple[list[str], str]]:
    """Command lines that draw a bar, each with the label of its bar."""
    data, model, root = str(files["data"]), str(files["model"]), files["root"]
    train = ["train", data, "--target", "label", "--bits", "16", "--epochs", "2", "--polish", "1", "-o", str(root / "t.wcm")]
    return {
        "train": (train, "train"),
        "train streamed": ([*train, "--memory-rows", "10", "--chunk-rows", "1000"], "train (streaming)"),
        "evaluate": (["evaluate", model, data, "--target", "label"], "evaluate"),
        "predict": (["predict", model, data, "-o", str(root / "p.parquet")], "predict"),
        "path": (["path", data, "--target", "label", "--bits", "16", "--l1", "1e-3,1e-5", "--epochs", "1"], "path"),
    }


@pytest.mark.parametrize("name", ["train", "train streamed", "evaluate", "predict", "path"])
def test_progress_on_a_terminal_only_and_never_with_quiet(files, name):
    args, label = commands(files)[name]
    stdout = io.StringIO()
    with terminal_stderr() as shown, contextlib.redirect_stdout(stdout):
        assert main(args) == 0
    bar = shown[0]
    assert bar.startswith(f"\r{label}  ["), bar[:200]
    assert "100.0%" in bar and "/s" in bar and bar.endswith("\r\n")  # the last redraw is complete
    assert stdout.getvalue() and stdout.getvalue() not in bar  # results went to stdout, not the bar
    with terminal_stderr() as shown, contextlib.redirect_stdout(io.StringIO()):
        assert main([*args, "--quiet"]) == 0
    assert shown[0] == ""
    piped = io.StringIO()  # not a terminal: a log file or a pipe
    with contextlib.redirect_stderr(piped), contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 0
    assert piped.getvalue() == ""


def run_command(args: list[str], stderr: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "widecross", *args], stdout=subprocess.PIPE, stderr=stderr,
                          stdin=subprocess.DEVNULL, text=True, cwd=REPO, timeout=300)


def test_the_command_draws_on_a_pty_and_keeps_a_pipe_clean(files):
    """The real process: its stderr a pty, then a pipe; stdout stays the JSON result."""
    args = ["train", str(files["data"]), "--target", "label", "--bits", "16", "--epochs", "2", "--json",
            "-o", str(files["root"] / "sub.wcm")]
    master, slave = pty.openpty()
    reader = TerminalReader(master)
    try:
        on_terminal = run_command(args, stderr=slave)
    finally:
        os.close(slave)
    bar = reader.text()
    assert on_terminal.returncode == 0, bar
    assert bar.startswith("\rtrain  [") and "loss 0." in bar and "rows/s" in bar
    assert json.loads(on_terminal.stdout)["nnz"] > 0
    piped = run_command(args, stderr=subprocess.PIPE)
    assert piped.returncode == 0 and piped.stderr == ""
    assert json.loads(piped.stdout)["nnz"] == json.loads(on_terminal.stdout)["nnz"]


def test_errors_still_reach_a_quiet_stderr(files):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["evaluate", str(files["model"]), str(files["data"]), "--target", "nope", "--quiet"])
    assert code == 1 and "nope" in err.getvalue() and len(err.getvalue().splitlines()) == 1


# -- the line itself --------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_shows_share_counts_rate_eta_and_postfix():
    stream = FakeTerminal()
    bar = Progress(total=1000, label="fit", stream=stream, interval=0.0)
    assert bar.enabled
    bar.start -= 10.0  # ten seconds in
    bar.update(250, loss=0.51234)
    line = stream.getvalue()
    assert line.startswith("\rfit  [#####...............]  25.0%  250/1,000 rows")
    assert "25 rows/s" in line and "ETA 00:30" in line and "loss 0.5123" in line
    bar.update(750, stage="polish")
    bar.close()
    last = stream.getvalue().split("\r")[-1]
    assert "100.0%" in last and "ETA" not in last and "stage polish" in last and last.endswith("\n")
    bar.update(5)  # closed: nothing more is drawn
    assert stream.getvalue().split("\r")[-1] == last


def test_a_shorter_redraw_blanks_the_rest_of_the_longer_line():
    stream = FakeTerminal()
    bar = Progress(label="x", stream=stream, interval=0.0)
    bar.update(1, note="a long note that makes the line long")
    bar._postfix.clear()
    bar.update(1)
    first, second = stream.getvalue().split("\r")[1:]
    assert len(second) == len(first) and second.rstrip() == second[: len(second.rstrip())]


def test_redraws_are_rate_limited():
    stream = FakeTerminal()
    bar = Progress(total=10**6, stream=stream, interval=3600.0)
    for _ in range(1000):
        bar.update(1)
    assert stream.getvalue().count("\r") == 1  # the first update draws, the next hour none


def test_off_when_not_a_terminal_or_disabled():
    for stream, enabled in ((io.StringIO(), None), (FakeTerminal(), False)):
        with Progress(total=10, stream=stream, enabled=enabled, interval=0.0) as bar:
            bar.update(10, loss=0.1)
        assert stream.getvalue() == ""
    assert Progress(stream=FakeTerminal()).enabled and not Progress(stream=io.StringIO()).enabled


def test_clock_format():
    stream = FakeTerminal()
    bar = Progress(total=2, stream=stream, interval=0.0)
    bar.start -= 3725.0  # 1 h 2 min 5 s for the first row: the second takes as long
    bar.update(1)
    assert "elapsed 1:02:05" in stream.getvalue() and "ETA 1:02:05" in stream.getvalue()
    np.testing.assert_equal(bar.rate > 0, True)
