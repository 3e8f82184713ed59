"""Grading tests of project 1, the digit-pair networks.

The student's nets run and train in the worker (``p1.call``); the test labels stay here, and every
accuracy is computed here from the predictions the worker returns.
"""

import functools

import pytest
import torch
import torch.nn.functional as F

from autograder import thresholds
from autograder.expect import expect_close, expect_tensor, randn, require
from autograder.integrity import listing, perturb
from autograder.plugin import data_seed, init_seed, task
from autograder.record import Status
from autograder.rules import breaches
from autograder.sandbox.judge import StudentError
from course.data import BUNDLED, generate_pair_sets
from course.handin import STUDENT_FILES
from course.project1.spec import NETS, PARAMETER_CEILING, PARAMETER_FACTOR, digit_shape, parameter_problem, target_shape

PROTOCOL = thresholds.P1


@functools.lru_cache(maxsize=4)
def pairs(nb, seed):
    """The suite's digit pairs: always the bundled subset the thresholds were calibrated on.

    ``COURSE_MNIST_DIR`` is ignored here on purpose, so that no grade depends on the grader's environment.
    """
    return generate_pair_sets(nb, seed=seed, data_dir=BUNDLED)


def reference_pair_loss(target_logits, digit_logits, target, classes, aux_weight):
    loss = F.cross_entropy(target_logits, target)
    if digit_logits is not None:
        loss = loss + aux_weight * (F.cross_entropy(digit_logits[:, 0], classes[:, 0])
                                    + F.cross_entropy(digit_logits[:, 1], classes[:, 1]))
    return loss


def check_shapes(p1, net, batch, seed):
    x = pairs(50, seed)[0][:batch]
    got = p1.call("forward", net=net, x=x, seed=seed)
    name = NETS[net].class_name
    target = expect_tensor(f"{name}(x) target logits for a batch of {batch}", got["target"], shape=target_shape(batch),
                           cause="the target head must output 2 logits per pair (not a probability of size 1)")
    require(target.is_floating_point(), f"{name} target logits are floating point", expected="float",
            received=str(target.dtype))
    if NETS[net].digits:
        expect_tensor(f"{name}(x) digit logits for a batch of {batch}", got["digits"], shape=digit_shape(batch),
                      cause="digit logits are N×2×10: for each pair, 10 class scores per digit, first digit first")
    else:
        require(got["digits"] is None, f"{name}(x) returns None as its digit logits", expected="None",
                received=f"{type(got['digits']).__name__}",
                cause="only AuxiliaryNet classifies the digits; the others return (target_logits, None)")
    return got


def check_swap(got, batch):
    expect_close(f"AuxiliaryNet digit logits with the two digits swapped (batch {batch})", got["swapped_digits"],
                 got["digits"][:, [1, 0]], tol=1e-4,
                 cause="the same branch must classify each digit, and digit_logits[:, 0] must be the first digit")


def shared(calls: dict, batch: int) -> list[str]:
    """The modules holding parameters that process both digits: called twice on N, or once on 2N."""
    return [name for name, sizes in calls.items()
            if sizes.count(batch) >= 2 or any(size == 2 * batch for size in sizes)]


# ------------------------------------------------------------------------------------------------ structure


@task("p1.rules")
@pytest.mark.parametrize("filename", STUDENT_FILES["project1"])
def test_files_follow_the_rules(p1, filename):
    path = p1.folder / filename
    require(path.is_file(), f"project1/{filename} exists", expected="the file", received="nothing")
    p1.call("imports", module=path.stem)  # a file that does not import is not graded, not a rules violation
    violations = breaches(p1.folder, "project1")  # every file of the project; a violation fails at once
    require(not violations, "every file of project1 follows the rules (autograder/rules.py)",
            expected="imports of torch, math, numpy and the standard library's inert helpers only; no dynamic code, "
                     "reflection, file access, or use of the grader", received="\n" + listing(violations),
            cause="these constructs can change what the grader measures: every task of project1 is withheld for "
                  "your instructor's review until they are gone")
    p1.call("started")  # the rule points are for code you wrote: "not implemented" until BaselineNet is


