"""Project 1: three convolutional networks that compare the two digits of an MNIST pair.

Every network takes a batch of pairs ``x`` of shape ``N×2×14×14`` (float32, raw pixel values 0-255, exactly
as ``course.data.generate_pair_sets`` produces them) and returns ``(target_logits, digit_logits)``:

* ``target_logits``: ``N×2``; class 1 means "the first digit is ≤ the second";
* ``digit_logits``: ``N×2×10``, the class scores of the two digits, for a network that classifies digits,
  and ``None`` for one that does not.

The networks scale their input themselves (``scale_input``), so a caller never normalises anything.

The design is yours: layers, widths, normalisation, dropout, how the comparison is made. What each network
must show is fixed (the comparison the project asks for): ``BaselineNet`` shares no parameter between the two
digits; ``SiameseNet`` applies ONE module with the same weights to both digits and is trained on the target only;
``AuxiliaryNet`` shares like ``SiameseNet`` and also returns digit logits, trained with the auxiliary digit losses
(``train.pair_loss``), such that swapping the two input digits swaps its digit logits. Sizes: each network at most
1,000,000 parameters and at most 4 × the smallest of the three (no minimum: capacity comparable, not a size).
``DigitNet`` and ``comparison_logits`` are optional helpers you may use, replace or delete.

Graded (40 points for project 1 with ``train.py``): task `p1.rules` (1 point): this file does not touch the
grader or pytest; tasks `p1.shapes` (4 points) and `p1.params` (2 points): every network returns the shapes above
and keeps the size rule. Each class names its own tasks; ``autograder check --task p1`` runs them all.
"""

import torch
from torch import nn
import torch.nn.functional as F

# Mean and standard deviation of MNIST pixel values (0-255 scale), the usual published constants.
MNIST_MEAN = 33.32
MNIST_STD = 78.57


def scale_input(x):
    """Standardise raw 0-255 pixels with the fixed MNIST constants: ``(x - MNIST_MEAN) / MNIST_STD``.

    Works for any shape; the constants are fixed, so no statistics of any data set are computed here.
    """
    return (x - MNIST_MEAN) / MNIST_STD


class DigitNet(nn.Module):
    """Optional helper: a network for 14×14 images, ``N×in_channels×14×14`` (already scaled) → ``N×out_features``.

    Tasks `p1.shapes` (4 points) and `p1.params` (2 points), through the networks built from it:
    ``autograder check --task p1.shapes``.
    """

    def __init__(self, in_channels=1, out_features=10, dropout=0.25):
        super().__init__()
        ### BEGIN SOLUTION
        # the reference design: three 3×3 convolutions (32, 32, 64 channels, batch norm, ReLU, two 2×2 max-pools:
        # N×64×3×3), then dropout, linear 576→64, batch norm, ReLU, dropout, linear 64→out_features.
        # DigitNet() has 66,026 parameters; BaselineNet uses DigitNet(in_channels=2, out_features=2): 65,794.
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout),
            nn.Linear(64 * 3 * 3, 64), nn.BatchNorm1d(64), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(64, out_features),
        )
        ### END SOLUTION

    def forward(self, x):
        """``x``: ``N×in_channels×14×14`` scaled images → ``N×out_features``."""
        ### BEGIN SOLUTION
        return self.classifier(self.features(x))
        ### END SOLUTION


class BaselineNet(nn.Module):
    """The baseline: no weight sharing. No parameter may be applied to both digits separately (for instance,
    one network reading the pair as a 2-channel image).

    Tasks `p1.baseline.no_sharing` (2 points) and `p1.accuracy.baseline` (4 points):
    ``autograder check --task p1.baseline`` and ``--task p1.accuracy.baseline``.

    ``forward(x)``: ``x`` is ``N×2×14×14`` raw pixels → ``(target_logits N×2, None)``.
    """

    def __init__(self, dropout=0.25):
        super().__init__()
        ### BEGIN SOLUTION
        # the reference: DigitNet(in_channels=2, out_features=2) over the whole pair, run once per pair (65,794)
        self.net = DigitNet(in_channels=2, out_features=2, dropout=dropout)
        ### END SOLUTION

    def forward(self, x):
        """``x``: ``N×2×14×14`` raw pixels → ``(target_logits N×2, None)``."""
        ### BEGIN SOLUTION
        return self.net(scale_input(x)), None
        ### END SOLUTION


