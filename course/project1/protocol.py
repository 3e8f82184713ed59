"""Project 1's experimental protocol: train the digit-pair networks over seeded rounds and collect the numbers.

Round ``r`` of a run seeded with ``seed`` draws fresh pairs with
``generate_pair_sets(pairs, seed=round_seed(seed, r))`` and, for every network, calls
``torch.manual_seed(round_seed(seed, r))`` right before constructing it (so each network starts from a fresh,
reproducible initialisation) and passes the same seed to ``train_model`` (batch order, augmentation).
All networks of a round see the same pairs and the same training settings.

The implementation (``models.py`` and ``train.py``) is loaded from a folder with
:func:`course.submission.load_module`, so the same code runs the reference solution and a student's work; every
call into it goes through :func:`course.submission.student_code`, so a stub or a bug becomes a message.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from course.data import generate_pair_sets
from course.errors import CourseError
from course.project1.spec import NETS, check_output
from course.protocol import mean_std, round_seed
from course.submission import load_module, student_code

# The settings every network is trained with (the same for all three).
DEFAULTS = {"epochs": 40, "batch_size": 50, "lr": 5e-3, "aux_weight": 1.0}


@dataclass
class NetResult:
    """What one network gave over the rounds (lists have one entry per round)."""

    key: str
    label: str
    parameters: int = 0
    test_accuracy: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    digit_accuracy: list = field(default_factory=list)  # empty for networks without digit logits
    seconds: list = field(default_factory=list)  # wall-clock seconds of train_model
    cpu_seconds: list = field(default_factory=list)  # CPU time of this process during train_model
    histories: list = field(default_factory=list)  # per round: the list of per-epoch dicts


def load_implementation(impl):
    """``(models, train)`` modules of ``<impl>/project1/``; a missing class or function is a clear error."""
    models, train = load_module(impl, "project1", "models"), load_module(impl, "project1", "train")
    for net in NETS.values():
        if not hasattr(models, net.class_name):
            raise CourseError(f"{models.__file__} defines no class {net.class_name}; keep the names of the handout")
    if not callable(getattr(train, "train_model", None)):
        raise CourseError(f"{train.__file__} defines no function train_model; keep the names of the handout")
    return models, train


def _folder(module) -> Path:
    return Path(module.__file__).parent


def _accepted(fn, wanted: dict) -> dict:
    """The keyword arguments of ``wanted`` that ``fn`` accepts (all of them if it takes ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(wanted)
    return {k: v for k, v in wanted.items() if k in params}


def evaluate(model, pair_input, target, classes, batch_size: int = 1000):
    """``(target accuracy, digit accuracy or None)`` in evaluation mode, without gradients; checks the outputs
    against the contract of :mod:`course.project1.spec`."""
    name = type(model).__name__
    model.eval()
    correct, digit_correct, has_digits = 0, 0, None
    with torch.no_grad():
        for start in range(0, len(pair_input), batch_size):
            x = pair_input[start:start + batch_size]
            with student_code(f"{name}.forward", Path(inspect.getfile(type(model))).parent):
                out = model(x)
            try:
                target_logits, digit_logits = check_output(out, name, len(x))
            except (TypeError, ValueError) as exc:
                raise CourseError(str(exc)) from None
            has_digits = digit_logits is not None
            correct += int((target_logits.argmax(1) == target[start:start + batch_size]).sum())
            if has_digits:
                digit_correct += int((digit_logits.argmax(2) == classes[start:start + batch_size]).sum())
    n = len(pair_input)
    return correct / n, (digit_correct / (2 * n) if has_digits else None)


def _train_one(models, train, key: str, rs: int, data, settings: dict, device) -> dict:
    """Build network ``key`` with seed ``rs``, train it on ``data`` (the six tensors of a round), score it."""
    train_input, train_target, train_classes, test_input, test_target, test_classes = (t.to(device) for t in data)
    name = NETS[key].class_name
    torch.manual_seed(rs)
    with student_code(f"{name}()", _folder(models)):
        model = getattr(models, name)().to(device)
    optional = _accepted(train.train_model, {
        "test_input": test_input, "test_target": test_target, "test_classes": test_classes, "seed": rs})
    start, cpu_start = time.perf_counter(), time.process_time()
    with student_code("train_model", _folder(train)):
        history = train.train_model(model, train_input, train_target, train_classes, **settings, **optional)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    test_acc, digit_acc = evaluate(model, test_input, test_target, test_classes)
    train_acc, _ = evaluate(model, train_input, train_target, train_classes)
    return {"parameters": sum(p.numel() for p in model.parameters()), "test_accuracy": test_acc,
            "train_accuracy": train_acc, "digit_accuracy": digit_acc, "seconds": seconds,
            "cpu_seconds": cpu_seconds, "history": list(history or [])}


def _train_in_worker(impl, key, rs, pairs, data_dir, settings, device, threads):
    """One network of one round in a pool process: load the implementation, draw the round's pairs, train."""
    torch.set_num_threads(threads)
    models, train = load_implementation(impl)
    return _train_one(models, train, key, rs, generate_pair_sets(pairs, seed=rs, data_dir=data_dir), settings,
                      torch.device(device))


def _record(res: NetResult, out: dict) -> None:
    res.parameters = out["parameters"]
    res.test_accuracy.append(out["test_accuracy"])
    res.train_accuracy.append(out["train_accuracy"])
    if out["digit_accuracy"] is not None:
        res.digit_accuracy.append(out["digit_accuracy"])
    res.seconds.append(out["seconds"])
    res.cpu_seconds.append(out["cpu_seconds"])
    res.histories.append(out["history"])


def run_rounds(impl, nets, *, rounds: int, seed: int = 0, pairs: int = 1000, device=None, data_dir=None,
               settings: dict | None = None, progress=None, jobs: int = 1, threads: int = 1) -> dict[str, NetResult]:
    """Train every network of ``nets`` (keys of ``NETS``) for ``rounds`` rounds; return a ``NetResult`` each.

    ``impl`` is the implementation folder (see :func:`load_implementation`). ``settings`` are the keyword
    arguments of ``train_model`` (default ``DEFAULTS``); ``progress(key, round, result)`` is called after each
    trained network. With ``jobs`` > 1 the trainings run in that many processes (``threads`` PyTorch threads
    each); every training is seeded by its round alone, so the numbers are the same as with ``jobs=1``.
    """
    settings = dict(DEFAULTS if settings is None else settings)
    device = torch.device(device or "cpu")
    unknown = [k for k in nets if k not in NETS]
    if unknown:
        raise CourseError(f"unknown network(s) {', '.join(unknown)}; choose among {', '.join(NETS)}")
    models, train = load_implementation(impl)  # fails before any training when a file or a name is missing
    results = {key: NetResult(key, NETS[key].label) for key in nets}
    outputs: dict[tuple[int, str], dict] = {}

    def done(key, r, out):
        outputs[r, key] = out
        if progress is not None:
            shown = NetResult(key, NETS[key].label)
            _record(shown, out)
            progress(key, r, shown)

    if jobs <= 1 or rounds * len(nets) == 1:
        for r in range(rounds):
            rs = round_seed(seed, r)
            data = generate_pair_sets(pairs, seed=rs, data_dir=data_dir)
            for key in nets:
                done(key, r, _train_one(models, train, key, rs, data, settings, device))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_train_in_worker, str(impl), key, round_seed(seed, r), pairs, data_dir, settings,
                                   str(device), threads): (r, key)
                       for r in range(rounds) for key in nets}
            try:
                for future in as_completed(futures):
                    r, key = futures[future]
                    done(key, r, future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    for r in range(rounds):
        for key in nets:
            _record(results[key], outputs[r, key])
    return results


def curves(result: NetResult, metric: str) -> list[list[float]]:
    """Per round, the per-epoch values of ``metric`` (rounds whose history lacks it are left out)."""
    out = []
    for history in result.histories:
        values = [float(e[metric]) for e in history if isinstance(e, dict) and metric in e]
        if values and len(values) == len(history):
            out.append(values)
    return out


def result_rows(results: dict[str, NetResult], seed: int) -> tuple[list[dict], list[dict]]:
    """One row per network and round, and one per network, round and epoch."""
    rows, epoch_rows = [], []
    for key, res in results.items():
        for r in range(len(res.test_accuracy)):
            rows.append({
                "net": key, "round": r, "seed": seed, "parameters": res.parameters,
                "test_accuracy": res.test_accuracy[r], "train_accuracy": res.train_accuracy[r],
                "digit_accuracy": res.digit_accuracy[r] if res.digit_accuracy else "",
                "seconds": round(res.seconds[r], 3), "cpu_seconds": round(res.cpu_seconds[r], 3),
            })
            for entry in res.histories[r]:
                if isinstance(entry, dict):
                    epoch_rows.append({"net": key, "round": r, **{
                        k: entry.get(k, "") for k in ("epoch", "loss", "train_accuracy", "test_accuracy",
                                                      "test_loss")}})
    return rows, epoch_rows


def summary(results: dict[str, NetResult]) -> dict:
    """Mean and std per network, as plain numbers (fractions, not percent)."""
    out = {}
    for key, res in results.items():
        entry = {"label": res.label, "parameters": res.parameters, "rounds": len(res.test_accuracy)}
        for metric in ("test_accuracy", "train_accuracy", "digit_accuracy", "seconds", "cpu_seconds"):
            values = getattr(res, metric)
            if values:
                entry[metric + "_mean"], entry[metric + "_std"] = mean_std(values)
        out[key] = entry
    return out
