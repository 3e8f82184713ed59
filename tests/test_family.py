"""The calibration family (tests/fixtures/family, issue 23): every design imports, keeps the contract and trains.

Fast checks only (no real training): forward shapes on a batch of 3, parameter counts within a factor 4 across a
design's three nets, a shared branch in the siamese and auxiliary nets, the allow-list of the rules, and one epoch of
each design's own ``train_model`` on 100 pairs. The faulty designs (tests/fixtures/family_faults) must pass the same
structural checks: their bugs are for the grading suite's accuracy tasks to catch (scripts/calibrate_thresholds.py).
"""

from pathlib import Path

import pytest
import torch

from autograder.rules import check_project
from course.data import BUNDLED, generate_pair_sets
from course.project1.spec import NETS, check_output
from course.submission import load_module

FIXTURES = Path(__file__).parent / "fixtures"
DESIGNS = sorted(p for p in (FIXTURES / "family").iterdir() if (p / "project1").is_dir())
FAULTS = sorted(p for p in (FIXTURES / "family_faults").iterdir() if (p / "project1").is_dir())
ALL = DESIGNS + FAULTS
IDS = [f"{p.parent.name}/{p.name}" for p in ALL]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Batches of 3 to 100: more threads only contend (the whole file takes about 16 s of CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def pairs():
    train_input, train_target, train_classes, *_ = generate_pair_sets(100, seed=0, data_dir=BUNDLED)
    return train_input, train_target, train_classes


def build(design: Path, key: str):
    torch.manual_seed(0)
    return getattr(load_module(design, "project1", "models"), NETS[key].class_name)()


def test_the_family_is_complete():
    assert len(DESIGNS) >= 8 and len(FAULTS) >= 4
    readme = (FIXTURES / "family" / "README.md").read_text()
    faults_readme = (FIXTURES / "family_faults" / "README.md").read_text()
    assert all(f"`{p.name}`" in readme for p in DESIGNS), "every design has its line in family/README.md"
    assert all(f"`{p.name}`" in faults_readme for p in FAULTS), "every fault has its line in family_faults/README.md"


@pytest.mark.parametrize("design", ALL, ids=IDS)
def test_design_follows_the_rules(design):
    assert check_project(design / "project1", "project1") == []


@pytest.mark.parametrize("design", ALL, ids=IDS)
def test_design_keeps_the_contract(design):
    counts = {}
    x = torch.randint(0, 256, (3, 2, 14, 14)).float()
    for key, net in NETS.items():
        model = build(design, key).eval()
        with torch.no_grad():
            _, digits = check_output(model(x), net.class_name, 3)
        assert (digits is not None) == net.digits, f"{net.class_name} returns digit logits iff it is the aux net"
        counts[key] = sum(p.numel() for p in model.parameters())
    print(design.name, counts)
    assert 15_000 <= min(counts.values()) and max(counts.values()) <= 450_000
    assert max(counts.values()) <= 4 * min(counts.values()), counts


@pytest.mark.parametrize("design", ALL, ids=IDS)
@pytest.mark.parametrize("key", ["siamese", "aux"])
def test_branch_is_shared(design, key):
    """As the suite's sharing task sees it: a module with parameters runs on both digits (twice on N or once on 2N)."""
    model, calls = build(design, key).eval(), {}
    for name, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            module.register_forward_hook(lambda mod, args, out, name=name: calls.setdefault(name, []).append(len(args[0])))
    with torch.no_grad():
        model(torch.rand(3, 2, 14, 14) * 255)
    assert any(sizes.count(3) >= 2 or 6 in sizes for sizes in calls.values()), calls


@pytest.mark.parametrize("design", ALL, ids=IDS)
def test_train_model_runs_one_epoch(design, pairs):
    train = load_module(design, "project1", "train")
    model, seen = build(design, "aux"), []
    history = train.train_model(model, *pairs, epochs=1, seed=0, callback=seen.append)
    assert isinstance(history, list) and len(history) == 1 and "loss" in history[0]
    assert seen == history, "the callback gets each epoch's entry"
    assert 0.0 <= train.accuracy(model, pairs[0], pairs[1]) <= 1.0
