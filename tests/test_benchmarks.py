"""The kit's benchmarks (benchmarks/) stay out of the default run, run their cases (untimed here:
--benchmark-disable), skip CUDA cleanly without a GPU, and benchmarks/report.py turns results into ratios."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import torch

from course.submission import KIT_ROOT

BENCHMARKS = KIT_ROOT / "benchmarks"


def pytest_run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=KIT_ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location("benchmark_report", BENCHMARKS / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_run_collects_tests_only():
    """``python -m pytest`` looks in ``testpaths`` only; the benchmarks live outside it, with their own conftest."""
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11
    options = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["testpaths"] == ["tests"]
    assert "benchmarks" not in options.get("addopts", "")
    assert (BENCHMARKS / "conftest.py").is_file() and not list((KIT_ROOT / "tests").glob("test_bench_*.py"))
    assert sorted(p.name for p in BENCHMARKS.glob("test_*.py")) == [
        "test_bench_data.py", "test_bench_project1.py", "test_bench_project2.py"]


def test_benchmark_cases_run_and_cuda_skips_cleanly():
    """One circle and one layer case of each side, run once each without timing; the CUDA ones skip (or run)."""
    proc = pytest_run("benchmarks/test_bench_project2.py", "--benchmark-disable", "-q", "-rs",
                      "-k", "r0 and ((circle_epoch and 1000) or conv2d)")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    if torch.cuda.is_available():
        assert "8 passed" in out, out[-2000:]
    else:
        assert "4 passed, 4 skipped" in out and "needs a CUDA device" in out, out[-2000:]


def fake_results(report):
    def bench(group, case, side, median, batch_size=None, device="cpu", repeat=0):
        return {"group": group, "name": f"{case}-{side}-{repeat}",
                "extra_info": {"case": case, "side": side, "device": device, "batch_size": batch_size, "repeat": repeat},
                "stats": {"median": median, "min": 0.8 * median, "iqr": median / 10, "rounds": 7}}

    return {"datetime": "2026-11-23T12:00:00", "machine_info": {"node": "ci", "cpu_count": 2,
                                                                 "torch": {"version": "2.13.0", "threads": 1}},
            "benchmarks": [bench("c10", "circle", "scratch", 0.04, 10), bench("c10", "circle", "torch", 0.1, 10),
                           bench("c10", "circle", "torch", 0.1, 10, repeat=1),
                           bench("c10", "circle", "scratch", 0.05, 10, repeat=1),
                           bench("c10", "circle", "scratch", 0.06, 10, repeat=2),
                           bench("c10", "circle", "torch", 0.2, 10, repeat=2),
                           bench("c10", "circle", "scratch", 0.01, 10, repeat=3),  # a repeat without its pair
                           bench("c1", "circle", "torch", 1.0, 1), bench("c1", "circle", "scratch", 0.3, 1),
                           bench("conv", "conv2d", "scratch", 0.006), bench("conv", "conv2d", "torch", 0.005),
                           bench("lonely", "circle", "scratch", 0.5, 100),
                           {"group": "data cpu", "name": "cold", "extra_info": {"label": "cold", "device": "cpu"},
                            "stats": {"median": 1.3, "iqr": 0.2, "rounds": 3}}]}


def test_report_pairs_the_sides_and_draws_the_chart(report, tmp_path):
    results = fake_results(report)
    rows = report.ratio_rows(results["benchmarks"])
    assert [(r["case"], r["batch_size"]) for r in rows] == [("circle", 1), ("circle", 10), ("conv2d", None)]
    # batch 10: best rounds 0.032 and 0.08; the median of the repeats' ratios 0.4, 0.5, 0.3; the group without a
    # torch side, and the repeat without its pair, are left out
    assert [round(r["ratio"], 3) for r in rows] == [0.3, 0.4, 1.2] and rows[1]["repeats"] == 3
    assert [round(r["ratio_median"], 3) for r in rows] == [0.3, 0.4, 1.2]
    table = report.ratio_table(rows)
    assert "| circle epoch, batch 10 | cpu | 32 ms | 80 ms | **0.40** | 0.40 (0.30–0.50, 3) |" in table
    assert "| cold | cpu | 1.3 s |" in report.other_table(results["benchmarks"])
    spread = report.spread_table([rows, [dict(r, ratio=r["ratio"] * 1.2) for r in rows]])
    assert "0.40, 0.48" in spread and "| **1.20** |" in spread
    png = tmp_path / "ratios.png"
    report.bar_chart(rows, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
