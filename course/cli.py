"""The ``course`` command: look at the data, run the projects' experiments.

``course data --info`` / ``course data --show pairs.png``; ``course run project1|project2 ...`` where the
project runners are installed. Errors the user can fix are printed as one message, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from course.errors import CourseError

# project name -> module with add_arguments(parser) and run(args) -> int
RUNNERS = {
    "project1": "course.run_project1",
    "project2": "course.run_project2",
}


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

    available = {name: mod for name, mod in RUNNERS.items() if importlib.util.find_spec(mod) is not None}
    if available:
        run = sub.add_parser("run", help="run a project's experiment: rounds, table, figures")
        projects = run.add_subparsers(dest="project", required=True)
        for name, mod in available.items():
            module = importlib.import_module(mod)
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