@task("p1.shapes")
@pytest.mark.parametrize("net", list(NETS))
def test_shapes(p1, net):
    check_shapes(p1, net, batch=7, seed=1)


@task("p1.params")
@pytest.mark.parametrize("net", list(NETS))
def test_parameter_budget(p1, net):
    x = pairs(50, 1)[0][:2]
    n = p1.call("forward", net=net, x=x, seed=0)["n_params"]
    others = {}
    for other in NETS:
        if other != net:
            try:  # a net that does not build yet is left out of the comparison (its own case says why)
                others[NETS[other].class_name] = p1.call("forward", net=other, x=x, seed=0)["n_params"]
            except StudentError:
                pass
    problem = parameter_problem(n, list(others.values()))
    require(not problem, f"{NETS[net].class_name}'s size is comparable with the other nets'",
            expected=f"at most {PARAMETER_CEILING:,} parameters and at most {PARAMETER_FACTOR} × the smallest net's "
                     "(no minimum)",
            received=f"{n:,} ({problem}; " + ", ".join(f"{k} {v:,}" for k, v in others.items()) + ")",
            cause="the comparison of the three nets needs comparable capacity: narrow this net's layers (count with "
                  "sum(p.numel() for p in model.parameters()))")


@task("p1.siamese.sharing")
@pytest.mark.parametrize("net", ["siamese", "aux"])
def test_weight_sharing(p1, net):
    got = p1.call("sharing", net=net, x=pairs(50, 2)[0][:6], seed=0)
    require(bool(shared(got["calls"], got["batch"])), f"{NETS[net].class_name} applies one module to both digits",
            expected="a layer (e.g. the digit branch's first convolution) run on digit 1 and on digit 2",
            received="each layer runs once, on one input: " + ", ".join(f"{k}×{len(v)}" for k, v in got["calls"].items()),
            cause="build ONE branch in __init__ and call it on x[:, 0:1] and on x[:, 1:2] in forward")


@task("p1.baseline.no_sharing")
def test_baseline_shares_nothing(p1):
    got = p1.call("sharing", net="baseline", x=pairs(50, 2)[0][:6], seed=0)
    both = shared(got["calls"], got["batch"])
    require(not both, "BaselineNet applies no parameter to both digits", expected="no shared layer",
            received=f"shared: {', '.join(both)}", cause="the baseline is the comparison point without weight sharing")


@task("p1.aux.swap")
def test_swapped_digits_swap_digit_logits(p1):
    check_swap(p1.call("forward", net="aux", x=pairs(50, 3)[0][:8], seed=0), 8)


@task("p1.pair_loss")
@pytest.mark.parametrize("aux_weight", [None, 0.0, 0.5, 2.0])
def test_pair_loss(p1, aux_weight):
    n = 6
    target_logits, digit_logits = randn(n, 2, seed=200, dtype=torch.float32), randn(n, 2, 10, seed=201, dtype=torch.float32)
    classes = torch.randint(0, 10, (n, 2), generator=torch.Generator().manual_seed(202))
    target = (classes[:, 0] <= classes[:, 1]).long()
    digits = None if aux_weight is None else digit_logits
    weight = 1.0 if aux_weight is None else aux_weight
    got = p1.call("pair_loss", target_logits=target_logits, digit_logits=digits, target=target, classes=classes,
                  aux_weight=weight)
    expected = reference_pair_loss(target_logits, digits, target, classes, weight)
    got = expect_tensor("pair_loss value", got).reshape(())
    expect_close(f"pair_loss with {'no digit logits' if digits is None else f'aux_weight={weight}'}", got, expected,
                 tol=1e-5, cause="CE(target_logits, target) + aux_weight × (CE(digit_logits[:,0], classes[:,0]) + "
                                 "CE(digit_logits[:,1], classes[:,1])), each CE a mean over the batch; "
                                 "no auxiliary term when digit_logits is None")


# ------------------------------------------------------------------------------------------------ accuracy


