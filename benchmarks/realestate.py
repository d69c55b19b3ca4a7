"""A newcomer's real-estate table, and what each way of reading its property type costs.

    python benchmarks/realestate.py            # 200k rows (160k train, 40k held out)
    python benchmarks/realestate.py --quick    # 40k rows

The table is unlike ``data_gen``'s global houses: sales inside a US bounding box, clustered
around ten cities of which three are expensive (San Francisco, New York, Boston), with a
property type whose effects are opposite (``flat`` lowers the price, ``villa`` raises it), a
floor area, amenities as a comma-separated list and a label (price above the median). Seeded:
the same ``(n, seed)`` always gives the same table.

The runs read lat/lon through ``geo_spec``'s crosses and the type in several ways:
``Categorical("kind", n_buckets=16)`` (where ``flat``, ``villa`` and ``studio`` share a bucket:
``fit`` warns, naming them), a vocabulary learned by ``FeatureSpec.fit``, the same crossed with
the 1-degree cell, and with the area (``Numeric``) and the amenities (``Tokens``) added. All
with the default ``WideClassifier`` (and the two type readings also at l1 1e-5 and 1e-4: the
default suits millions of rows, not 160k); held-out log-loss, AUC and nonzeros are saved under
``benchmarks/results/realestate.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import numpy as np  # noqa: E402

US_BOX = (24.5, 49.4, -124.8, -66.9)  # lat0, lat1, lon0, lon1
# (name, lat, lon, share of the sales, price premium, spread in degrees)
CITIES = [
    ("San Francisco", 37.77, -122.42, 0.10, 1.3, 0.25),
    ("New York", 40.71, -74.01, 0.14, 1.1, 0.30),
    ("Boston", 42.36, -71.06, 0.06, 0.9, 0.20),
    ("Chicago", 41.88, -87.63, 0.10, 0.2, 0.30),
    ("Houston", 29.76, -95.37, 0.09, -0.1, 0.35),
    ("Phoenix", 33.45, -112.07, 0.08, -0.1, 0.30),
    ("Dallas", 32.78, -96.80, 0.08, 0.0, 0.35),
    ("Atlanta", 33.75, -84.39, 0.07, 0.0, 0.30),
    ("Denver", 39.74, -104.99, 0.06, 0.3, 0.25),
    ("Seattle", 47.61, -122.33, 0.07, 0.6, 0.25),
]
RURAL_SHARE = 1.0 - sum(c[3] for c in CITIES)
# (kind, share, price effect, median floor area in m2)
KINDS = [
    ("flat", 0.34, -0.55, 70),
    ("house", 0.28, 0.10, 140),
    ("villa", 0.09, 0.75, 260),
    ("studio", 0.11, -0.45, 35),
    ("townhouse", 0.12, 0.05, 110),
    ("loft", 0.06, 0.25, 95),
]
AMENITIES = [("garden", 0.35, 0.10), ("pool", 0.12, 0.20), ("garage", 0.40, 0.05), ("lift", 0.25, 0.0),
             ("balcony", 0.30, 0.05), ("sea view", 0.05, 0.35), ("fireplace", 0.15, 0.10)]


def make_realestate(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` seeded sales: lat, lon, kind, area, amenities (comma-separated), price, label."""
    rng = np.random.default_rng(seed)
    shares = np.array([c[3] for c in CITIES] + [RURAL_SHARE])
    place = rng.choice(len(shares), size=n, p=shares / shares.sum())
    lat0, lat1, lon0, lon1 = US_BOX
    lat = rng.uniform(lat0, lat1, n)
    lon = rng.uniform(lon0, lon1, n)
    premium = np.zeros(n)
    for k, (_, clat, clon, _, bonus, spread) in enumerate(CITIES):
        rows = place == k
        m = int(rows.sum())
        lat[rows] = np.clip(clat + rng.normal(0, spread, m), lat0, lat1)
        lon[rows] = np.clip(clon + rng.normal(0, spread * 1.3, m), lon0, lon1)
        distance = np.hypot(lat[rows] - clat, (lon[rows] - clon) * np.cos(np.radians(clat)))
        premium[rows] = bonus * np.exp(-distance / spread)  # the centre is dearest
    kind_index = rng.choice(len(KINDS), size=n, p=[k[1] for k in KINDS])
    kind = np.array([k[0] for k in KINDS], dtype=object)[kind_index]
    effect = np.array([k[2] for k in KINDS])[kind_index]
    area = np.array([k[3] for k in KINDS])[kind_index] * np.exp(rng.normal(0, 0.3, n))
    # Smaller homes in the expensive centres: the area carries information of its own.
    area *= np.exp(-0.25 * premium)
    amenity_effect = np.zeros(n)
    lists = [[] for _ in range(n)]
    for name, share, bonus in AMENITIES:
        has = rng.random(n) < share * np.where(kind_index == 2, 2.0, 1.0)  # villas have more of everything
        amenity_effect += bonus * has
        for i in np.flatnonzero(has).tolist():
            lists[i].append(name)
    log_price = 12.0 + premium + effect + 0.6 * np.log(area / 90.0) + amenity_effect + rng.normal(0, 0.55, n)
    price = np.exp(log_price)
    label = (price > np.median(price)).astype(np.int64)
    return {"lat": lat, "lon": lon, "kind": kind, "area": area.round(1),
            "amenities": np.array([",".join(a) for a in lists], dtype=object), "price": price.round(-2), "label": label}


