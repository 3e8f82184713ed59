"""Project 1: the loss, data augmentation, the training loop and the accuracy of a digit-pair network.

A network (see ``models.py``) maps pairs ``N×2×14×14`` to ``(target_logits N×2, digit_logits N×2×10 or
None)``. Targets are int64 ``N`` (1 when the first digit is ≤ the second); classes are int64 ``N×2``.

Graded: task `p1.rules` (1 point): this file does not touch the grader or pytest; each function names its task.
"""

import math

import torch
import torch.nn.functional as F


def pair_loss(target_logits, digit_logits, target, classes, aux_weight):
    """The training loss of a batch of pairs, a scalar tensor.

    ``target_logits``: ``N×2``; ``digit_logits``: ``N×2×10`` or ``None``; ``target``: int64 ``N``;
    ``classes``: int64 ``N×2``; ``aux_weight``: weight of the auxiliary digit losses.

    Without digit logits the loss is ``F.cross_entropy(target_logits, target)``. With them it is::

        F.cross_entropy(target_logits, target)
        + aux_weight * (F.cross_entropy(digit_logits[:, 0], classes[:, 0])
                        + F.cross_entropy(digit_logits[:, 1], classes[:, 1]))

    (each cross-entropy is the mean over the batch).

    Task `p1.pair_loss` (5 points): ``autograder check --task p1.pair_loss``.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def augment_pairs(pair_input, target, classes, generator, max_shift=1.0, max_angle=10.0, max_scale=0.1):
    """A randomly transformed copy of a batch of training pairs: ``(pair_input, target, classes)``.

    * **swap**: each pair has its two digits exchanged with probability 1/2; its classes are exchanged too
      and its target is recomputed from them (``classes[:, 0] <= classes[:, 1]``).
    * **jitter**: each digit is moved independently by a small random affine map: a shift of up to
      ``max_shift`` pixels in each direction, a rotation of up to ``max_angle`` degrees and a zoom by a
      factor in ``[1 - max_scale, 1 + max_scale]``. Pixels from outside the image are 0 (background).

    ``pair_input`` is ``N×2×14×14`` (raw pixels), ``target`` ``N``, ``classes`` ``N×2``. Random numbers come
    from ``generator`` (a CPU ``torch.Generator``) only. The inputs are not modified.

    Not graded on its own: it helps your ``train_model`` (task `p1.train_model`) generalise.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def accuracy(model, pair_input, target, batch_size=1000):
    """The fraction (a float in [0, 1]) of pairs whose target the model predicts right.

    The model is put in evaluation mode (``model.eval()``) and run without gradients, ``batch_size`` pairs
    at a time; the prediction is the arg-max of the target logits.

    Task `p1.train_model` (5 points, with ``train_model``): ``autograder check --task p1.train_model``.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def train_model(model, train_input, train_target, train_classes, *, epochs=40, batch_size=50, lr=5e-3,
                aux_weight=1.0, weight_decay=1e-4, augment=True, test_input=None, test_target=None,
                test_classes=None, seed=None, callback=None):
    """Train ``model`` on the training pairs and return its history, one dict per epoch.

    ``train_input`` ``N×2×14×14`` (raw pixels), ``train_target`` ``N``, ``train_classes`` ``N×2``, all on
    the model's device. The recipe:

    * AdamW (learning rate ``lr``, weight decay ``weight_decay``) with a one-cycle schedule
      (``torch.optim.lr_scheduler.OneCycleLR``: warm up to ``lr``, then anneal to ~0 over ``epochs``);
    * mini-batches of ``batch_size`` pairs in a fresh random order every epoch;
    * loss ``pair_loss(..., aux_weight)``;
    * with ``augment``, every mini-batch goes through ``augment_pairs`` first.

    Each history entry holds ``epoch`` (1, 2, ...), ``loss`` (mean training loss over the epoch) and
    ``train_accuracy`` (fraction of the epoch's training pairs predicted right while training, i.e. on the
    augmented batches, in training mode); when ``test_input``/``test_target`` are given, also
    ``test_accuracy`` and ``test_loss`` (the same loss on the test pairs, in evaluation mode; the digit terms
    only when ``test_classes`` is given). ``seed`` seeds the order and the
    augmentation (``None``: fresh randomness; the global random state is never used); ``callback(entry)`` is
    called after each epoch with that epoch's entry, if given.

    Task `p1.train_model` (5 points): ``autograder check --task p1.train_model``.
    """
    # YOUR CODE HERE
    raise NotImplementedError()
