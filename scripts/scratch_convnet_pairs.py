"""Project 1's baseline trained with project 2's from-scratch framework (Conv2d, MaxPool2d, Flatten, no autograd).

The network is the plain 2-channel baseline (conv 3×3 2→32, ReLU, max-pool 2, conv 3×3 32→64, ReLU, max-pool 2,
flatten, linear 256→128, ReLU, linear 128→2; 52,258 parameters), trained with the framework's
``LossCrossEntropy`` and ``Adam`` on 1,000 pairs per round (``generate_pair_sets(1000, seed=round_seed(0, r))``,
inputs scaled by 1/255), and evaluated on the round's 1,000 test pairs. Everything runs under
``torch.set_grad_enabled(False)``: no autograd anywhere.

    python scripts/scratch_convnet_pairs.py [--rounds 10] [--epochs 25] [--impl solutions]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course.data import generate_pair_sets  # noqa: E402
from course.submission import load_module  # noqa: E402
from course.protocol import format_mean_std, round_seed  # noqa: E402


def baseline(fw):
    return fw.Sequential(
        fw.Conv2d(2, 32, 3), fw.ReLU(), fw.MaxPool2d(2),
        fw.Conv2d(32, 64, 3), fw.ReLU(), fw.MaxPool2d(2),
        fw.Flatten(), fw.Linear(256, 128), fw.ReLU(), fw.Linear(128, 2),
    )


def accuracy(model, x, y) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum()) for i in range(0, len(x), 500))
    model.train()
    return correct / len(x)


def one_round(fw, r: int, epochs: int, batch_size: int, lr: float) -> tuple[float, float, float]:
    seed = round_seed(0, r)
    train_input, train_target, _, test_input, test_target, _ = generate_pair_sets(1000, seed=seed)
    train_input, test_input = train_input / 255, test_input / 255
    torch.manual_seed(seed)
    model = baseline(fw)
    criterion, optimizer = fw.LossCrossEntropy(), fw.Adam(model.param(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in torch.randperm(len(train_input), generator=generator).split(batch_size):
            criterion(model(train_input[batch]), train_target[batch])
            optimizer.zero_grad()
            model.backward(criterion.backward())
            optimizer.step()
    seconds = time.perf_counter() - start
    return accuracy(model, test_input, test_target), accuracy(model, train_input, train_target), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--impl", default="solutions", help="folder holding project2/framework.py")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    fw = load_module(args.impl, "project2", "framework")
    tests = []
    with torch.set_grad_enabled(False):
        for r in range(args.rounds):
            test_acc, train_acc, seconds = one_round(fw, r, args.epochs, args.batch_size, args.lr)
            tests.append(test_acc)
            print(f"round {r + 1:2d}/{args.rounds}: train {100 * train_acc:5.1f}%  test {100 * test_acc:5.1f}%  "
                  f"({seconds:.1f} s)", flush=True)
    print(f"scratch-framework baseline, {args.rounds} rounds, {args.epochs} epochs, Adam lr {args.lr}, batch "
          f"{args.batch_size}: test accuracy {format_mean_std(tests)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
