"""Data: ``generate_pair_sets(1000)`` from the bundled subset (cold, from the disk cache, cached in memory) and
from full-size MNIST IDX files (60,000 + 10,000 digits, written by the benchmark into a temporary folder), the six
tensors moved to the device. Timed in elapsed time (the cold cases read files).

* **cold**: nothing cached: the bundled subset's CSV is parsed (or the IDX files read) and pooled;
* **disk cache**: the parsed subset is in the cache folder, nothing in memory (a fresh ``course run``);
* **cached**: the pooled digits are in memory (every round of a run after the first).
"""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pytest
from devices import DEVICES, sync

from course import data

pytestmark = pytest.mark.wall_clock
PAIRS = 1000
FULL = {"train": 60_000, "test": 10_000}


def write_idx(path, array: np.ndarray) -> None:
    """One IDX file of unsigned bytes (magic 0x0800 + dimensions), as MNIST ships them."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    """Full-size MNIST-like IDX files: random digits, labels 0-9 in turn."""
    folder = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    for prefix, split in (("train", "train"), ("t10k", "test")):
        n = FULL[split]
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return folder


def forget_memory() -> None:
    data._load.cache_clear()
    data._pooled.cache_clear()


def pair_sets(device, data_dir=None):
    sets = [t.to(device) for t in data.generate_pair_sets(PAIRS, seed=0, data_dir=data_dir)]
    sync(device)
    return sets


def describe(benchmark, device, label):
    benchmark.group = f"data {device}"
    benchmark.extra_info.update(case="data", device=device, pairs=PAIRS, label=label)


@pytest.mark.parametrize("device", DEVICES)
def test_bundled_cold(benchmark, device, tmp_path, monkeypatch):
    fresh = (tmp_path / f"cache{i}" for i in itertools.count())

    def setup():
        monkeypatch.setenv("COURSE_CACHE_DIR", str(next(fresh)))  # an empty cache folder every round
        forget_memory()

    describe(benchmark, device, "bundled subset, cold (CSV parsed)")
    benchmark.pedantic(pair_sets, args=(device,), setup=setup, rounds=3)
    forget_memory()


@pytest.mark.parametrize("device", DEVICES)
def test_bundled_disk_cache(benchmark, device, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    forget_memory()
    pair_sets(device)  # fills the cache folder
    describe(benchmark, device, "bundled subset, from the disk cache")
    benchmark.pedantic(pair_sets, args=(device,), setup=forget_memory, rounds=10)
    forget_memory()


@pytest.mark.parametrize("device", DEVICES)
def test_bundled_cached(benchmark, device):
    pair_sets(device)
    describe(benchmark, device, "bundled subset, cached in memory")
    benchmark(pair_sets, device)


@pytest.mark.parametrize("device", DEVICES)
def test_full_mnist_cold(benchmark, device, mnist_dir):
    describe(benchmark, device, "full-size IDX files (70,000 digits), cold")
    benchmark.pedantic(pair_sets, args=(device, mnist_dir), setup=forget_memory, rounds=5)
    forget_memory()


@pytest.mark.parametrize("device", DEVICES)
def test_full_mnist_cached(benchmark, device, mnist_dir):
    pair_sets(device, mnist_dir)
    describe(benchmark, device, "full-size IDX files (70,000 digits), cached in memory")
    benchmark(pair_sets, device, mnist_dir)
    forget_memory()
