"""The shape of the package, read from its source with ``ast``: who may import whom, and sizes.

Layers, lowest first; a module may import its own layer and the ones listed for it:

| layer      | modules                                                        | may import                     |
|------------|----------------------------------------------------------------|--------------------------------|
| core       | _jit, _prefetch, _version, losses, metrics, _text, _png,       | core                           |
|            | _progress, _csr_check, _csr_scan, _atomic_file, _parallel,     |                                |
|            | _scans                                                         |                                |
| features   | features/*, _hashing, _components, _strings, _validation       | core                           |
| model      | model/*, export                                                | core, features                 |
| io         | io/*                                                           | core                           |
| train      | train/*                                                        | core, io                       |
| cluster    | cluster/* (Dask: never imported at module level from outside)  | core, features, model, io,     |
|            |                                                                | train                          |
| estimators | estimators/*                                                   | core, features, model, io,     |
|            |                                                                | train (not its kernels),       |
|            |                                                                | cluster (inside functions)     |
| app        | tasks/*, cli/*, maps, _raster, _map_figure, plots, __init__,   | everything above               |
|            | __main__                                                       |                                |

Kernel modules (those defining compiled functions) import nothing of widecross but other kernel
modules: they never reach the API layers. ``data_gen`` is never imported at module level (only
inside the tasks that generate data), and ``data_gen`` never imports widecross.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "widecross"

LAYERS = {
    "core": {"_jit", "_prefetch", "_version", "losses", "metrics", "_text", "_png", "_progress", "_csr_check", "_csr_scan",
             "_atomic_file", "_parallel", "_scans"},
    "features": {"features", "_hashing", "_components", "_strings", "_validation"},
    "model": {"model", "export"},
    "io": {"io"},
    "train": {"train"},
    "cluster": {"cluster"},
    "estimators": {"estimators"},
    "app": {"tasks", "cli", "maps", "_raster", "_map_figure", "plots", "__init__", "__main__"},
}
ALLOWED = {
    "core": {"core"},
    "features": {"core", "features"},
    "model": {"core", "features", "model"},
    "io": {"core", "io"},
    "train": {"core", "io", "train"},
    "cluster": {"core", "features", "model", "io", "train", "cluster"},
    "estimators": {"core", "features", "model", "io", "train", "cluster", "estimators"},
    "app": set(LAYERS),
}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
KERNEL_DECORATORS = {"jit", "njit", "intrinsic"}
# compiled kernels allowed past MAX_FUNCTION_LINES: one hot loop, not split across calls
KERNELS_OVER_THE_LIMIT = [
    # one coordinate-descent sweep: per column, its coupling through the rows, the prox step and
    # the update of the rows' moves, in one loop that reads each column's rows once
    "widecross/train/_cd.py::cd_sweep",
    "widecross/train/_sgd.py::sgd_epoch",
    "widecross/train/_sgd_multi.py::sgd_multi_epoch",
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for name, path in MODULES.items()}


def layer_of(module: str) -> str:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    for layer, names in LAYERS.items():
        if key in names:
            return layer
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, (ast.Name, ast.Attribute)) and ast.unparse(node.test).endswith("TYPE_CHECKING")


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) of ``module``; ``if TYPE_CHECKING`` blocks skipped
    (they never run). ``from . import x`` counts as importing ``package.x`` when that is a module."""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                continue
            nested = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    target = f"{base}.{alias.name}"
                    found.append((target if target in MODULES else base, child.lineno, top))
            visit(child, nested)

    visit(TREES[module], True)
    return found


def internal_edges() -> dict[str, set[str]]:
    return {m: {target for target, _, _ in imports(m) if target in MODULES and target != m} for m in MODULES}


def is_kernel_module(module: str) -> bool:
    for node in ast.walk(TREES[module]):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = call.attr if isinstance(call, ast.Attribute) else getattr(call, "id", "")
                if name in KERNEL_DECORATORS:
                    return True
    return False


