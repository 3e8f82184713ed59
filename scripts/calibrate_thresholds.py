"""Calibrate the grading suite's accuracy thresholds (autograder/thresholds.py); see docs/calibration.md.

Runs the training probes of the suite, in the suite's worker processes, exactly as the grading tests call
them, over many seeds, on the reference solutions and on the plain trick-free submission of
tests/fixtures/plain (project 1), and prints per probe the min / mean / std / max test accuracy, the
threshold in force and the margin between the worst run and the threshold.

    python scripts/calibrate_thresholds.py                 # 20 seeds, both implementations, 2 workers
    python scripts/calibrate_thresholds.py --seeds 5 --json out.json
    python scripts/calibrate_thresholds.py --family --seeds 5     # + tests/fixtures/family*/ (issue 23)
    python scripts/calibrate_thresholds.py --impl mine=path/to/submission --seeds 1   # PATH holds project1/
    python scripts/calibrate_thresholds.py --family --only train_model --seeds 3 --train-model-epochs 8
    python scripts/calibrate_thresholds.py --family --only kit --epochs 8 --first-seed 1000 --seeds 5 \
        --log docs/calibration-family.jsonl      # appends a line per run: a long calibration in pieces
    python scripts/calibrate_thresholds.py --table docs/calibration-family.jsonl --epochs 8   # design x seed table
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT))

from autograder import calibration, thresholds  # noqa: E402
from autograder.integrity import perturb  # noqa: E402
from autograder.seeds import derived_seed  # noqa: E402
from autograder.sandbox.judge import Worker  # noqa: E402
from course.data import BUNDLED, generate_disc_set, generate_pair_sets  # noqa: E402
from course.files import append_line, write_json  # noqa: E402

IMPLS = {"solutions": KIT / "solutions", "plain": KIT / "tests" / "fixtures" / "plain"}
PROBES = {"train_kit", "train_student"}  # --only train_model: the student's loop alone
FIRST_SEED = 1000  # calibration seeds are 1000, 1001, ...; the suite uses others (thresholds.P1["seed"], ...)


def p1_runs(impl: Path, seed: int) -> dict[str, float]:
    """Seed ``seed`` run as ``autograder check --seed SEED`` grades: the kit's nets on pairs drawn with ``seed``, the
    student's train_model on pairs drawn with ``seed + 1``, the nets initialised from ``derived_seed(seed)`` (+ 1),
    and train_model's second run (``seed + 2``) where its first falls short of the threshold."""
    cfg = thresholds.P1
    out = {}
    worker = Worker(impl, "project1")
    try:
        if "train_kit" in PROBES:
            train_input, train_target, train_classes, test_input, test_target = suite_pairs(seed)
            for net in ("baseline", "siamese", "aux"):
                got = worker.call("train_kit", timeout=600, net=net, train_input=train_input,
                                  train_target=train_target, train_classes=train_classes, test_input=test_input,
                                  seed=derived_seed(seed), epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                                  lr=cfg["lr"], aux_weight=cfg["aux_weight"])
                out[net] = float((got["target"] == test_target).double().mean())
        if "train_student" in PROBES:
            out["train_model"] = student_run(worker, seed, 1)
            if out["train_model"] < calibration.threshold("train_model") and calibration.retries():
                out[calibration.RETRY] = retry_run(worker, seed)
    finally:
        worker.close()
    return out


def suite_pairs(seed: int):
    """The suite's data at ``seed``: the bundled subset whatever COURSE_MNIST_DIR says, and the per-grading noise on
    the test images (autograder/integrity.py); (train input, target, classes, test input, test target)."""
    train_input, train_target, train_classes, test_input, test_target, _ = generate_pair_sets(
        thresholds.P1["pairs"], seed=seed, data_dir=BUNDLED)
    return train_input, train_target, train_classes, perturb(test_input, seed), test_target


def student_run(worker, seed: int, attempt: int) -> float:
    """The student's train_model as written (the kit fixes the epochs and the seed only), run ``attempt`` of grading
    seed ``seed``: pairs drawn with ``seed + attempt``, the net initialised from ``derived_seed(seed) + attempt``."""
    train_input, train_target, train_classes, test_input, test_target = suite_pairs(seed + attempt)
    got = worker.call("train_student", timeout=600, net="aux", train_input=train_input, train_target=train_target,
                      train_classes=train_classes, test_input=test_input, seed=derived_seed(seed) + attempt,
                      epochs=thresholds.P1["train_model_epochs"])
    return float((got["test"]["target"] == test_target).double().mean())