def runs(bits: int | None) -> list[tuple[str, Any]]:
    """(label, spec) pairs, from the newcomer's first try to the full table."""
    import widecross as wc
    from widecross.features import Categorical, Cross, FeatureSpec, Numeric, Tokens

    geo = list(wc.geo_spec(bits=None).features)
    cell = geo[0]  # the 1-degree lat x lon cross
    kind_learned = Categorical("kind", min_count=1)
    return [
        ("geo only", FeatureSpec(geo, bits=bits)),
        ("geo + Categorical('kind', n_buckets=16)", FeatureSpec(geo + [Categorical("kind", 16)], bits=bits)),
        ("geo + Categorical('kind') learned by fit", FeatureSpec(geo + [kind_learned], bits=bits)),
        ("+ kind x 1-degree cell", FeatureSpec(geo + [kind_learned, Cross(cell, kind_learned, name="cell x kind")], bits=bits)),
        ("+ Numeric('area', 'standard') + Tokens('amenities', sep=',')",
         FeatureSpec(geo + [kind_learned, Cross(cell, kind_learned, name="cell x kind"), Numeric("area", "standard"),
                            Tokens("amenities", sep=",", min_count=1)], bits=bits)),
    ]


def score(spec: Any, train: dict, test: dict, y: np.ndarray, yt: np.ndarray, **params: Any) -> dict[str, Any]:
    import widecross as wc
    from widecross.metrics import log_loss, roc_auc

    columns = list(spec.columns)
    start = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec.fit({c: train[c] for c in columns})
    clf = wc.WideClassifier(spec, random_state=0, **params).fit({c: train[c] for c in columns}, y)
    seconds = time.process_time() - start
    p = clf.predict_proba({c: test[c] for c in columns})[:, 1]
    return {"log_loss": log_loss(yt, p), "auc": roc_auc(yt, p), "nnz": int(clf.model_.nnz), "fit_cpu_s": seconds,
            "warning": str(caught[0].message) if caught else ""}


def main(argv: list[str] | None = None) -> int:
    from benchmarks.common import format_table, save_results

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="40k rows")
    parser.add_argument("--rows", type=int, default=None, help="rows in all, 20%% held out (default 200,000)")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    n = args.rows or (40_000 if args.quick else 200_000)
    data = make_realestate(n, seed=0)
    n_train = int(n * 0.8)
    train = {k: v[:n_train] for k, v in data.items()}
    test = {k: v[n_train:] for k, v in data.items()}
    y, yt = train["label"], test["label"]
    rows = []
    for bits in (None, 22):
        for label, spec in runs(bits):
            out = score(spec, train, test, y, yt)
            rows.append({"spec": label, "indexing": "exact" if bits is None else f"2^{bits}", "l1": 1e-6, **out})
            print(f"{rows[-1]['indexing']:>6}  {label:62s} held-out log-loss {out['log_loss']:.4f}  AUC {out['auc']:.4f}"
                  f"  nnz {out['nnz']:,}" + (f"\n        warning: {out['warning'][:160]}" if out["warning"] else ""))
    # The default l1 (1e-6) suits millions of rows; on 160k it lets the 1' cells overfit.
    for l1 in (1e-5, 1e-4):
        for label, spec in runs(None)[1:3]:
            out = score(spec, train, test, y, yt, l1=l1)
            rows.append({"spec": label, "indexing": "exact", "l1": l1, **out})
            print(f" exact  {label:62s} l1 {l1:g}: held-out log-loss {out['log_loss']:.4f}")
    shown = ["indexing", "spec", "l1", "log_loss", "auc", "nnz", "fit_cpu_s"]
    print(format_table(rows, shown))
    path = save_results("realestate", rows, params={"rows": n, "train": n_train, "held_out": n - n_train},
                        quick=args.quick, results_dir=args.results_dir)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
