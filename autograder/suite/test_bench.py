"""Benchmarks of project 2 (tasks p2.bench.*, no points): your framework timed against torch.nn + autograd on the
same computation, measured in the same run on the same machine; the figure goes to the report and the feedback.

A benchmark never takes points away: these tests pass whether or not a figure comes out. A framework that fails
its correctness tasks, or computes something else than torch.nn on the benchmark's input, is not measured (the
report says why). The logic is in autograder/bench.py; CUDA cases run where the grader has a GPU.
"""

import pytest

from autograder import bench
from autograder.plugin import task

pytestmark = pytest.mark.bench


@task("p2.bench.circle", timeout=60)
@pytest.mark.parametrize("device", bench.DEVICES)
def test_bench_circle(p2, request, device):
    bench.circle(p2, request.config, device)


@task("p2.bench.conv", timeout=60)
@pytest.mark.parametrize("device", bench.DEVICES)
def test_bench_conv(p2, request, device):
    bench.conv(p2, request.config, device)
