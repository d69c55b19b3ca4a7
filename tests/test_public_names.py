"""Every name the public modules offered before the packages were reshaped still resolves."""

from __future__ import annotations

import importlib

import pytest

import widecross as wc

NAMES = {
    "widecross": ["Bucketize", "Categorical", "Cross", "FeatureSpec", "KeyRecord", "ModelFormatError", "SparseModel",
                  "WideClassifier", "WideRegressor", "__version__", "geo_spec", "load"],
    "widecross.features": ["FORMAT", "FORMAT_VERSION", "FeatureSpec", "MAX_BITS", "geo_spec", "Bucketize", "Categorical",
                           "Cross", "KeyRecord"],
    "widecross.model": ["LOSSES", "PREDICT_CHUNK_ROWS", "SparseModel"],
    "widecross.estimators": ["ADAGRAD_MAX_DEFAULT_RATE", "CLASSIFICATION_LOSSES", "DEFAULT_CHUNK_ROWS", "DEFAULT_RATE",
                             "DENSE_AUTO_MAX_WIDTH", "DENSE_MAX_WIDTH", "DataConversionWarning", "FTRL_DEFAULT_ALPHA",
                             "FTRL_MAX_DEFAULT_ALPHA", "LAYOUTS", "NotFittedError", "OPTIMIZERS", "REGRESSION_LOSSES",
                             "SCHEDULES", "WideClassifier", "WideRegressor", "default_alpha", "default_learning_rate"],
    "widecross.export": ["FORMAT_VERSION", "INDEX_CODEC", "LOSSES", "MAGIC", "ModelFormatError", "SECTIONS", "SparseModel",
                         "dumps", "inspect_file", "load", "loads", "save"],
    "widecross.io": ["CSV_SUFFIXES", "DataSource", "PARQUET_SUFFIXES", "TableWriter", "column_names", "count_rows",
                     "dataset_files", "iter_chunks", "read_columns", "write_table"],
    "widecross.metrics": ["accuracy", "log_loss", "mae", "rmse", "roc_auc"],
    "widecross.maps": ["COAST", "GeoLayer", "LAND", "NEGATIVE", "OCEAN", "POSITIVE", "colorize", "geo_layers", "land_mask",
                       "rasterize", "render_weight_map"],
    "widecross.cli": ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"],
}


@pytest.mark.parametrize("module", sorted(NAMES))
def test_names_resolve(module):
    mod = importlib.import_module(module)
    missing = [name for name in NAMES[module] if not hasattr(mod, name)]
    assert missing == []


def test_the_values_kept_their_meaning():
    from widecross import estimators, export, model

    assert estimators.OPTIMIZERS == ("sgd", "ftrl") and estimators.SCHEDULES == ("adagrad", "newton", "constant", "invscaling")
    assert estimators.DEFAULT_CHUNK_ROWS == 1_000_000 and estimators.DENSE_AUTO_MAX_WIDTH == 2**18
    assert estimators.CLASSIFICATION_LOSSES == ("logistic", "hinge") and estimators.REGRESSION_LOSSES == ("squared", "poisson")
    assert sorted(model.LOSSES) == sorted(export.LOSSES) == ["hinge", "logistic", "multinomial", "poisson", "squared"]
    assert export.load is wc.load and model.SparseModel is wc.SparseModel
    cli = importlib.import_module("widecross.cli")
    assert callable(cli.main) and cli.main.__module__ == "widecross.cli"  # the console script's entry point
