"""The kit's benchmarks (pytest-benchmark): ``python -m pytest benchmarks --benchmark-only`` from the kit root.

Not part of ``python -m pytest`` (its ``testpaths`` is ``tests``). Every case runs on CPU and on CUDA; the CUDA
cases skip where PyTorch sees no GPU. What this file adds to pytest-benchmark:

* ``--threads N`` (default 1): PyTorch's CPU threads for every case;
* the timer: CPU cases are timed in CPU time of this process (``time.process_time``), which other programs on a
  shared machine disturb far less than elapsed time; with ``--threads`` > 1, CUDA cases and the data cases (which
  read files) are timed in elapsed time (``time.perf_counter``), CUDA ones after ``torch.cuda.synchronize()``;
* results stored under ``benchmarks/results/`` (``--benchmark-autosave``, ``--benchmark-compare``);
* the machine in the results: PyTorch's version and threads, the GPU, the load average, the timer;
* project 2's ratios, scratch framework / torch.nn + autograd, per group (``benchmarks/report.py``: the ratio of
  the best rounds, and of the medians): printed after the tables and written into the results (``"ratios"``, and
  ``extra_info["ratio"]`` of each scratch case). ``benchmarks/report.py`` turns a results file into a ratio table
  and a bar chart.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_STORAGE = "file://./.benchmarks"  # pytest-benchmark's default, replaced by benchmarks/results


def _report_module():
    spec = importlib.util.spec_from_file_location("_kit_benchmark_report", HERE / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _report_module()

def pytest_addoption(parser):
    parser.addoption("--threads", type=int, default=1, help="PyTorch CPU threads for every case (default 1)")


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA device; skipped without one")
    config.addinivalue_line("markers", "wall_clock: timed in elapsed time even on CPU (the case reads files)")
    if getattr(config.option, "benchmark_storage", None) == DEFAULT_STORAGE:
        config.option.benchmark_storage = f"file://{RESULTS}"
    torch.set_num_threads(config.getoption("--threads"))


def timer_for(item) -> str:
    """``time.process_time`` for a CPU case on one thread, ``time.perf_counter`` otherwise (see the docstring)."""
    callspec = getattr(item, "callspec", None)
    device = callspec.params.get("device", "cpu") if callspec else "cpu"
    if device != "cpu" or item.get_closest_marker("wall_clock") or torch.get_num_threads() > 1:
        return "perf_counter"
    return "process_time"


def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.benchmark(timer=getattr(time, timer_for(item))))
    # project 2's repeats run scratch, torch, torch, scratch, …: flip the pair of every odd repeat
    for i in range(len(items) - 1):
        a, b = items[i], items[i + 1]
        params_a, params_b = (getattr(x, "callspec", None) for x in (a, b))
        if (params_a and params_b and params_a.params.get("side") == "scratch" and params_b.params.get("side") == "torch"
                and params_a.params.get("repeat", 0) % 2 == 1 and a.nodeid.replace("scratch]", "torch]") == b.nodeid):
            items[i], items[i + 1] = b, a


@pytest.fixture(autouse=True)
def _timer_in_extra_info(request):
    yield
    bench = request.node.funcargs.get("benchmark")
    if bench is not None and hasattr(bench, "extra_info"):
        bench.extra_info.setdefault("timer", timer_for(request.node))


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["torch"] = {
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    machine_info["cpu_count"] = os.cpu_count()
    machine_info["load_average"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def pytest_benchmark_update_json(config, benchmarks, output_json):
    rows = report.ratio_rows(output_json["benchmarks"])
    output_json["ratios"] = rows
    by_group = {row["group"]: row for row in rows}
    for bench in output_json["benchmarks"]:
        row = by_group.get(bench["group"])
        if row and bench["extra_info"].get("side") == "scratch":
            bench["extra_info"]["ratio"] = row["ratio"]


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    entries = [{"group": b.group, "extra_info": b.extra_info, "stats": {"median": b.stats.median, "min": b.stats.min}}
               for b in session.benchmarks if not b.has_error]
    rows = report.ratio_rows(entries)
    if rows:
        terminalreporter.write_sep("-", "project 2: scratch framework / torch.nn + autograd")
        for line in report.ratio_table(rows).splitlines():
            terminalreporter.write_line(line)
