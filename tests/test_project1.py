"""Project 1's reference solution and the ``course run project1`` command.

Fast tests check the student-facing API (shapes, weight sharing, swap symmetry, parameter counts, the loss
formula, a short training run, the command). The ``slow`` test runs the full protocol and checks the goals
stated in docs/project1-results.md:  python -m pytest -m slow tests/test_project1.py
"""

import json
import math

import pytest
import torch

from course import cli
from course.data import generate_pair_sets
from course.project1.spec import NETS, digit_shape, target_shape
from course.submission import load_module

NET_NAMES = tuple(net.class_name for net in NETS.values())


@pytest.fixture(scope="module")
def models():
    return load_module("solutions", "project1", "models")


@pytest.fixture(scope="module")
def train():
    return load_module("solutions", "project1", "train")


@pytest.fixture(scope="module")
def pairs():
    return generate_pair_sets(300, seed=1)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


# --------------------------------------------------------------------------------------------------
# models.py
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NET_NAMES)
def test_output_shapes_and_dtypes(models, pairs, name):
    torch.manual_seed(0)
    net = getattr(models, name)()
    net.eval()
    x = pairs[0][:7]
    with torch.no_grad():
        target_logits, digit_logits = net(x)
    assert target_logits.shape == target_shape(7) and target_logits.dtype == torch.float32
    if name == NETS["aux"].class_name:
        assert digit_logits.shape == digit_shape(7) and digit_logits.dtype == torch.float32
    else:
        assert digit_logits is None
    # the raw 0-255 scale is handled inside the net: the logits are finite and of moderate size
    assert torch.isfinite(target_logits).all()


def _calls_per_submodule(net, x):
    """For each named submodule, the inputs it was called with during one forward pass."""
    calls, handles = {}, []
    for name, module in net.named_modules():
        if name:
            handles.append(module.register_forward_hook(
                lambda m, inputs, output, name=name: calls.setdefault(name, []).append(inputs[0].shape)))
    try:
        net(x)
    finally:
        for h in handles:
            h.remove()
    return calls


@pytest.mark.parametrize("name", ["SiameseNet", "AuxiliaryNet"])
def test_weight_sharing_nets_apply_one_branch_to_each_digit(models, pairs, name):
    net = getattr(models, name)()
    net.eval()
    x = pairs[0][:5]
    calls = _calls_per_submodule(net, x)
    assert "branch" in calls, f"{name} should have a submodule named 'branch'"
    assert calls["branch"] == [torch.Size([5, 1, 14, 14])] * 2, "the branch must see each digit once"
    # the branch's parameters are the same object for both digits, and make up most of the net
    branch = sum(p.numel() for p in net.branch.parameters())
    total = sum(p.numel() for p in net.parameters())
    assert branch / total > 0.9


def test_baseline_shares_no_submodule_between_digits(models, pairs):
    net = models.BaselineNet()
    net.eval()
    calls = _calls_per_submodule(net, pairs[0][:5])
    assert calls, "the hooks saw no call"
    twice = {name: shapes for name, shapes in calls.items() if len(shapes) > 1}
    assert not twice, f"BaselineNet calls these submodules more than once: {sorted(twice)}"


def test_swapping_digits_swaps_auxiliary_digit_logits(models, pairs):
    torch.manual_seed(0)
    net = models.AuxiliaryNet()
    net.eval()
    x = pairs[0][:16]
    with torch.no_grad():
        target_logits, digit_logits = net(x)
        swapped_target, swapped_digits = net(x[:, [1, 0]])
    torch.testing.assert_close(swapped_digits, digit_logits[:, [1, 0]])
    assert target_logits.shape == swapped_target.shape


@pytest.mark.parametrize("name", NET_NAMES)
def test_parameter_counts_keep_the_handout_rule(models, name):
    from course.project1.spec import parameter_problem

    counts = [sum(p.numel() for p in getattr(models, other)().parameters()) for other in NET_NAMES]
    count = sum(p.numel() for p in getattr(models, name)().parameters())
    assert not parameter_problem(count, counts), f"{name} has {count} parameters"
    import inspect

    assert f"{count:,}" in inspect.getsource(getattr(models, name)), "the reference states its parameter count"


