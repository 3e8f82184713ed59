"""Project 1: one training epoch and the inference of each of the three reference networks (solutions/), 1,000
pairs, on CPU and CUDA.

* training: ``train.train_model(model, ..., epochs=1)`` with the protocol's settings (batch 50, AdamW with the
  one-cycle schedule, augmentation), each round on a freshly built network (seeded), as ``course run project1``
  trains it;
* inference: ``train.accuracy(model, test pairs)``: evaluation mode, no gradients, one batch of 1,000 pairs.
"""

from __future__ import annotations

import pytest
import torch
from devices import DEVICES, sync

from course.data import generate_pair_sets
from course.project1.protocol import DEFAULTS, load_implementation
from course.project1.spec import NETS

PAIRS = 1000


@pytest.fixture(scope="module")
def implementation():
    return load_implementation("solutions")


@pytest.fixture(scope="module")
def pairs():
    return generate_pair_sets(PAIRS, seed=0)


def build(models, key, device):
    torch.manual_seed(0)
    return getattr(models, NETS[key].class_name)().to(device)


@pytest.mark.parametrize("key", list(NETS))
@pytest.mark.parametrize("device", DEVICES)
def test_training_epoch(benchmark, implementation, pairs, device, key):
    models, train = implementation
    train_input, train_target, train_classes = (t.to(device) for t in pairs[:3])
    settings = {k: v for k, v in DEFAULTS.items() if k != "epochs"}

    def setup():
        return (build(models, key, device), train_input, train_target, train_classes), {}

    def epoch(model, x, target, classes):
        train.train_model(model, x, target, classes, epochs=1, seed=0, **settings)
        sync(device)

    benchmark.group = f"p1 training epoch {device}"
    benchmark.extra_info.update(case="p1 training", net=key, device=device, pairs=PAIRS,
                                label=f"{NETS[key].class_name}: one training epoch, {PAIRS} pairs")
    benchmark.pedantic(epoch, setup=setup, rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("key", list(NETS))
@pytest.mark.parametrize("device", DEVICES)
def test_inference(benchmark, implementation, pairs, device, key):
    models, train = implementation
    test_input, test_target = pairs[3].to(device), pairs[4].to(device)
    model = build(models, key, device)

    def infer():
        train.accuracy(model, test_input, test_target)
        sync(device)

    infer()
    benchmark.group = f"p1 inference {device}"
    benchmark.extra_info.update(case="p1 inference", net=key, device=device, pairs=PAIRS,
                                label=f"{NETS[key].class_name}: inference, {PAIRS} pairs")
    benchmark(infer)
