"""Training time of the circle network: the from-scratch framework vs the identical torch.nn + autograd run.

Both runs train the handout network (2 → 25 → 25 → 25 → 2, Tanh, MSE against one-hot targets) on the same
1,000 centred points, from the same initial weights (the scratch model's weights are copied into the
torch.nn model), visiting the same mini-batches in the same order, with the same optimiser
(``torch.optim.SGD``/``Adam`` vs the framework's ``SGD``/``Adam``, same hyperparameters) and the same
bookkeeping (the loss is read back as a Python float every step: ``float(loss)`` / ``loss.item()``). Only the forward/backward machinery
differs. The final losses are printed as a check that the two runs really are the same computation.

Timings are noisy on a shared machine, so the two runs are interleaved ``--repeats`` times and the
ratio is the median of the per-repeat ratios (and the median times are shown too).

    python scripts/bench_circle_speed.py [--epochs 20] [--batch-size 10] [--optimizer sgd] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from course.data import generate_disc_set
from course.submission import load_module


def scratch_run(fw, weights, x, y, orders, batch_size, optimizer, lr, momentum):
    layers = [fw.Linear(2, 25), fw.Tanh(), fw.Linear(25, 25), fw.Tanh(), fw.Linear(25, 25), fw.Tanh(),
              fw.Linear(25, 2)]
    model = fw.Sequential(*layers)
    for (p, _), w in zip(model.param(), weights):
        p.copy_(w)
    opt = fw.SGD(model.param(), lr=lr, momentum=momentum) if optimizer == "sgd" else fw.Adam(model.param(), lr=lr)
    criterion = fw.LossMSE()
    n = len(x)
    total = 0.0
    start = time.perf_counter()
    with torch.set_grad_enabled(False):
        for order in orders:
            total = 0.0
            for s in range(0, n, batch_size):
                idx = order[s:s + batch_size]
                loss = criterion(model(x[idx]), y[idx])
                opt.zero_grad()
                model.backward(criterion.backward())
                opt.step()
                total += float(loss) * len(idx)
    return time.perf_counter() - start, total / n


def torch_run(weights, x, y, orders, batch_size, optimizer, lr, momentum):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(2, 25), nn.Tanh(), nn.Linear(25, 25), nn.Tanh(), nn.Linear(25, 25), nn.Tanh(),
                          nn.Linear(25, 2))
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(w)
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.MSELoss()
    n = len(x)
    total = 0.0
    start = time.perf_counter()
    for order in orders:
        total = 0.0
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            loss = criterion(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
    return time.perf_counter() - start, total / n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--lr", type=float, default=None, help="default 0.1 for sgd, 3e-3 for adam")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for both runs (default 1)")
    parser.add_argument("--impl", default="solutions")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 3e-3)
    torch.set_num_threads(args.threads)

    fw = load_module(args.impl, "project2", "framework")
    points, labels = generate_disc_set(1000, seed=args.seed)
    x = points - 0.5
    y = torch.zeros(len(labels), 2)
    y[torch.arange(len(labels)), labels] = 1
    gen = torch.Generator().manual_seed(args.seed)
    orders = [torch.randperm(len(x), generator=gen) for _ in range(args.epochs)]
    torch.manual_seed(args.seed)
    init = fw.Sequential(fw.Linear(2, 25), fw.Linear(25, 25), fw.Linear(25, 25), fw.Linear(25, 2))
    weights = [p.clone() for p, _ in init.param()]

    steps = args.epochs * ((len(x) + args.batch_size - 1) // args.batch_size)
    print(f"circle network 2-25-25-25-2 (Tanh, MSE), {len(x)} points, {args.epochs} epochs, batch {args.batch_size} "
          f"({steps} steps), {args.optimizer} lr {lr}" + (f" momentum {args.momentum}" if args.optimizer == "sgd" else "")
          + f", torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.repeats} interleaved repeats")
    # warm-up (allocator, lazy initialisation of kernels)
    scratch_run(fw, weights, x, y, orders[:1], args.batch_size, args.optimizer, lr, args.momentum)
    torch_run(weights, x, y, orders[:1], args.batch_size, args.optimizer, lr, args.momentum)
    scratch_times, torch_times, ratios = [], [], []
    for r in range(args.repeats):
        runs = [("scratch", scratch_run, (fw,)), ("torch", torch_run, ())]
        if r % 2:
            runs.reverse()
        result = {}
        for name, fn, extra in runs:
            result[name] = fn(*extra, weights, x, y, orders, args.batch_size, args.optimizer, lr, args.momentum)
        scratch_times.append(result["scratch"][0])
        torch_times.append(result["torch"][0])
        ratios.append(result["scratch"][0] / result["torch"][0])
        print(f"repeat {r + 1}: scratch {result['scratch'][0]:.3f}s  torch.nn+autograd {result['torch'][0]:.3f}s  "
              f"ratio {ratios[-1]:.3f}  (final epoch loss {result['scratch'][1]:.6f} vs {result['torch'][1]:.6f})")
    print(f"median: scratch {statistics.median(scratch_times):.3f}s ({1e6 * statistics.median(scratch_times) / steps:.0f} "
          f"µs/step), torch.nn+autograd {statistics.median(torch_times):.3f}s "
          f"({1e6 * statistics.median(torch_times) / steps:.0f} µs/step)")
    print(f"time ratio scratch / torch.nn+autograd: median {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
