"""CPU cost of project 1's training tasks on one implementation: the kit's three nets (its fixed protocol) and
p1.train_model, at the call before issue 23 (epochs 5, batch 50, lr 2e-3, aux_weight 1) and at today's (the epoch
budget of autograder/thresholds.py, the implementation's own defaults), interleaved, CPU seconds of this process
with one thread (less sensitive to a shared machine's load than wall time). No sandbox: trusted code only.

    python scripts/train_model_cost.py solutions 3
    python scripts/train_model_cost.py tests/fixtures/plain 3
"""

from __future__ import annotations

import importlib.util
import statistics
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


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    impl, reps = Path(argv[0]).resolve(), int(argv[1]) if len(argv) > 1 else 3
    torch.set_num_threads(1)
    modules = {"models": load("models", impl), "train": load("train", impl)}
    ctx = type("Ctx", (), {"module": lambda self, name: modules[name]})()
    cfg = thresholds.P1
    ti, tt, tc, xi, _, _ = generate_pair_sets(cfg["pairs"], seed=1000, data_dir=BUNDLED)

    def kit():
        for net in ("baseline", "siamese", "aux"):
            probes.train_kit(ctx, net, ti, tt, tc, xi, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                             lr=cfg["lr"], aux_weight=cfg["aux_weight"], seed=1)

    def before():
        model = probes.make_net(ctx, "aux", 2)
        modules["train"].train_model(model, ti, tt, tc, epochs=5, batch_size=50, lr=2e-3, aux_weight=1.0)

    def now():
        probes.train_student(ctx, "aux", ti, tt, tc, xi, epochs=cfg["train_model_epochs"], seed=2)

    seconds: dict[str, list[float]] = {"kit": [], "before": [], "now": []}
    for _ in range(reps):
        for name, fn in (("kit", kit), ("before", before), ("now", now)):
            start = time.process_time()
            fn()
            seconds[name].append(time.process_time() - start)
    k, b, n = (statistics.median(seconds[name]) for name in ("kit", "before", "now"))
    print({name: [round(s, 1) for s in values] for name, values in seconds.items()})
    print(f"{impl.name}: kit {k:.1f} s + train_model {b:.1f} s = {k + b:.1f} s before; train_model {n:.1f} s "
          f"({cfg['train_model_epochs']} epochs, own defaults) = {k + n:.1f} s now; ratio {(k + n) / (k + b):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