def train_and_score(p1, probe, net, seed, data_seed):
    """Train ``net`` (initialised from ``seed``) on pairs drawn with ``data_seed``; the test accuracy and the reply."""
    train_input, train_target, train_classes, test_input, test_target, _ = pairs(PROTOCOL["pairs"], data_seed)
    test_input = perturb(test_input, data_seed)  # no exact copy of an image the sandbox can read (integrity.py)
    data = dict(net=net, train_input=train_input, train_target=train_target, train_classes=train_classes,
                test_input=test_input, seed=seed)
    if probe == "train_student":  # the student's loop as written: the kit fixes the epochs (TRAIN_MODEL_FIXED)
        got = p1.call(probe, **data, epochs=PROTOCOL["train_model_epochs"])
    else:
        got = p1.call(probe, **data, epochs=PROTOCOL["epochs"], batch_size=PROTOCOL["batch_size"], lr=PROTOCOL["lr"],
                      aux_weight=PROTOCOL["aux_weight"])
    predictions = got["test"] if probe == "train_student" else got
    target = expect_tensor("predicted targets", predictions["target"], shape=test_target.shape)
    check_untrained(got, test_target, NETS[net].class_name)
    check_scrambled(got, test_target, NETS[net].class_name)
    return float((target == test_target).double().mean()), got


def check_untrained(got, test_target, name: str) -> None:
    """A net already far above chance before training did not earn its accuracy (a lookup of the test pairs'
    labels, say): no accuracy points, status integrity, for the instructor's review."""
    before = expect_tensor(f"{name}'s predictions before training", got["untrained"], shape=test_target.shape)
    accuracy = float((before == test_target).double().mean())
    if accuracy >= thresholds.P1_UNTRAINED_LIMIT:
        raise StudentError(Status.INTEGRITY, f"{name} is {100 * accuracy:.1f}% accurate on the test pairs before any "
                                             f"training (chance is about 55%; the limit is "
                                             f"{100 * thresholds.P1_UNTRAINED_LIMIT:.0f}%): an accuracy that training "
                                             "did not earn is withheld for your instructor's review")


def check_scrambled(got, test_target, name: str) -> None:
    """A trained net that keeps its accuracy once every parameter tensor's entries are shuffled did not get it from
    its parameters (a lookup that ignores them, say): no accuracy points, status integrity. The probe shuffles a few
    times; the lowest accuracy counts (an honest net is at chance in each)."""
    draws = got["scrambled"]
    require(isinstance(draws, list) and len(draws) > 0, f"{name}'s predictions with its parameters shuffled",
            expected="a list of predictions", received=type(draws).__name__)
    accuracy = min(float((expect_tensor(f"{name}'s predictions with its parameters shuffled", draw,
                                        shape=test_target.shape) == test_target).double().mean()) for draw in draws)
    if accuracy >= thresholds.P1_REPLACED_LIMIT:
        raise StudentError(Status.INTEGRITY, f"{name} is still {100 * accuracy:.1f}% accurate on the test pairs with "
                                             "every parameter tensor's entries shuffled (trained nets fall to chance, "
                                             f"about 55%; the limit is {100 * thresholds.P1_REPLACED_LIMIT:.0f}%): an "
                                             "accuracy that does not come from the trained parameters is withheld "
                                             "for your instructor's review")


@task("p1.accuracy.baseline", timeout=120)
def test_accuracy_baseline(p1, request):
    check_accuracy(p1, "baseline", request.config)


@task("p1.accuracy.siamese", timeout=120)
def test_accuracy_siamese(p1, request):
    check_accuracy(p1, "siamese", request.config)


@task("p1.accuracy.aux", timeout=120)
def test_accuracy_aux(p1, request):
    check_accuracy(p1, "aux", request.config)


def check_accuracy(p1, net, config):
    accuracy, _ = train_and_score(p1, "train_kit", net, init_seed(config, PROTOCOL["seed"]),
                                  data_seed(config, PROTOCOL["seed"]))
    threshold = PROTOCOL["thresholds"][net]
    p1.measure(accuracy, threshold, what=f"test accuracy under the kit's protocol ({PROTOCOL['epochs']} epochs)")
    require(accuracy >= threshold,
            f"{NETS[net].class_name} trained by the kit's protocol ({PROTOCOL['pairs']} pairs, {PROTOCOL['epochs']} epochs, Adam lr "
            f"{PROTOCOL['lr']}, batch {PROTOCOL['batch_size']}): test accuracy", expected=f"≥ {100 * threshold:.1f}%",
            received=f"{100 * accuracy:.1f}%",
            cause="the architecture does not learn: check that forward scales the raw 0-255 input, and the "
                  "shapes between layers" + (", and that the digit logits are trained" if net == "aux" else ""))


