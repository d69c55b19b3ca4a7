"""The command line's options: parsing and usage errors only (exit code 2)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from .._version import __version__
from ..features.bucketize import OUT_OF_RANGE
from ..io import DEFAULT_CHUNK_ROWS
from ..losses import CLASSIFICATION_LOSSES, REGRESSION_LOSSES
from ..tasks.training import DEFAULT_MEMORY_ROWS
from ..train import CHOICES as OPTIMIZERS
from ..train.sgd import SCHEDULES
from . import options

VALUES = ("float32", "float16", "q8")


# Option types (see .options): an invalid value is a usage error, exit code 2, naming the option.
AT_LEAST_0, AT_LEAST_1 = options.int_at_least(0), options.int_at_least(1)
PENALTY, RATE = options.real(0), options.real(0, above=True)
L1 = options.auto_or(PENALTY)


def _spec(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("features")
    # Defaults live in features.spec_from_flags: None here means "not given" (--spec refuses the rest).
    group.add_argument("--spec", help="a FeatureSpec JSON file (schema: docs/spec.md); replaces every option below")
    group.add_argument("--lat", help="latitude column (default: lat)")
    group.add_argument("--lon", help="longitude column (default: lon)")
    group.add_argument("--resolutions", type=options.resolutions, help="lat x lon cross resolutions in arc-minutes, or 'none' (default: 60,10,1)")
    group.add_argument("--bits", type=options.spec_bits, help="hash into 2**BITS columns, or 'exact' (default: exact)")
    group.add_argument("--hash-seed", type=options.hash_seed, help="seed of the feature hash (default: 0)")
    group.add_argument("--out-of-range", choices=OUT_OF_RANGE, help="lat/lon outside their range or NaN: stop, clip, or one extra bucket (default: error)")
    group.add_argument("--numeric", action="append", metavar="COL[:standard|:SCALE]", help="a real-valued column as a feature value (repeatable)")
    group.add_argument("--categorical", action="append", metavar="COL[:MIN_COUNT]", help="a string/integer column; its vocabulary is learned from the training rows (repeatable)")
    group.add_argument("--tokens", action="append", metavar="COL[:SEP]", help="a list column, or text split on SEP; vocabulary learned (repeatable)")
    group.add_argument("--cross", action="append", metavar="A,B[,C]", help="crosses between groups or features: geo, or a column named above (repeatable)")


def _training(parser: argparse.ArgumentParser, l1: bool = True) -> None:
    group = parser.add_argument_group("training")
    if l1:
        group.add_argument("--l1", type=L1, default="auto",
                           help="L1 strength on the mean loss, or 'auto': chosen along a path on held-out rows (default: auto)")
    group.add_argument("--l2", type=PENALTY, default=0.0, help="L2 strength (default: 0)")
    group.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="sgd",
                       help="cd: SGD passes, then the exact L1 / elastic-net solver in place of the polish (default: sgd)")
    group.add_argument("--loss", choices=CLASSIFICATION_LOSSES + REGRESSION_LOSSES, default="logistic", help="(default: logistic)")
    group.add_argument("--epochs", type=AT_LEAST_1, default=None, help="passes over the data (default: 5; 1 with --optimizer cd)")
    group.add_argument("--learning-rate", type=RATE, default=None, help="initial learning rate (default: the optimizer's)")
    group.add_argument("--schedule", choices=tuple(SCHEDULES), default="adagrad",
                       help="SGD's rates; newton: per-coordinate Newton, for one pass over large data (--epochs 1 --polish 0) (default: adagrad)")
    group.add_argument("--polish", type=AT_LEAST_0, default=6, help="batch polish passes after the epochs (default: 6)")
    group.add_argument("--seed", type=AT_LEAST_0, default=0, help="shuffling and split seed (default: 0)")
    group.add_argument("--validation-fraction", type=options.real(0, below=1), default=0.0, help="share of rows held out and reported (default: 0)")
    group.add_argument("--chunk-rows", type=AT_LEAST_1, default=DEFAULT_CHUNK_ROWS, help="rows read at a time")
    _jobs(group)


def _jobs(parser: Any) -> None:
    parser.add_argument("--jobs", type=options.jobs, default=1,
                        help="threads (-1: all cores; default: 1). Featurizing, scoring and the polish give the same "
                             "numbers for any count; above 1 the epochs train shards that are mixed (reproducible "
                             "for a given count and seed)")


def _demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=options.int_at_least(2), default=1_000_000, help="rows to generate, 20%% held out (default: 1,000,000)")
    p.add_argument("--out", default="widecross_demo", help="output directory (default: widecross_demo)")
    p.add_argument("--bits", type=options.bits, default=None, help="hash into 2**BITS columns, or 'exact' (default: exact)")
    p.add_argument("--l1", type=L1, default="auto", help="a number, or 'auto': chosen on held-out rows (default: auto)")
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="sgd")
    p.add_argument("--epochs", type=AT_LEAST_1, default=None, help="(default: 5; 1 with --optimizer cd)")
    p.add_argument("--values", choices=VALUES, default="float16", help="weight encoding in the file (default: float16)")
    p.add_argument("--seed", type=AT_LEAST_0, default=0)


def _gen(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=AT_LEAST_1, required=True)
    p.add_argument("-o", "--out", type=options.table_file, required=True, help="output file (.parquet or .csv)")
    p.add_argument("--seed", type=AT_LEAST_0, default=0)
    p.add_argument("--world-seed", type=AT_LEAST_0, default=0)
    p.add_argument("--bad-fraction", type=options.real(0, up_to=1), default=0.0, help="share of rows with NaN/inf/out-of-range coordinates")
    p.add_argument("--chunk-rows", type=AT_LEAST_1, default=DEFAULT_CHUNK_ROWS)


def _train(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="+", help="data file(s) or a directory")
    p.add_argument("--target", required=True, help="label column (0/1 for logistic)")
    p.add_argument("-o", "--output", required=True, help="model file to write (.wcm)")
    p.add_argument("--values", choices=VALUES, default="float32", help="weight encoding (default: float32, lossless)")
    p.add_argument("--memory-rows", type=AT_LEAST_0, default=DEFAULT_MEMORY_ROWS, help="above this many rows, stream instead of loading")
    p.add_argument("--multi-class", choices=("ovr", "multinomial"), default=None,
                   help="train on K >= 2 classes (any numeric labels): one-vs-rest or softmax (default: 0/1 labels)")
    p.add_argument("--class-weight", default=None, help="'balanced', or label:weight,... (default: none)")
    p.add_argument("--checkpoint", default=None, help="also write the training state here, to --resume from later")
    p.add_argument("--resume", default=None,
                   help="continue the run saved in this checkpoint on DATA, with its own parameters "
                        "(the training options are ignored)")
    _spec(p)
    _training(p)


def _scoring(p: argparse.ArgumentParser, output: bool) -> None:
    p.add_argument("model")
    p.add_argument("data", nargs="+")
    if output:
        p.add_argument("-o", "--output", type=options.table_file, required=True, help="output file (.parquet or .csv)")
        p.add_argument("--keep", nargs="*", help="input columns to copy to the output (e.g. an id)")
    else:
        p.add_argument("--target", required=True)
    p.add_argument("--chunk-rows", type=AT_LEAST_1, default=DEFAULT_CHUNK_ROWS)
    _jobs(p)


def _inspect(p: argparse.ArgumentParser) -> None:
    p.add_argument("model")
    p.add_argument("--top", type=AT_LEAST_0, default=10, help="how many of the largest weights to list (default: 10)")


def _path(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="+")
    p.add_argument("--target", required=True)
    p.add_argument("--l1", type=options.l1_grid, default=options.l1_grid("1e-8:1e-3:12"), help="start:stop:count (log-spaced) or a list (default: 1e-8:1e-3:12)")
    p.add_argument("--png", type=options.png_file, default=None, help="write the path plot here (and *_weights.png: L1 vs L2 weights)")
    _spec(p)
    _training(p, l1=False)


def _map(p: argparse.ArgumentParser) -> None:
    p.add_argument("model")
    p.add_argument("-o", "--output", type=options.png_file, required=True, help="PNG file to write")
    p.add_argument("--data", nargs="*", help="data with the model's columns (needed for hashed models)")
    p.add_argument("--pixel-minutes", type=options.pixel_minutes, default=None, help="arc-minutes per pixel (default: 10 for the globe, fitted to --bbox)")
    p.add_argument("--bbox", type=options.bbox, default=None, metavar="LAT0,LAT1,LON0,LON1", help="draw this region only (degrees: south, north, west, east)")
    p.add_argument("--chunk-rows", type=AT_LEAST_1, default=DEFAULT_CHUNK_ROWS)


COMMANDS: tuple[tuple[str, str, str, Callable[[argparse.ArgumentParser], None]], ...] = (
    ("demo", "generate data, train the geo model, report, draw it", "End to end: generate realistic global housing data, train an L1 lat x long model, save it, report size and held-out accuracy, and draw its weights on the globe.", _demo),
    ("gen", "write generated housing data to Parquet or CSV", "Write seeded synthetic global housing data (data_gen) to a Parquet or CSV file.", _gen),
    ("train", "train a model from Parquet/CSV", "Train a wide model on a Parquet/CSV file, directory or list of files, and write it atomically.", _train),
    ("evaluate", "held-out metrics of a model on data", "Log-loss, AUC and accuracy (logistic) or RMSE, MAE and R^2 (regression) of a model on data.", lambda p: _scoring(p, False)),
    ("predict", "write predictions for data", "Score data with a model; write probability/prediction columns to Parquet or CSV.", lambda p: _scoring(p, True)),
    ("inspect", "what a model file holds", "Summarize a model file: nonzeros, width, bytes per nonzero, encoding, spec, top weights and the cells they stand for.", _inspect),
    ("path", "regularization path over an l1 grid", "Fit along an l1 grid (strongest first), report nonzeros and held-out loss per l1, recommend one, and draw it. The first fit runs --epochs; each later one starts from the previous weights (warm start) and runs one epoch before the batch polish.", _path),
    ("map", "draw a model's weights on the globe", "Draw the nonzero weights of every lat x lon cross of a model as a PNG.", _map),
)


def build_parser(run: dict[str, Callable[[argparse.Namespace], int]]) -> argparse.ArgumentParser:
    """The parser; ``run`` maps each subcommand to the function that runs it."""
    parser = argparse.ArgumentParser(prog="widecross", description="Sparse wide linear models on feature crosses.")
    parser.add_argument("--version", action="version", version=f"widecross {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, help, description, add_arguments in COMMANDS:
        command = sub.add_parser(name, help=help, description=description)
        add_arguments(command)
        command.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")
        command.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
        command.set_defaults(func=run[name])
    return parser


def parse(parser: argparse.ArgumentParser, argv: Any) -> argparse.Namespace:
    """Parse ``argv``; an invalid value exits with a usage message (code 2) naming the option."""
    args = parser.parse_args(argv)
    data = getattr(args, "data", None)
    if isinstance(data, list) and len(data) == 1:  # one path stays a path, so that directories work
        args.data = data[0]
    return args
