"""Import and load from a system-wide or container install: the package directory and HOME are
read-only and the user is not root (a root test run drops to uid 65534 in the subprocess).
Numba cannot cache there; the kernels must cache in a private directory, or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc
from benchmarks.bad_inputs import readonly_install, run_in_install

REPO = Path(__file__).resolve().parents[1]

LOAD_AND_PREDICT = """
import sys, widecross as wc, scipy.sparse as sp
assert wc.__file__.startswith({package!r}), wc.__file__
m = wc.load({model!r})
X = sp.csr_matrix(([1.0, 2.0, 1.0], [3, 70, 5], [0, 2, 3]), shape=(2, 2**24))
print(repr(m.decision_function(X).tolist()), m.get_weights([70, 4]).tolist())
"""


@pytest.fixture
def install():
    # In the system's temporary directory: pytest's own is closed to other users.
    with tempfile.TemporaryDirectory(prefix="widecross-readonly-") as directory:
        try:
            made = readonly_install(REPO, Path(directory))
        except RuntimeError as error:  # root, and no interpreter that uid 65534 may run
            pytest.skip(f"cannot run Python as a user who is not root here: {error}")
        yield made


def _expected() -> str:
    m = wc.SparseModel([3, 70], [0.5, -1.5], 0.25, 2**24, "logistic")
    X = sp.csr_matrix(([1.0, 2.0, 1.0], [3, 70, 5], [0, 2, 3]), shape=(2, 2**24))
    return f"{m.decision_function(X).tolist()!r} {m.get_weights(np.array([70, 4])).tolist()}"


def _cache_dir(install) -> Path:
    return install["tmp"] / f"widecross-numba-cache-{install['run_as'].get('user', os.getuid())}"


def test_the_environment_reproduces_numbas_failure(install):
    probe = ("import numba, widecross._atomic_file as m\n"
             "try:\n    numba.njit(cache=True)(m._process_exists)\nexcept RuntimeError as e:\n    print(e)\n")
    result = run_in_install(install, probe)
    assert result.returncode == 0, result.stderr
    assert "no locator available" in result.stdout  # what `wc.load` raised before the fallback


def test_load_caches_in_a_private_directory(install):
    code = LOAD_AND_PREDICT.format(package=str(install["package"]), model=str(install["model"]))
    for _ in range(2):  # the second process reads the cache the first wrote
        result = run_in_install(install, code)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == _expected()
        assert result.stderr == ""  # silently
    cache = _cache_dir(install)
    status = os.lstat(cache)
    assert status.st_mode & 0o777 == 0o700 and status.st_uid == install["run_as"].get("user", os.getuid())
    assert any(p.suffix == ".nbi" for p in cache.rglob("*"))
    assert not any(p.name == "__pycache__" for p in install["package"].rglob("*"))


def test_load_compiles_without_a_cache_when_the_private_directory_is_not_safe(install):
    cache = _cache_dir(install)
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)  # writable by anyone: planted cache files would be unpickled, so unused
    code = LOAD_AND_PREDICT.format(package=str(install["package"]), model=str(install["model"]))
    result = run_in_install(install, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == _expected() and result.stderr == ""
    assert list(cache.iterdir()) == []