@task("p1.train_model", timeout=240)  # the student's own recipe: batch size and width are theirs; per run
def test_train_model(p1, request):
    epochs, threshold = PROTOCOL["train_model_epochs"], PROTOCOL["thresholds"]["train_model"]
    fixed = (f"the kit fixed the data ({PROTOCOL['pairs']} training pairs), the net (your AuxiliaryNet), "
             f"epochs={epochs} and the seed; the optimiser, learning rate, batch size and aux_weight were your "
             "train_model's own defaults")
    runs = []
    for attempt in range(PROTOCOL["train_model_runs"]):  # a run that falls short gets another draw: the better counts
        drawn = data_seed(request.config, PROTOCOL["seed"]) + 1 + attempt
        accuracy, got = train_and_score(p1, "train_student", "aux",
                                        init_seed(request.config, PROTOCOL["seed"]) + 1 + attempt, drawn)
        require(got["history_ok"] and got["history_len"] == epochs,
                f"train_model(..., epochs={epochs}) returns its history", expected=f"a list of {epochs} "
                "dicts with a 'loss' entry", received=got["history_repr"])
        train_target = pairs(PROTOCOL["pairs"], drawn)[1]
        kit = float((got["train"]["target"] == train_target).double().mean())
        require(abs(got["student_train_accuracy"] - kit) < 1e-6, "accuracy(model, train_input, train_target)",
                expected=f"{kit:.4f} (a fraction in [0, 1])", received=f"{got['student_train_accuracy']:.4f}",
                cause="accuracy must put the model in eval mode and return the fraction of correct targets")
        runs.append(accuracy)
        if accuracy >= threshold:
            break
    best = max(runs)
    shown = " and ".join(f"{100 * a:.1f}%" for a in runs)
    what = f"test accuracy after your train_model ({epochs} epochs, your own defaults"
    p1.measure(best, threshold, what=what + (f"; the better of {len(runs)} runs: {shown})" if len(runs) > 1 else ")"))
    require(best >= threshold,
            f"AuxiliaryNet trained by your own train_model in {epochs} epochs ({fixed}): test accuracy"
            + (f", {len(runs)} runs with different initialisations and data" if len(runs) > 1 else ""),
            expected=f"≥ {100 * threshold:.1f}%", received=shown,
            cause=f"your loop, with its own defaults, does not train the net far enough in {epochs} epochs: check "
                  "that it steps the optimiser and zeroes the gradients every mini-batch, trains on pair_loss, walks "
                  "over every mini-batch of every epoch, and that its default learning rate suits its optimiser")


### BEGIN HIDDEN TESTS
@task("p1.hidden.shapes")
@pytest.mark.parametrize("batch", [1, 13])
def test_hidden_shapes(p1, batch):
    for net in NETS:
        got = check_shapes(p1, net, batch=batch, seed=thresholds.P1_HIDDEN_SEED + batch)
        if NETS[net].digits:
            check_swap(got, batch)


@task("p1.hidden.pair_loss")
def test_hidden_pair_loss(p1):
    n, seed = 11, thresholds.P1_HIDDEN_SEED
    target_logits, digit_logits = randn(n, 2, seed=seed, dtype=torch.float32) * 4, randn(n, 2, 10, seed=seed + 1, dtype=torch.float32) * 4
    classes = torch.randint(0, 10, (n, 2), generator=torch.Generator().manual_seed(seed + 2))
    target = (classes[:, 0] <= classes[:, 1]).long()
    got = p1.call("pair_loss", target_logits=target_logits, digit_logits=digit_logits, target=target,
                  classes=classes, aux_weight=0.3)
    expect_close("pair_loss on fresh logits, aux_weight=0.3", expect_tensor("pair_loss", got).reshape(()),
                 reference_pair_loss(target_logits, digit_logits, target, classes, 0.3))
### END HIDDEN TESTS
