"""Inside the sandbox: execute a notebook with nbgrader's own ``Execute`` preprocessor (see
:mod:`autograder.notebooks.execute`, which starts this).

``python -P -m autograder.sandbox.notebook IN OUT [--timeout SECONDS_PER_CELL]``: ``-P`` keeps the current
folder (the submission's) off ``sys.path``, so a ``project1/autograder/`` of the student's is never this runner.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv=None) -> int:
    """Run nbgrader's own Execute on IN (in the current folder) and write the executed notebook to OUT."""
    import nbformat
    from nbgrader.preprocessors import Execute

    parser = argparse.ArgumentParser(prog="autograder.sandbox.notebook")
    parser.add_argument("notebook")
    parser.add_argument("out")
    parser.add_argument("--timeout", type=int, default=30)
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    nb, _ = Execute(timeout=args.timeout).preprocess(nb, {"metadata": {"path": os.getcwd()}})
    nbformat.write(nb, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