def test_every_module_is_seen_and_placed():
    assert {"widecross.train.trainer", "widecross.model.sparse", "widecross.cli", "widecross.losses"} <= MODULES.keys()
    for module in MODULES:
        layer_of(module)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk meets (each as the path that closes it)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                walk(target, path + [target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            walk(node, [node])
    return found


def test_the_import_graph_has_no_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]  # the check works
    assert cycles(internal_edges()) == []


def test_layers_import_only_what_they_may():
    problems = []
    for module, targets in internal_edges().items():
        layer = layer_of(module)
        for target in targets:
            if target.startswith(module + "."):  # a package's __init__ re-exporting its own modules
                continue
            if layer_of(target) not in ALLOWED[layer]:
                problems.append(f"{module} ({layer}) imports {target} ({layer_of(target)})")
    assert problems == []


def test_kernel_modules_never_reach_the_api_layers():
    """A kernel module imports other kernel modules, or leaves (modules importing nothing of
    widecross) that are core or private: the numba options, the state layout, the loss codes."""
    edges = internal_edges()
    kernels = {m for m in MODULES if is_kernel_module(m)}
    assert {"widecross.train._sgd", "widecross.train._ftrl", "widecross.train._polish", "widecross.train._loss",
            "widecross.train.rows", "widecross.model._lookup", "widecross._hashing"} <= kernels

    def allowed(target: str) -> bool:
        leaf = not edges[target]
        return target in kernels or leaf and (layer_of(target) == "core" or target.rpartition(".")[2].startswith("_"))

    problems = [f"{m} imports {t}" for m in kernels for t in edges[m] if not allowed(t)]
    assert problems == []


def test_model_and_format_never_import_the_training_code():
    training = ("widecross.estimators", "widecross.train", "widecross.tasks", "widecross.cli")
    problems = []
    for module in MODULES:
        if layer_of(module) != "model":
            continue
        for target, line, _ in imports(module):
            if target.startswith(training):
                problems.append(f"{module}:{line} imports {target}")
    assert problems == []


def test_the_estimators_import_no_kernel_module():
    kernels = {m for m in MODULES if is_kernel_module(m)}
    problems = [f"{m} imports {t}" for m, targets in internal_edges().items() if layer_of(m) == "estimators"
                for t in targets if t in kernels]
    assert problems == []


def test_data_gen_and_widecross_are_independent():
    at_top = [f"{m}:{line}" for m in MODULES for target, line, top in imports(m) if target.split(".")[0] == "data_gen" and top]
    assert at_top == []
    for path in sorted((REPO / "data_gen").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            assert not [n for n in names if n.split(".")[0] == "widecross"], f"{path}:{node.lineno}"


def test_widecross_works_without_data_gen(tmp_path):
    """Maps draw their land mask from widecross's own data; generating data says what it needs."""
    code = (
        "import sys\n"
        "sys.modules['data_gen'] = None  # as if it were not installed\n"
        "import numpy as np, widecross as wc\n"
        "from widecross import cli, maps\n"
        "assert maps.land_mask(60).shape == (180, 360) and maps.land_mask(60).any()\n"
        f"code = cli.main(['gen', '--rows', '10', '-o', {str(tmp_path / 'g.parquet')!r}])\n"
        "assert code == 1, code\n"
        "m = wc.WideClassifier(random_state=0).fit(np.eye(4), [0, 1, 0, 1]).model_\n"
        "print('ok', m.nnz)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok") and "data_gen" in result.stderr and "Traceback" not in result.stderr


def test_the_scan_catches_what_it_looks_for(monkeypatch):
    source = "from . import b\nimport data_gen\nif TYPE_CHECKING:\n    from . import c\n\ndef f():\n    from . import d\n"
    monkeypatch.setitem(MODULES, "widecross.x.a", PACKAGE / "x" / "a.py")
    for name in ("b", "c", "d"):
        monkeypatch.setitem(MODULES, f"widecross.x.{name}", PACKAGE / "x" / f"{name}.py")
    monkeypatch.setitem(TREES, "widecross.x.a", ast.parse(source))
    assert imports("widecross.x.a") == [("widecross.x.b", 1, True), ("data_gen", 2, True), ("widecross.x.d", 7, False)]


def test_no_module_or_function_is_too_long():
    """Compiled kernels may be longer than the function limit: splitting a hot loop across calls
    is what they must not do."""
    problems, exempt = [], []
    for module, path in MODULES.items():
        rel = path.relative_to(REPO).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            problems.append(f"{rel}: {lines} lines")
        for node in ast.walk(TREES[module]):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    kernel = any("jit" in ast.unparse(d) for d in node.decorator_list)
                    (exempt if kernel else problems).append(f"{rel}::{node.name}")
    assert problems == []
    assert exempt == KERNELS_OVER_THE_LIMIT  # a new long kernel is a decision: name it here


def test_only_the_cluster_package_imports_dask_and_only_when_asked():
    """Dask is an optional extra: no module outside widecross.cluster imports it, and the cluster
    package itself is imported only inside functions (when fit is given a Dask DataFrame)."""
    problems = []
    for module in MODULES:
        inside = module == "widecross.cluster" or module.startswith("widecross.cluster.")
        for target, line, top in imports(module):
            if target.split(".")[0] in ("dask", "distributed") and (not inside or top):
                problems.append(f"{module}:{line} imports {target}")
            if not inside and target.startswith("widecross.cluster") and top:
                problems.append(f"{module}:{line} imports {target} at module level")
    assert problems == []


def test_fitting_in_memory_never_loads_dask():
    code = (
        "import sys, numpy as np, widecross as wc\n"
        "spec = wc.geo_spec(lat='lat', lon='lon', resolutions=(60,), bits=10)\n"
        "wc.WideClassifier(spec, epochs=1, polish=1).fit({'lat': [1.0, 2.0], 'lon': [3.0, 4.0]}, [0, 1])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