def retry_run(worker, seed: int) -> float:
    """The second run of ``p1.train_model`` at grading seed ``seed`` (the suite's, when the first falls short)."""
    return student_run(worker, seed, 2)


def backfill_retries(log: Path, jobs: int) -> int:
    """Run and log the second ``p1.train_model`` run that the suite would make of every logged first run below the
    threshold in force (runs logged before the retry existed, or before the threshold rose), under the protocol in
    force."""
    impls = {**IMPLS, **calibration.family(KIT)}
    want = calibration.protocol()
    todo = sorted((impl, seed) for impl, seeds in calibration.load(log, want).items()
                  for seed in calibration.missing_retries(seeds))

    def run(job):
        impl, seed = job
        worker = Worker(impls[impl], "project1")
        try:
            start = time.perf_counter()
            return impl, seed, retry_run(worker, seed), time.perf_counter() - start
        finally:
            worker.close()

    with ThreadPoolExecutor(jobs) as pool:
        for impl, seed, value, took in pool.map(run, todo):
            print(f"{impl} seed {seed}: train_model retry {100 * value:.1f}%  ({took:.1f} s)", flush=True)
            append_line(log, json.dumps({"impl": impl, "project": "project1", "seed": seed, "protocol": want,
                                         "runs": {calibration.RETRY: value}, "seconds": round(took, 1)}))
    return 0


def p2_runs(impl: Path, seed: int) -> dict[str, float]:
    cfg = thresholds.P2_CIRCLE
    train_input, train_target = generate_disc_set(1000, seed=seed)
    test_input, test_target = generate_disc_set(1000, seed=seed + 50_000)
    worker = Worker(impl, "project2")
    try:
        got = worker.call("circle_predictions", timeout=600, train_input=train_input, train_target=train_target,
                          test_input=test_input, epochs=cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"],
                          seed=seed)
    finally:
        worker.close()
    return {"circle": float((got["predictions"] == test_target).double().mean())}


def one(impl_name: str, project: str, seed: int) -> tuple[str, str, int, dict, float]:
    start = time.perf_counter()
    runs = (p1_runs if project == "project1" else p2_runs)(IMPLS[impl_name], seed)
    return impl_name, project, seed, runs, time.perf_counter() - start


def threshold_of(key: str) -> float:
    return thresholds.P2_CIRCLE["threshold"] if key == "circle" else thresholds.P1["thresholds"][key]


def protocol(project: str) -> dict:
    """What decides a run's figures besides the implementation and the seed (a logged run is only compared with
    runs of the same protocol)."""
    if project == "project2":
        return {k: v for k, v in thresholds.P2_CIRCLE.items() if k != "threshold"}
    return calibration.protocol()


def table(path: Path) -> int:
    """The pass rates (runs at or above the threshold in force) and the worst run per design and probe, of the runs
    logged under the protocol given, and what breaks the seed-stability rule (autograder/calibration.py)."""
    runs = calibration.load(path)
    print(f"protocol {calibration.protocol()}; a cell: runs at or above the threshold / runs (the worst run, %); "
          "caught: seeds at which a fault fails some probe")
    print("\n".join(calibration.markdown(runs)))
    broken = calibration.violations(runs, sorted(runs))
    print("\n".join(["", "seed-stability rule: " + ("holds" if not broken else "BROKEN"), *broken]))
    return 1 if broken else 0