class SiameseNet(nn.Module):
    """Weight sharing, main loss only: ONE module with the same parameters processes the first digit and the
    second; the network is trained on the target only (it returns no digit logits).

    Tasks `p1.siamese.sharing` (3 points) and `p1.accuracy.siamese` (4 points):
    ``autograder check --task p1.siamese`` and ``--task p1.accuracy.siamese``.

    ``forward(x)``: ``x`` is ``N×2×14×14`` raw pixels → ``(target_logits N×2, None)``.
    """

    def __init__(self, dropout=0.25):
        super().__init__()
        ### BEGIN SOLUTION
        # the reference: one DigitNet(out_features=10) called on each digit, the two 10-d outputs concatenated (N×20)
        # into a comparison head (linear 20→64, ReLU, linear 64→2); 67,500 parameters
        self.first = DigitNet(out_features=10, dropout=dropout)
        self.second = DigitNet(out_features=10, dropout=dropout)
        self.head = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
        ### END SOLUTION

    def forward(self, x):
        """``x``: ``N×2×14×14`` raw pixels → ``(target_logits N×2, None)``."""
        ### BEGIN SOLUTION
        x = scale_input(x)
        first = self.first(x[:, 0:1])  # N×10
        second = self.second(x[:, 1:2])  # N×10
        target_logits = self.head(torch.cat([first, second], dim=1))
        return target_logits, None
        ### END SOLUTION


def comparison_logits(digit_logits):
    """Optional helper: target logits read off two digit distributions (one way to compare; yours may differ).

    ``digit_logits`` is ``N×2×10``. With ``p = softmax(digit_logits)`` per digit, the probability that the
    first digit is ≤ the second is ``P(a ≤ b) = Σ_{i ≤ j} p_first(i) · p_second(j)``. Returns ``N×2`` log
    probabilities ``[log P(a > b), log P(a ≤ b)]``; log probabilities are valid logits (their softmax gives
    back the probabilities), so ``F.cross_entropy`` applies to them directly. Computed in log space
    (``logsumexp``) so that it stays exact for confident predictions. No parameters.

    Task `p1.accuracy.aux` (4 points), through ``AuxiliaryNet``: ``autograder check --task p1.accuracy.aux``.
    """
    ### BEGIN SOLUTION
    log_p = F.log_softmax(digit_logits, dim=2)
    # joint[n, i, j] = log p_first(i) + log p_second(j), for the 10×10 pairs of classes
    joint = log_p[:, 0, :, None] + log_p[:, 1, None, :]
    first_le_second = torch.ones(10, 10, dtype=torch.bool, device=digit_logits.device).triu()  # i <= j
    log_le = joint.masked_fill(~first_le_second, float("-inf")).flatten(1).logsumexp(dim=1)
    log_gt = joint.masked_fill(first_le_second, float("-inf")).flatten(1).logsumexp(dim=1)
    return torch.stack([log_gt, log_le], dim=1)
    ### END SOLUTION


class AuxiliaryNet(nn.Module):
    """Weight sharing plus auxiliary digit losses: ONE module with the same parameters classifies each digit
    (its outputs are the digit logits, ``N×2×10``, first digit first), trained with the digit classes by
    ``train.pair_loss``; the target logits are computed from the pair. Swapping the two input digits swaps the digit
    logits.

    Tasks `p1.aux.swap` (2 points) and `p1.accuracy.aux` (4 points), and `p1.siamese.sharing` with
    ``SiameseNet``: ``autograder check --task p1.aux`` and ``--task p1.accuracy.aux``.

    ``forward(x)``: ``x`` is ``N×2×14×14`` raw pixels → ``(target_logits N×2, digit_logits N×2×10)``.
    """

    def __init__(self, dropout=0.25):
        super().__init__()
        ### BEGIN SOLUTION
        # the reference: one DigitNet(out_features=10) per digit; the target logits are comparison_logits of the
        # two digit distributions, so every parameter is in the branch (66,026)
        self.branch = DigitNet(out_features=10, dropout=dropout)
        ### END SOLUTION

    def forward(self, x):
        """``x``: ``N×2×14×14`` raw pixels → ``(target_logits N×2, digit_logits N×2×10)``."""
        ### BEGIN SOLUTION
        x = scale_input(x)
        first = self.branch(x[:, 0:1])  # N×10
        second = self.branch(x[:, 1:2])  # N×10
        digit_logits = torch.stack([first, second], dim=1)  # N×2×10
        return comparison_logits(digit_logits), digit_logits
        ### END SOLUTION
