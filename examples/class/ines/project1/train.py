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
    ``classes``: int64 ``N×2``; ``aux_weight``: weight λ of the auxiliary digit losses. With ``CE`` the
    cross-entropy of logits against class indices, averaged over the batch::

        L = CE(target_logits, target) + λ · (CE(digit_logits[:, 0], classes[:, 0]) + CE(digit_logits[:, 1], classes[:, 1]))

    and ``L = CE(target_logits, target)`` when ``digit_logits`` is ``None``.

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
    the model's device. The recipe is yours (optimiser, learning rate, schedule, batch size, augmentation, ...):
    make each setting a keyword argument with your default, and train with ``pair_loss(..., aux_weight)``.

    Each history entry holds ``epoch`` (1, 2, ...), ``loss`` (mean training loss over the epoch) and
    ``train_accuracy`` (fraction of the epoch's training pairs predicted right while training); when
    ``test_input``/``test_target`` are given, also ``test_accuracy`` and ``test_loss`` (in evaluation mode; the
    digit terms only when ``test_classes`` is given). ``seed`` seeds the order of the batches and any
    augmentation (``None``: fresh randomness); ``callback(entry)`` is called after each epoch with that epoch's
    entry, if given.

    Task `p1.train_model` (5 points): ``autograder check --task p1.train_model``. The grader calls
    ``train_model(model, train_input, train_target, train_classes, epochs=E, seed=S)`` and nothing more (``seed``
    only if this function takes it): every other setting is your default, so your defaults must train the net
    within the grader's budget of ``E`` epochs (``autograder/thresholds.py``).
    """
    # YOUR CODE HERE
    raise NotImplementedError()