def test_comparison_logits_are_log_probabilities(models):
    # certain digits: 3 vs 5 -> first <= second with probability ~1
    digit_logits = torch.full((3, 2, 10), -30.0)
    digit_logits[0, 0, 3] = digit_logits[0, 1, 5] = 30.0  # 3 <= 5
    digit_logits[1, 0, 7] = digit_logits[1, 1, 2] = 30.0  # 7 > 2
    digit_logits[2] = 0.0  # uniform: P(a <= b) = 55 / 100
    log_p = models.comparison_logits(digit_logits)
    p = log_p.exp()
    torch.testing.assert_close(p.sum(1), torch.ones(3))
    assert p[0, 1] > 0.999 and p[1, 0] > 0.999
    torch.testing.assert_close(p[2], torch.tensor([0.45, 0.55]))


# --------------------------------------------------------------------------------------------------
# train.py
# --------------------------------------------------------------------------------------------------


def _cross_entropy_by_hand(logits, labels):
    """mean over rows of -(logit of the label - log Σ exp logits), written out."""
    rows = []
    for row, label in zip(logits.tolist(), labels.tolist()):
        log_sum_exp = math.log(sum(math.exp(v) for v in row))
        rows.append(-(row[label] - log_sum_exp))
    return sum(rows) / len(rows)


@pytest.mark.parametrize("aux_weight", [0.0, 0.5, 1.0, 3.0])
def test_pair_loss_matches_a_hand_computation(train, aux_weight):
    gen = torch.Generator().manual_seed(3)
    target_logits = torch.randn(6, 2, generator=gen)
    digit_logits = torch.randn(6, 2, 10, generator=gen)
    target = torch.randint(0, 2, (6,), generator=gen)
    classes = torch.randint(0, 10, (6, 2), generator=gen)
    expected = _cross_entropy_by_hand(target_logits, target) + aux_weight * (
        _cross_entropy_by_hand(digit_logits[:, 0], classes[:, 0])
        + _cross_entropy_by_hand(digit_logits[:, 1], classes[:, 1]))
    loss = train.pair_loss(target_logits, digit_logits, target, classes, aux_weight)
    assert loss.dim() == 0
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_pair_loss_without_digit_logits_is_the_target_cross_entropy(train):
    gen = torch.Generator().manual_seed(4)
    target_logits = torch.randn(5, 2, generator=gen)
    target = torch.randint(0, 2, (5,), generator=gen)
    classes = torch.randint(0, 10, (5, 2), generator=gen)
    for aux_weight in (0.0, 1.0, 2.5):
        loss = train.pair_loss(target_logits, None, target, classes, aux_weight)
        assert float(loss) == pytest.approx(_cross_entropy_by_hand(target_logits, target), rel=1e-5)


def test_augmentation_keeps_targets_consistent(train, pairs):
    x, target, classes = pairs[0][:64], pairs[1][:64], pairs[2][:64]
    gen = torch.Generator().manual_seed(0)
    ax, at, ac = train.augment_pairs(x, target, classes, gen)
    assert ax.shape == x.shape and at.shape == target.shape and ac.shape == classes.shape
    torch.testing.assert_close(at, (ac[:, 0] <= ac[:, 1]).long())
    swapped = (ac != classes).any(dim=1)
    assert 0 < int(swapped.sum()) < 64, "about half of the pairs should be swapped"
    # the inputs are not modified, and the pixels stay on the raw scale
    assert torch.equal(pairs[0][:64], x)
    assert 100 < float(ax.max()) <= 255.5 and float(ax.min()) >= -0.5


def test_accuracy_is_a_fraction_and_uses_eval_mode(train, models, pairs):
    net = models.BaselineNet()
    net.train()
    acc = train.accuracy(net, pairs[3], pairs[4])
    assert isinstance(acc, float) and 0.0 <= acc <= 1.0
    assert not net.training


def test_short_training_clearly_beats_chance(train, models, pairs):
    torch.manual_seed(0)
    net = models.AuxiliaryNet()
    history = train.train_model(net, pairs[0], pairs[1], pairs[2], epochs=4, batch_size=50, lr=5e-3,
                                aux_weight=1.0, test_input=pairs[3], test_target=pairs[4],
                                test_classes=pairs[5], seed=0)
    assert len(history) == 4
    assert {"epoch", "loss", "train_accuracy", "test_accuracy", "test_loss"} <= set(history[-1])
    assert history[-1]["loss"] < history[0]["loss"]
    assert train.accuracy(net, pairs[3], pairs[4]) > 0.75


# --------------------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------------------


