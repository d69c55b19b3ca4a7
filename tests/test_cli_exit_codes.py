"""Exit codes scripts can trust: 2 for every invalid option value (named with the value), 1 for
data and model errors (naming the file), one line each, and never a Python traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

import widecross as wc
import widecross.cli  # noqa: F401  (wc.cli)
from benchmarks.bad_inputs import CASES, make_fixtures

CLI_CASES = [c for c in CASES if c.group == "cli"]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> Path:
    return make_fixtures(tmp_path_factory.mktemp("cli"), large=False)


def run(capsys, monkeypatch, fixtures: Path, *argv: str) -> tuple[int, str]:
    monkeypatch.chdir(fixtures)
    try:
        code = wc.cli.main(list(argv))
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_reported_cli_case(capsys, monkeypatch, fixtures, case):
    code, text = run(capsys, monkeypatch, fixtures, *case.argv)
    assert f"exit {code}" == case.expect, text
    for fragment in case.fragments:
        assert fragment in text


TRAIN = ("train", "h.parquet", "--target", "label", "-o", "t.wcm", "-q")
INVALID_VALUES = [
    (TRAIN + ("--l1=-1e-6",), "--l1", "got -1e-6"),
    (TRAIN + ("--l2", "inf"), "--l2", "'inf'"),
    (TRAIN + ("--l2", "nan"), "--l2", "'nan'"),
    (TRAIN + ("--learning-rate", "0"), "--learning-rate", "> 0"),
    (TRAIN + ("--learning-rate", "-2"), "--learning-rate", "-2"),
    (TRAIN + ("--bits", "0"), "--bits", "bits must be in [1, 40], got 0"),
    (TRAIN + ("--bits", "64"), "--bits", "got 64"),
    (TRAIN + ("--resolutions", "7"), "--resolutions", "resolution 7'"),
    (TRAIN + ("--resolutions", "60,-1"), "--resolutions", "-1"),
    (TRAIN + ("--hash-seed", "-1"), "--hash-seed", "-1"),
    (TRAIN + ("--seed", "-1"), "--seed", ">= 0, got -1"),
    (TRAIN + ("--epochs", "-1"), "--epochs", ">= 1, got -1"),
    (TRAIN + ("--polish", "-1"), "--polish", ">= 0, got -1"),
    (TRAIN + ("--memory-rows", "-1"), "--memory-rows", ">= 0, got -1"),
    (TRAIN + ("--chunk-rows", "0"), "--chunk-rows", ">= 1, got 0"),
    (TRAIN + ("--validation-fraction", "1"), "--validation-fraction", "< 1, got 1"),
    (TRAIN + ("--validation-fraction", "-0.1"), "--validation-fraction", ">= 0"),
    (("gen", "--rows", "10", "-o", "g.parquet", "--bad-fraction", "2"), "--bad-fraction", "<= 1, got 2"),
    (("gen", "--rows", "10", "-o", "g.txt"), "--out", "'g.txt'"),
    (("gen", "--rows", "10", "-o", "g.parquet", "--world-seed", "-4"), "--world-seed", "-4"),
    (("predict", "good.wcm", "h.parquet", "-o", "p.txt"), "--output", "'p.txt'"),
    (("map", "good.wcm", "-o", "map.txt"), "--output", ".png"),
    (("map", "good.wcm", "-o", "map.png", "--pixel-minutes", "7"), "--pixel-minutes", "divide 10800"),
    (("path", "h.parquet", "--target", "label", "--png", "path.pdf"), "--png", "'path.pdf'"),
    (("demo", "--rows", "1", "--out", "demo"), "--rows", ">= 2"),
    (("inspect", "good.wcm", "--top", "-1"), "--top", ">= 0"),
]


@pytest.mark.parametrize("argv, option, fragment", INVALID_VALUES, ids=[" ".join(a[-2:]) for a, *_ in INVALID_VALUES])
def test_invalid_option_values_are_usage_errors(capsys, monkeypatch, fixtures, argv, option, fragment):
    before = sorted(p.name for p in fixtures.iterdir())
    code, text = run(capsys, monkeypatch, fixtures, *argv)
    assert code == 2, text
    last = text.strip().splitlines()[-1]
    assert last.startswith(f"widecross {argv[0]}: error: argument ") and option in last and fragment in last, last
    assert sorted(p.name for p in fixtures.iterdir()) == before  # nothing written


def test_data_errors_name_their_file(capsys, monkeypatch, fixtures):
    (fixtures / "ragged.csv").write_text("lat,lon,label\n1,2\n")
    for name, words in (("empty.csv", "Empty CSV file"), ("bad.parquet", "magic bytes"), ("ragged.csv", "Expected 3 columns")):
        for argv in (("train", name, "--target", "label", "-o", "t.wcm", "-q"), ("evaluate", "good.wcm", name, "--target", "label")):
            code, text = run(capsys, monkeypatch, fixtures, *argv)
            assert code == 1 and text.count("\n") == 1, text
            assert f"error: {name}: " in text and words in text, text


def test_an_unexpected_exception_is_one_line_exit_1(capsys, monkeypatch, fixtures):
    import widecross.tasks.summary

    def broken(path):
        raise RuntimeError("something we did not foresee")

    monkeypatch.setattr(widecross.tasks.summary, "open_model", broken)
    code, text = run(capsys, monkeypatch, fixtures, "inspect", "good.wcm")
    assert code == 1 and text == "widecross inspect: internal error (RuntimeError): something we did not foresee\n"
