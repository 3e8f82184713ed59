"""Protocols and accuracy thresholds of the grading suite's training tests.

Every threshold is calibrated by ``python scripts/calibrate_thresholds.py``: it runs the reference solutions
and a plain, trick-free implementation (``tests/fixtures/plain``) through the very probes the suite uses,
over 20 seeds; each threshold is the worst run of either implementation minus max(3 points, 2 × the standard
deviation of that implementation), rounded down to a whole percent. The figures are in docs/calibration.md
(measured 2026-12-06, with the per-grading noise on the test images: python scripts/calibrate_thresholds.py
--seeds 20 --jobs 2).
"""

# Project 1: the kit's fixed protocol (Adam, cross-entropy + aux_weight × digit cross-entropies) and the call
# of the student's own train_model, on `pairs` fresh training pairs.
P1 = {
    "pairs": 1000,
    "epochs": 5,
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
    "thresholds": {"baseline": 0.58, "siamese": 0.75, "aux": 0.78, "train_model": 0.72},
}
# train_model 0.72 is PROVISIONAL (issue 23, 2026-12-06), for the student's own defaults in 8 epochs, 3 seeds only:
#   python scripts/calibrate_thresholds.py --family --only train_model --seeds 3 --jobs 2 --train-model-epochs 8
# correct designs (reference, plain, the 8 of tests/fixtures/family) worst run 76.6% (mlp_branch; plain 78.2%,
# reference 97.8%); the loop faults of tests/fixtures/family_faults at most 54.0% (one_digit, a model fault charged
# by the accuracy tasks, 72.4%). At 10 epochs: worst correct 75.9% (small_sgd, std 3.3), loop faults <= 54.0%.
# Recalibrate over 20 seeds with the kit's protocol (docs/calibration.md).
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
