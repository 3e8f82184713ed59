"""CPU cost of project 1's training tasks on one implementation, before issue 23 and now, side by side: the kit's
three nets under its fixed protocol (5 epochs before, autograder/thresholds.py's now) and p1.train_model (before:
the call epochs 5, batch 50, lr 2e-3, aux_weight 1; now: the epoch budget of thresholds.py and the implementation's
own defaults), interleaved, CPU seconds of this process with one thread (less sensitive to a shared machine's load
than wall time). No sandbox: trusted code only. With --whole, also the wall time of the whole grading
(`autograder check IMPL --all`, on a quiet machine: its tasks run one after another in one-thread workers, so it
moves with the training's CPU) and the ratio before / now (the other tasks did not change: before = whole now -
training now + training before).

    python scripts/train_model_cost.py solutions 3 --whole
    python scripts/train_model_cost.py tests/fixtures/plain 3
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

KIT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT))

from autograder import thresholds  # noqa: E402
from autograder.sandbox.probes import project1 as probes  # noqa: E402
from course.data import BUNDLED, generate_pair_sets  # noqa: E402


def load(name: str, impl: Path):
    spec = importlib.util.spec_from_file_location(name, impl / "project1" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # train.py may import models
    spec.loader.exec_module(module)
    return module


BEFORE_EPOCHS = 5  # the kit's protocol before issue 23


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    whole = "--whole" in argv
    argv = [a for a in argv if a != "--whole"]
    impl, reps = Path(argv[0]).resolve(), int(argv[1]) if len(argv) > 1 else 3
    torch.set_num_threads(1)
    modules = {"models": load("models", impl), "train": load("train", impl)}
    ctx = type("Ctx", (), {"module": lambda self, name: modules[name]})()
    cfg = thresholds.P1
    ti, tt, tc, xi, _, _ = generate_pair_sets(cfg["pairs"], seed=1000, data_dir=BUNDLED)

    def kit(epochs):
        for net in ("baseline", "siamese", "aux"):
            probes.train_kit(ctx, net, ti, tt, tc, xi, epochs=epochs, batch_size=cfg["batch_size"],
                             lr=cfg["lr"], aux_weight=cfg["aux_weight"], seed=1)

    def before():
        model = probes.make_net(ctx, "aux", 2)
        modules["train"].train_model(model, ti, tt, tc, epochs=5, batch_size=50, lr=2e-3, aux_weight=1.0)

    def now():
        probes.train_student(ctx, "aux", ti, tt, tc, xi, epochs=cfg["train_model_epochs"], seed=2)

    seconds: dict[str, list[float]] = {"kit before": [], "kit now": [], "before": [], "now": []}
    for _ in range(reps):
        for name, fn in (("kit before", lambda: kit(BEFORE_EPOCHS)), ("kit now", lambda: kit(cfg["epochs"])),
                         ("before", before), ("now", now)):
            start = time.process_time()
            fn()
            seconds[name].append(time.process_time() - start)
    kb, kn, b, n = (statistics.median(seconds[name]) for name in ("kit before", "kit now", "before", "now"))
    print({name: [round(s, 1) for s in values] for name, values in seconds.items()})
    print(f"{impl.name}: before, kit {kb:.1f} s ({BEFORE_EPOCHS} epochs) + train_model {b:.1f} s = {kb + b:.1f} s; "
          f"now, kit {kn:.1f} s ({cfg['epochs']} epochs) + train_model {n:.1f} s ({cfg['train_model_epochs']} epochs, "
          f"own defaults) = {kn + n:.1f} s; training ratio {(kn + n) / (kb + b):.2f}")
    if whole:
        walls = []
        for _ in range(reps):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "autograder", "check", str(impl), "--all"], check=False,
                           stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - start)
        wall = statistics.median(walls)
        old = wall - (kn + n) + (kb + b)
        print(f"whole grading (autograder check --all, wall, median of {reps}: {[round(w, 1) for w in walls]}): "
              f"{wall:.1f} s now, {old:.1f} s before (now - training now + training before); ratio {wall / old:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