def main(argv=None) -> int:
    global FIRST_SEED
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2, help="workers at a time (default 2)")
    parser.add_argument("--json", default=None, help="write every run and the summary here")
    parser.add_argument("--impl", action="append", default=[], metavar="NAME=PATH",
                        help="project 1 of the submission in PATH (the folder holding project1/), instead of "
                             "solutions and plain; repeatable")
    parser.add_argument("--family", action="store_true",
                        help="add every design of tests/fixtures/family and tests/fixtures/family_faults (project 1); "
                             "a fault is expected below a threshold and does not fail the run")
    parser.add_argument("--only", choices=("kit", "train_model", "retries"), default=None,
                        help="project 1 only, and only the kit's three nets or only the student's train_model; "
                             "retries: run nothing but the second train_model runs missing from --log (every "
                             "logged first run below the threshold in force gets one, as in the suite)")
    parser.add_argument("--train-model-epochs", type=int, default=None, metavar="N",
                        help=f"the epoch budget of p1.train_model (default {thresholds.P1['train_model_epochs']})")
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help=f"the epochs of the kit's protocol for the three nets (default {thresholds.P1['epochs']})")
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED, metavar="S",
                        help=f"the first calibration seed (default {FIRST_SEED}): continue a run in pieces")
    parser.add_argument("--log", default=None, metavar="FILE.jsonl",
                        help="append each run (implementation, seed, protocol, accuracies) as one JSON line, as it ends")
    parser.add_argument("--table", default=None, metavar="FILE.jsonl",
                        help="run nothing: print the design x probe pass rates of the runs logged in FILE under the "
                             "protocol given (--epochs, --train-model-epochs) and the thresholds in force")
    args = parser.parse_args(argv)
    if args.epochs is not None:
        thresholds.P1["epochs"] = args.epochs
    if args.table:
        return table(Path(args.table))
    FIRST_SEED = args.first_seed
    if args.train_model_epochs is not None:
        thresholds.P1["train_model_epochs"] = args.train_model_epochs
    if args.only == "retries":
        if not args.log or not Path(args.log).is_file():
            parser.error("--only retries needs --log FILE.jsonl, an existing calibration log")
        return backfill_retries(Path(args.log), args.jobs)
    if args.only:
        PROBES.intersection_update({"kit": {"train_kit"}, "train_model": {"train_student"}}[args.only])

    chosen = {} if args.impl else dict(IMPLS)
    for spec in args.impl:
        name, sep, path = spec.partition("=")
        if not sep or not name or not (Path(path) / "project1").is_dir():
            parser.error(f"--impl {spec!r}: expected NAME=PATH, PATH a folder holding project1/")
        chosen[name] = Path(path).resolve()
    if args.family:
        chosen.update(calibration.family(KIT))
    IMPLS.clear()
    IMPLS.update(chosen)
    jobs = [(impl, "project1", FIRST_SEED + s) for s in range(args.seeds) for impl in IMPLS]
    if "solutions" in IMPLS and not args.only:
        jobs += [("solutions", "project2", FIRST_SEED + s) for s in range(args.seeds)]
    runs: dict[tuple[str, str], list[float]] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        for impl, project, seed, got, took in pool.map(lambda job: one(*job), jobs):
            print(f"{impl:<9} {project} seed {seed}: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in got.items())
                  + f"  ({took:.1f} s)", flush=True)
            if args.log:
                append_line(args.log, json.dumps({"impl": impl, "project": project, "seed": seed,
                                                  "protocol": protocol(project), "runs": got, "seconds": round(took, 1)}))
            for key, value in got.items():
                runs.setdefault((impl, key), []).append(value)
            seconds.setdefault((impl, project), []).append(took)

    summary = []
    print(f"\n{args.seeds} seeds from {FIRST_SEED}; protocol P1 {thresholds.P1}; circle {thresholds.P2_CIRCLE}")
    print(f"{'probe':<12} {'impl':<10} {'min':>7} {'mean':>7} {'std':>6} {'max':>7} {'threshold':>10} {'margin':>7}")
    for (impl, key), values in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        entry = {"probe": key, "impl": impl, "min": min(values), "mean": statistics.mean(values),
                 "std": statistics.pstdev(values), "max": max(values), "threshold": threshold_of(key),
                 "runs": values}
        entry["margin"] = entry["min"] - entry["threshold"]
        summary.append(entry)
        print(f"{key:<12} {impl:<10} {100 * entry['min']:6.1f}% {100 * entry['mean']:6.1f}% {100 * entry['std']:5.1f} "
              f"{100 * entry['max']:6.1f}% {100 * entry['threshold']:9.1f}% {100 * entry['margin']:6.1f}")
    for (impl, project), values in sorted(seconds.items()):
        print(f"{impl:<9} {project}: {statistics.mean(values):.1f} s per seed (training probes, worker included)")
    print(f"wall time {time.perf_counter() - start:.0f} s")
    if args.json:
        write_json(args.json, {"seeds": args.seeds, "first_seed": FIRST_SEED, "p1": thresholds.P1,
                               "circle": thresholds.P2_CIRCLE, "summary": summary})
    faults = {e["impl"] for e in summary if e["impl"].startswith(calibration.FAULT)}
    for fault in sorted(faults):
        caught = [e["probe"] for e in summary if e["impl"] == fault and e["min"] < e["threshold"]]
        print(f"{fault}: " + (f"below threshold in {', '.join(caught)}" if caught else "NOT CAUGHT by any probe"))
    low = [e for e in summary if e["margin"] < 0 and e["impl"] not in faults]
    if low:
        print("below threshold: " + ", ".join(f"{e['probe']} ({e['impl']})" for e in low))
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
