"""Project 1: three convolutional networks that compare the two digits of an MNIST pair.

Every network takes a batch of pairs ``x`` of shape ``N×2×14×14`` (float32, raw pixel values 0-255, exactly
as ``course.data.generate_pair_sets`` produces them) and returns ``(target_logits, digit_logits)``:

* ``target_logits``: ``N×2``; class 1 means "the first digit is ≤ the second";
* ``digit_logits``: ``N×2×10``, the class scores of the two digits, for a network that classifies digits,
  and ``None`` for one that does not.

The networks scale their input themselves (``scale_input``), so a caller never normalises anything.

Graded (40 points for project 1 with ``train.py``): task `p1.rules` (1 point): this file does not touch the
grader or pytest; tasks `p1.shapes` (4 points) and `p1.params` (2 points): every network returns the shapes above
and has at most 1,000,000 parameters, at most 4 × the smallest net's (no minimum). Each class names its own tasks; ``autograder check --task p1`` runs them all.

=================  =============================================================  ==========
network            idea                                                           parameters
=================  =============================================================  ==========
``BaselineNet``    a 2-channel ``DigitNet`` over the whole pair; no sharing       65,794
``SiameseNet``     one ``DigitNet`` applied to each digit + a learned comparison   67,500
``AuxiliaryNet``   one ``DigitNet`` applied to each digit, trained on the digit    66,026
                   classes too (auxiliary losses); the target is read off the
                   two digit distributions
=================  =============================================================  ==========
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
    """A small convnet for 14×14 images: input ``N×in_channels×14×14`` (already scaled), output ``N×out_features``.

    Layers (shapes for a batch of N images)::

        conv 3×3, in_channels→32, padding 1, BatchNorm, ReLU     N×32×14×14
        conv 3×3, 32→32, padding 1, BatchNorm, ReLU, max-pool 2   N×32×7×7
        conv 3×3, 32→64, padding 1, BatchNorm, ReLU, max-pool 2   N×64×3×3
        flatten, dropout, linear 576→64, BatchNorm, ReLU      N×64
        dropout, linear 64→out_features                       N×out_features

    ``DigitNet()`` (one digit in, 10 class scores out) has 66,026 parameters; ``BaselineNet`` uses
    ``DigitNet(in_channels=2, out_features=2)`` on the whole pair.

    Tasks `p1.shapes` (4 points) and `p1.params` (2 points), through the three networks built from it:
    ``autograder check --task p1.shapes``.
    """

    def __init__(self, in_channels=1, out_features=10, dropout=0.25):
        super().__init__()
        ### BEGIN SOLUTION
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
    """The baseline: ONE convnet that sees the pair as a 2-channel 14×14 image. No weight sharing.

    ``self.net`` is ``DigitNet(in_channels=2, out_features=2)``: the same layers as the digit branch, except
    that the first convolution reads both digits (2→32) and the last linear layer outputs the 2 target
    logits. It runs once per pair, so no parameter sees the two digits separately. 65,794 parameters.

    Tasks `p1.baseline.no_sharing` (2 points) and `p1.accuracy.baseline` (4 points):
    ``autograder check --task p1.baseline`` and ``--task p1.accuracy.baseline``.

    ``forward(x)``: ``x`` is ``N×2×14×14`` raw pixels → ``(target_logits N×2, None)``.
    """

    def __init__(self, dropout=0.25):
        super().__init__()
        ### BEGIN SOLUTION
        self.net = DigitNet(in_channels=2, out_features=2, dropout=dropout)
        ### END SOLUTION

    def forward(self, x):
        """``x``: ``N×2×14×14`` raw pixels → ``(target_logits N×2, None)``."""
        ### BEGIN SOLUTION
        return self.net(scale_input(x)), None
        ### END SOLUTION


class SiameseNet(nn.Module):
    """Weight sharing, main loss only.

    ``self.branch`` is ONE ``DigitNet(out_features=10)``, called once on the first digit and once on the
    second (the same parameters see both digits). Its two outputs (10 features each, N×10) are concatenated
    (N×20) and a small comparison head (linear 20→64, ReLU, linear 64→2) gives the target logits. The 10
    features are NOT trained to be digit classes: only the target loss trains this network.
    67,500 parameters.

    Tasks `p1.siamese.sharing` (3 points) and `p1.accuracy.siamese` (4 points):
    ``autograder check --task p1.siamese`` and ``--task p1.accuracy.siamese``.

    ``forward(x)``: ``x`` is ``N×2×14×14`` raw pixels → ``(target_logits N×2, None)``.
    """

    def __init__(self, dropout=0.25):
        super().__init__()
        ### BEGIN SOLUTION
        self.branch = DigitNet(out_features=10, dropout=dropout)
        self.head = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
        ### END SOLUTION

    def forward(self, x):
        """``x``: ``N×2×14×14`` raw pixels → ``(target_logits N×2, None)``."""
        ### BEGIN SOLUTION
        x = scale_input(x)
        first = self.branch(x[:, 0:1])  # N×10
        second = self.branch(x[:, 1:2])  # N×10
        target_logits = self.head(torch.cat([first, second], dim=1))
        return target_logits, None
        ### END SOLUTION


def comparison_logits(digit_logits):
    """Target logits read off two digit distributions.

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
    """Weight sharing plus auxiliary digit losses.

    ``self.branch`` is ONE ``DigitNet(out_features=10)``, called once per digit; its outputs are the digit
    logits (stacked: N×2×10), trained with the digit classes (see ``train.pair_loss``). The target logits
    are ``comparison_logits(digit_logits)`` (N×2): the probability that the first digit is ≤ the second,
    computed from the two predicted digit distributions. Swapping the two input digits swaps the digit
    logits. 66,026 parameters (all in the branch).

    Tasks `p1.aux.swap` (2 points) and `p1.accuracy.aux` (4 points), and `p1.siamese.sharing` with
    ``SiameseNet``: ``autograder check --task p1.aux`` and ``--task p1.accuracy.aux``.

    ``forward(x)``: ``x`` is ``N×2×14×14`` raw pixels → ``(target_logits N×2, digit_logits N×2×10)``.
    """

    def __init__(self, dropout=0.25):
        super().__init__()
        ### BEGIN SOLUTION
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
