"""How many bytes a model file's metadata takes for the ad-click spec with learned vocabularies.

    python benchmarks/bench_spec_size.py            # the 2,000,000 training rows of bench_adclick
    python benchmarks/bench_spec_size.py --quick    # 100,000 rows

The spec of ``bench_adclick.py`` (20 categorical fields and the tags with vocabularies learned by
``fit`` at min_count 5, a standardized bid, the 9 user x ad crosses), fitted on the same seeded
table. Reported: the spec's JSON with every cross repeating its components in full (format
version 1's layout, which later kinds first used too) and with crosses naming their components
(format version 2), the vocabulary values stored, and the whole metadata section of a model
file holding the spec (with an empty model: the metadata does not grow with the weights),
against the cap a model file's metadata has. Results: ``benchmarks/results/spec_size.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import numpy as np  # noqa: E402

from benchmarks.adclick import make_adclick  # noqa: E402
from benchmarks.bench_adclick import widecross_spec  # noqa: E402
from benchmarks.common import format_table, save_results  # noqa: E402


def components_in_full(spec_json: str) -> str:
    """The same spec with every cross repeating its components (no references)."""
    obj = json.loads(spec_json)
    defined = {f["name"]: f for f in obj["features"] if f["type"] != "cross"}
    for feature in obj["features"]:
        if feature["type"] == "cross":
            feature["features"] = [defined[c["name"]] if c["type"] == "ref" else c for c in feature["features"]]
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def metadata_bytes(spec: Any) -> int:
    """Bytes of the metadata section of a model file that holds ``spec`` (and no weights)."""
    import widecross as wc
    from widecross.model import file_format

    model = wc.SparseModel(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), 0.0, spec.n_features,
                           "logistic", spec=spec)
    return len(file_format._encode(model, "float32")[1])


def main(argv: list[str] | None = None) -> int:
    from widecross.features import Categorical, FeatureSpec, Tokens
    from widecross.export import MAX_META_BYTES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    n_rows = 100_000 if args.quick else 2_000_000
    spec = widecross_spec(learned=True).fit(make_adclick(n_rows, seed=0))
    with_references = spec.to_json()
    in_full = components_in_full(with_references)
    assert FeatureSpec.from_json(in_full) == spec == FeatureSpec.from_json(with_references)
    learned = [f for f in spec.features if isinstance(f, (Categorical, Tokens))]
    n_values = sum(len(f.vocabulary) for f in learned)
    in_file = metadata_bytes(spec)
    rows = [
        {"layout": "crosses repeat their components", "spec_json_bytes": len(in_full),
         "metadata_bytes": in_file - len(with_references) + len(in_full)},
        {"layout": "crosses name their components", "spec_json_bytes": len(with_references), "metadata_bytes": in_file},
    ]
    for row in rows:
        row["share_of_cap"] = row["metadata_bytes"] / MAX_META_BYTES
    largest = max(learned, key=lambda f: len(f.vocabulary))
    params = {"rows": n_rows, "vocabularies": len(learned), "vocabulary_values": n_values,
              "largest_vocabulary": f"{largest.name}: {len(largest.vocabulary):,} values",
              "max_meta_bytes": MAX_META_BYTES}
    print(json.dumps(params))
    print(format_table(rows))
    save_results("spec_size", rows, params, quick=args.quick, results_dir=args.results_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
