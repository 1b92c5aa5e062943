"""`virnucpro train`: train the classifier on labelled merged features (the original recipe by default)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from virnucpro.commands import positive_int

HELP = "train the VirNucPro classifier on labelled merged features (the original's recipe by default)"


def number_type(accept: Callable[[float], bool], expected: str) -> Callable[[str], float]:
    """An argparse type for a float that `accept` allows; the error says it expected `expected`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


fraction = number_type(lambda v: 0 <= v < 1, "a number from 0 to below 1")
positive_float = number_type(lambda v: v > 0, "a positive number")


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        help="CPU threads for torch (default: torch's choice, all cores; give a task's CPU count on a shared node)",
    )


def set_threads(args: argparse.Namespace) -> None:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """--merged and --labels, shared with `evaluate`."""
    parser.add_argument("--merged", required=True, nargs="+", metavar="M.pt", help="merged feature files")
    parser.add_argument(
        "--labels",
        required=True,
        metavar="TSV",
        help="tab-separated 'file label group': each merged file's name, viral or host, and its group",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    from virnucpro.recipe import Recipe

    defaults = Recipe()
    add_data_options(parser)
    parser.add_argument("--outdir", required=True, metavar="DIR", help="directory for the classifier and report")
    parser.add_argument(
        "--chunk-size", type=positive_int, metavar="N", help="chunk size of the training data, recorded in the metadata"
    )
    parser.add_argument("--device", default="auto", metavar="DEV", help="auto (default), cpu, cuda or cuda:N")
    add_threads_option(parser)
    parser.add_argument(
        "--pth",
        action="store_true",
        help="also write the published whole-module format (N_model.pth), which the original prediction.py loads",
    )
    recipe = parser.add_argument_group("recipe (defaults: the original train.py)")
    recipe.add_argument(
        "--hidden-dim",
        type=positive_int,
        default=defaults.hidden_dim,
        metavar="N",
        help=f"hidden layer width (default {defaults.hidden_dim})",
    )
    recipe.add_argument(
        "--dropout",
        type=fraction,
        default=defaults.dropout,
        metavar="P",
        help=f"dropout probability (default {defaults.dropout})",
    )
    recipe.add_argument(
        "--lr", type=positive_float, default=defaults.lr, metavar="X", help=f"SGD learning rate (default {defaults.lr})"
    )
    recipe.add_argument(
        "--momentum",
        type=fraction,
        default=defaults.momentum,
        metavar="X",
        help=f"SGD momentum (default {defaults.momentum})",
    )
    recipe.add_argument(
        "--step-size",
        type=positive_int,
        default=defaults.step_size,
        metavar="N",
        help=f"StepLR: epochs between learning-rate decays (default {defaults.step_size})",
    )
    recipe.add_argument(
        "--gamma",
        type=positive_float,
        default=defaults.gamma,
        metavar="X",
        help=f"StepLR: learning-rate factor per step, at most 1 (default {defaults.gamma})",
    )
    recipe.add_argument(
        "--batch-size",
        type=positive_int,
        default=defaults.batch_size,
        metavar="N",
        help=f"rows per training batch (default {defaults.batch_size})",
    )
    recipe.add_argument(
        "--test-fraction",
        type=fraction,
        default=defaults.test_fraction,
        metavar="P",
        help=f"share of rows held out as the test split (default {defaults.test_fraction})",
    )
    recipe.add_argument(
        "--max-epochs",
        type=positive_int,
        default=defaults.max_epochs,
        metavar="N",
        help=f"most epochs (default {defaults.max_epochs})",
    )
    recipe.add_argument(
        "--patience",
        type=positive_int,
        default=defaults.patience,
        metavar="N",
        help=f"stop after N epochs without a lower test loss (default {defaults.patience})",
    )
    recipe.add_argument(
        "--min-delta",
        type=float,
        default=defaults.min_delta,
        metavar="X",
        help=f"improvement the test loss must make to count (default {defaults.min_delta})",
    )
    recipe.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        metavar="N",
        help=f"seed of the split, the balancing draw, the weights and the batch order (default {defaults.seed})",
    )
    recipe.add_argument(
        "--balance",
        action=argparse.BooleanOptionalAction,
        default=defaults.balance,
        help="as many host rows as viral rows, spread evenly over the host groups (default on)",
    )


def recipe_from(args: argparse.Namespace):
    from dataclasses import fields

    from virnucpro.recipe import Recipe

    return Recipe(**{f.name: getattr(args, f.name) for f in fields(Recipe)})


def run(args: argparse.Namespace) -> int:
    from virnucpro.labels import read_labels
    from virnucpro.train import train

    files = read_labels(args.labels, args.merged)
    set_threads(args)
    train(files, args.outdir, recipe_from(args), args.device, args.chunk_size, args.pth)
    return 0
