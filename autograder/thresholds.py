"""Protocols and accuracy thresholds of the grading suite's training tests.

Project 1's are calibrated on a family of correct and faulty submissions written for the kit (the reference,
``tests/fixtures/plain``, ``tests/fixtures/family/*``, ``tests/fixtures/family_faults/*``) over 20 grading seeds
(1000-1019), every run logged in docs/calibration-family.jsonl by ``python scripts/calibrate_thresholds.py --family
--log``; each threshold is ``autograder.calibration.proposed`` of that log (2 × a design's standard deviation, at
least 3 points, below every correct design's worst run; siamese raised to catch the one-digit fault, 2.4 standard
deviations from it and from the weakest correct design), and every verdict meets the seed-stability rule of
``autograder/calibration.py`` (a kit test checks both). The circle's threshold: the reference's worst run over 20
seeds minus max(3 points, 2 × its standard deviation). The figures are in docs/calibration.md (measured
2026-12-06, 2 CPU cores, torch CPU).
"""

# Project 1: the kit's fixed protocol (Adam, cross-entropy + aux_weight × digit cross-entropies) and the call
# of the student's own train_model, on `pairs` fresh training pairs.
P1 = {
    "pairs": 1000,
    "epochs": 8,
    "batch_size": 50,
    "lr": 2e-3,
    "aux_weight": 1.0,
    "seed": 559,
    # p1.train_model: the epoch budget of the student's own train_model (the only setting the kit gives it besides
    # the seed: course.project1.spec.TRAIN_MODEL_FIXED); its threshold is "train_model" below
    "train_model_epochs": 8,
    # p1.train_model: a run below its threshold gets one more (the next initialisation and data draw), the better
    # counts: a loop that trains gets past an unlucky start (an SGD recipe that stalls at one seed in ten), one that
    # does not fails both
    "train_model_runs": 2,
    "thresholds": {"baseline": 0.66, "siamese": 0.73, "aux": 0.69, "train_model": 0.62},
}
# 2026-12-06, 8 + 8 epochs, 20 seeds (python scripts/calibrate_thresholds.py --table docs/calibration-family.jsonl):
# correct designs' worst runs baseline 70.4% (lenet_tanh), siamese 73.8% (lenet_tanh), aux 73.5% (lenet_tanh),
# train_model 71.8% (small_sgd, the better of two runs; its first run stalls near chance at 3 seeds of 20); the loop
# faults' train_model at most 57.9%; one_digit's siamese at most 72.6% (mean 69.0, lenet_tanh's 77.1).
P1_HIDDEN_SEED = 8117
# A net's target accuracy on the test pairs before any training (its seeded initialisation): at or above this it
# earns no accuracy points (status integrity). Chance is the majority class, about 55% of targets; the reference,
# the plain fixture and the demo class measured at most 55.7% untrained (5 seeds × 3 nets, 2026-12-06).
P1_UNTRAINED_LIMIT = 0.65

# Project 2: the circle network 2-25-25-25-2 (ReLU), MSE on one-hot targets, plain SGD.
P2_CIRCLE = {"epochs": 60, "lr": 0.1, "batch_size": 10, "seed": 559, "threshold": 0.85}
# A trained net's target accuracy with every parameter tensor's entries shuffled (the probe's ``scrambled``: three
# seeded permutations, the lowest accuracy counts): at or above this its accuracy did not come from its trained
# parameters (a lookup, a memory of the training digits) and it earns no accuracy points (status integrity). Honest
# nets fall to chance: at most 55.8% (the majority class) over the reference, the plain fixture and the 8 designs of
# tests/fixtures/family, 3 nets × 3 seeds each (90 runs; a single draw at most 60.6%); a lookup stays near 100%.
# Measured 2026-12-06: python scripts/calibrate_replaced.py --seeds 3 --jobs 1; under each design's own train_model
# (--student --seeds 1: 10 nets) at most 55.8%, a single draw 56.4%.
P1_REPLACED_LIMIT = 0.65