def test_course_run_project1_quick(tmp_path, capsys):
    code = cli.main(["run", "project1", "--quick", "--no-progress", "--out", str(tmp_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "baseline" in printed and "auxiliary" in printed and "±" in printed
    for name in ("project1.json", "project1.csv", "project1_epochs.csv", "learning_curves.png",
                 "loss_curves.png", "test_accuracy.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    data = json.loads((tmp_path / "project1.json").read_text())
    assert {row["net"] for row in data["rows"]} == {"baseline", "siamese", "aux"}
    assert len(data["rows"]) == 3 * data["summary"]["rounds"]


def test_parallel_rounds_give_the_numbers_of_a_serial_run(tmp_path):
    def rows(jobs):
        out = tmp_path / f"jobs{jobs}"
        assert cli.main(["run", "project1", "--no-progress", "--rounds", "2", "--epochs", "1", "--pairs", "100",
                         "--nets", "baseline,aux", "--jobs", str(jobs), "--out", str(out)]) == 0
        return [(r["net"], r["round"], r["test_accuracy"], r["train_accuracy"])
                for r in json.loads((out / "project1.json").read_text())["rows"]]

    assert rows(1) == rows(2)


def test_course_run_project1_names_an_unimplemented_function(tmp_path, capsys):
    project = tmp_path / "impl" / "project1"
    project.mkdir(parents=True)
    text = open(load_module("solutions", "project1", "models").__file__).read()
    # BaselineNet.forward becomes a skeleton
    (project / "models.py").write_text(text.replace(
        "        return self.net(scale_input(x)), None\n",
        "        raise NotImplementedError\n", 1))
    (project / "train.py").write_text(open(load_module("solutions", "project1", "train").__file__).read())
    code = cli.main(["run", "project1", "--quick", "--no-progress", "--nets", "baseline", "--rounds", "1",
                     "--impl", str(tmp_path / "impl"), "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "BaselineNet.forward" in err and "not implemented" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_course_run_project1_wrong_shape_is_a_message_not_a_traceback(tmp_path, capsys, jobs):
    project = tmp_path / "impl" / "project1"
    project.mkdir(parents=True)
    text = open(load_module("solutions", "project1", "models").__file__).read()
    (project / "models.py").write_text(text.replace("nn.Linear(64 * 3 * 3, 64)", "nn.Linear(64 * 2 * 2, 64)", 1))
    (project / "train.py").write_text(open(load_module("solutions", "project1", "train").__file__).read())
    code = cli.main(["run", "project1", "--quick", "--no-progress", "--nets", "baseline", "--rounds", "2",
                     "--jobs", jobs, "--impl", str(tmp_path / "impl"), "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "RuntimeError" in err and "at models.py, line" in err and "likely cause: a tensor of the wrong shape" in err
    assert "Traceback" not in err


def test_course_run_project1_cuda_without_cuda_is_a_clear_error(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code = cli.main(["run", "project1", "--quick", "--device", "cuda", "--out", str(tmp_path)])
    assert code == 2
    assert "cuda" in capsys.readouterr().err.lower()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_course_run_project1_runs_on_cuda(tmp_path):
    """The CUDA path end to end: data, networks and training on the GPU (one job, as --device cuda chooses)."""
    out = tmp_path / "cuda"
    assert cli.main(["run", "project1", "--quick", "--no-progress", "--device", "cuda", "--out", str(out)]) == 0
    assert json.loads((out / "project1.json").read_text())["summary"]["device"].startswith("cuda")


def test_unknown_net_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["run", "project1", "--quick", "--nets", "baseline,resnet", "--out", str(tmp_path)]) == 2
    assert "resnet" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# the measured claim (slow: ~15 minutes on 2 CPU cores)
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_full_protocol_meets_the_goals(tmp_path):
    """10 rounds × 1000 pairs, default settings: aux ≥ 98.5% ± ≤ 0.5, and aux > siamese > baseline by > 1 std."""
    code = cli.main(["run", "project1", "--no-progress", "--out", str(tmp_path)])
    assert code == 0
    nets = json.loads((tmp_path / "project1.json").read_text())["summary"]["nets"]
    aux, siamese, baseline = nets["aux"], nets["siamese"], nets["baseline"]
    assert aux["rounds"] == 10
    assert aux["test_accuracy_mean"] >= 0.985
    assert aux["test_accuracy_std"] <= 0.005
    for upper, lower in ((aux, siamese), (siamese, baseline)):
        gap = upper["test_accuracy_mean"] - lower["test_accuracy_mean"]
        assert gap > max(upper["test_accuracy_std"], lower["test_accuracy_std"]), (upper, lower)
