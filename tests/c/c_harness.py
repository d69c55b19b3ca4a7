"""Building the C reader (c/) and running its programs, for tests/c/: paths, the compile
recipe, wcpredict's output parsed into arrays, and the test vectors' generator as a module."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
C_SOURCES = sorted((ROOT / "c").glob("*.c"))
LIBRARY_SOURCES = [p for p in C_SOURCES if p.name != "wcpredict.c"]
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SANITIZE = ["-fsanitize=address,undefined,float-cast-overflow,float-divide-by-zero", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer"]
CC = os.environ.get("CC", "cc")


def _load_module(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


VECTORS = _load_module("make_c_vectors", DATA / "make_c_vectors.py")
INDEX = json.loads((DATA / "c_vectors.json").read_text())


def build(out: Path) -> dict[str, Any]:
    """wcpredict built strictly (C99, warnings as errors, -O2); the fuzz driver and a second
    wcpredict built with AddressSanitizer + UBSan where the compiler links them (else plainly,
    and ``sanitized`` says so). The two builds run side by side. Skips without a compiler."""
    if shutil.which(CC) is None:
        pytest.skip(f"no C compiler: {CC!r} is not on PATH (set CC to build and test the C reader)")
    probe = subprocess.run([CC, *SANITIZE, "-o", str(out / "probe"), "-x", "c", "-"], input="int main(void){return 0;}\n",
                           capture_output=True, text=True, timeout=120)
    sanitized = probe.returncode == 0 and subprocess.run([str(out / "probe")]).returncode == 0
    checked = [*STRICT, "-g", "-O0", *(SANITIZE if sanitized else [])]
    strict = subprocess.Popen([CC, *STRICT, "-O2", "-o", str(out / "wcpredict"), *map(str, C_SOURCES), "-lm"],
                              stderr=subprocess.PIPE, text=True)
    objects = subprocess.run([CC, *checked, "-c", *map(str, LIBRARY_SOURCES)], cwd=out, capture_output=True, text=True,
                             timeout=300)
    assert objects.returncode == 0 and not objects.stderr, objects.stderr
    library = [str(out / f"{p.stem}.o") for p in LIBRARY_SOURCES]
    for name, main in (("fuzz_driver", ROOT / "tests" / "c" / "fuzz_driver.c"), ("wcpredict_checked", ROOT / "c" / "wcpredict.c")):
        done = subprocess.run([CC, *checked, f"-I{ROOT / 'c'}", "-o", str(out / name), str(main), *library, "-lm"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and not done.stderr, done.stderr
    _, errors = strict.communicate(timeout=300)
    assert strict.returncode == 0 and not errors, f"the C reader does not compile cleanly:\n{errors}"
    return {"wcpredict": out / "wcpredict", "fuzz_driver": out / "fuzz_driver",
            "wcpredict_checked": out / "wcpredict_checked", "sanitized": sanitized}


def _env() -> dict[str, str]:
    return {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"}


def run_c(binary: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *map(str, args)], input=stdin, capture_output=True, timeout=300, env=_env())


def predictions(c_build, model: Path, rows: Path | bytes, *options: str) -> np.ndarray:
    """(margin, prediction) per row from wcpredict --margin."""
    if isinstance(rows, bytes):
        done = run_c(c_build["wcpredict"], "--margin", *options, model, stdin=rows)
    else:
        done = run_c(c_build["wcpredict"], "--margin", *options, model, rows)
    assert done.returncode == 0, done.stderr.decode()
    header, _, body = done.stdout.decode().partition("\n")
    assert header in ("margin,probability", "margin,prediction")
    return np.array(body.replace(",", " ").split(), dtype=np.float64).reshape(-1, 2)


def active_columns(c_build, model: Path, rows: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The C featurizer's CSR (indptr, indices, data) from wcpredict --features."""
    done = run_c(c_build["wcpredict"], "--features", model, rows)
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    counts = np.array([line.count(":") for line in lines])
    pairs = np.array(" ".join(lines).replace(":", " ").split(), dtype=np.float64).reshape(-1, 2)
    return np.concatenate([[0], np.cumsum(counts)]), pairs[:, 0].astype(np.int64), pairs[:, 1]


