"""The ``course`` command: look at the data, run the projects' experiments.

``course data --info`` / ``course data --show pairs.png``; ``course run project1|project2 ...``. Errors the user
can fix are printed as one message, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from course.errors import CourseError

# project -> module with add_arguments(parser) and run(args) -> int
RUNNERS = {
    "project1": "course.project1.cli",
    "project2": "course.project2.cli",
}


def add_run_options(parser, *, epochs: str, lr: str, batch_size: str, quick: str, out: str) -> None:
    """The options both ``course run`` commands share, defined once; the strings describe each project's defaults.

    Every default is ``None`` so that ``--quick`` can tell a value given explicitly from one left to it.
    """
    parser.add_argument("--rounds", type=int, default=None, help="seeded rounds, fresh data and initialisation "
                        "each (default 10; --quick: 2)")
    parser.add_argument("--epochs", type=int, default=None, help=f"training epochs per round ({epochs})")
    parser.add_argument("--lr", type=float, default=None, help=f"learning rate ({lr})")
    parser.add_argument("--batch-size", type=int, default=None, help=f"mini-batch size ({batch_size})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run; round r uses round_seed(seed, r) "
                        "(default 0)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for PyTorch (default 1: these networks are small, and on a shared 2-core "
                             "machine a second thread made them up to 10× slower)")
    parser.add_argument("--impl", default="solutions",
                        help="implementation: solutions (default), assignments, or a folder holding project1/ and "
                             "project2/ laid out like assignments/")
    parser.add_argument("--out", default=out, help=f"folder for the table, figures and raw numbers (default {out})")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {quick}, unless given explicitly")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def autograding() -> bool:
    """True while nbgrader autogrades a notebook (it sets ``NBGRADER_EXECUTION=autograde``): ``course run`` then
    makes the smallest run that still exercises the code, so a notebook grades in seconds."""
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


def at_least_one(**values) -> None:
    """A clear error for a count option below 1 (``--rounds 0``), or for more rounds than have distinct seeds."""
    from course.protocol import MAX_ROUNDS

    for name, value in values.items():
        if value is not None and value < 1:
            raise CourseError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if (values.get("rounds") or 0) > MAX_ROUNDS:
        raise CourseError(f"--rounds must be at most {MAX_ROUNDS} (each round needs a seed of its own), "
                          f"got {values['rounds']}")


def _data(args) -> int:
    from course import data

    pools = data.load_mnist(args.data_dir)
    if args.info or not args.show:
        print(pools.describe())
        print(f"circle task: points uniform in [0,1]^2, label 1 inside the disk of radius "
              f"{data.DISC_RADIUS:.4f} centred at (0.5, 0.5)")
    if args.show:
        from course.plots import show_pairs

        train_input, train_target, train_classes, *_ = data.generate_pair_sets(
            args.n, seed=args.seed, data_dir=args.data_dir, nb_test=1)
        path = show_pairs(train_input, train_target, train_classes, args.show, n=args.n)
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="pool sizes, class balance, and a picture of sample pairs")
    p.add_argument("--info", action="store_true", help="print pool sizes and class balance")
    p.add_argument("--show", metavar="FILE.png", help="draw a grid of sample pairs into FILE.png")
    p.add_argument("--n", type=int, default=16, help="number of pairs to draw (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of the drawn pairs (default 0)")
    p.add_argument("--data-dir", default=None,
                   help="folder of full-MNIST IDX files (default: $COURSE_MNIST_DIR, else the bundled subset)")
    p.set_defaults(func=_data)

    run = sub.add_parser("run", help="run a project's experiment: rounds, table, figures")
    projects = run.add_subparsers(dest="project", required=True)
    for name, path in RUNNERS.items():
        module = importlib.import_module(path)
        pp = projects.add_parser(name, help=(module.__doc__ or "").strip().split("\n")[0])
        module.add_arguments(pp)
        pp.set_defaults(func=module.run)
    return parser


def run_command(prog: str, args) -> int:
    """Run a parsed sub-command: a CourseError is one line ``<prog>: error: ...`` and exit status 2."""
    try:
        return int(args.func(args) or 0)
    except CourseError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def main(argv=None) -> int:
    return run_command("course", build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
