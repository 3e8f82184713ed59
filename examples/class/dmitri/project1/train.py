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
    ### BEGIN SOLUTION
    loss = F.cross_entropy(target_logits, target)
    if digit_logits is not None:
        first_digit_loss = F.cross_entropy(digit_logits[:, 0], classes[:, 0])
        second_digit_loss = F.cross_entropy(digit_logits[:, 1], classes[:, 1])
        loss = loss + aux_weight * (first_digit_loss + second_digit_loss)
    return loss
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    n, device = len(pair_input), pair_input.device

    swap = (torch.rand(n, generator=generator) < 0.5).to(device)
    pair_input = torch.where(swap[:, None, None, None], pair_input.flip(1), pair_input)
    classes = torch.where(swap[:, None], classes.flip(1), classes)
    target = (classes[:, 0] <= classes[:, 1]).long()

    digits = pair_input.reshape(2 * n, 1, 14, 14)
    angle = (torch.rand(2 * n, generator=generator) * 2 - 1) * math.radians(max_angle)
    zoom = 1 + (torch.rand(2 * n, generator=generator) * 2 - 1) * max_scale
    shift = (torch.rand(2 * n, 2, generator=generator) * 2 - 1) * max_shift * 2 / 14  # in [-1, 1] units
    theta = torch.zeros(2 * n, 2, 3)
    theta[:, 0, 0] = torch.cos(angle) / zoom
    theta[:, 0, 1] = -torch.sin(angle) / zoom
    theta[:, 1, 0] = torch.sin(angle) / zoom
    theta[:, 1, 1] = torch.cos(angle) / zoom
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(device), list(digits.shape), align_corners=False)
    digits = F.grid_sample(digits, grid, padding_mode="zeros", align_corners=False)
    return digits.reshape(n, 2, 14, 14), target, classes
    ### END SOLUTION


def accuracy(model, pair_input, target, batch_size=1000):
    """The fraction (a float in [0, 1]) of pairs whose target the model predicts right.

    The model is put in evaluation mode (``model.eval()``) and run without gradients, ``batch_size`` pairs
    at a time; the prediction is the arg-max of the target logits.

    Task `p1.train_model` (5 points, with ``train_model``): ``autograder check --task p1.train_model``.
    """
    ### BEGIN SOLUTION
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(pair_input), batch_size):
            target_logits, _ = model(pair_input[start:start + batch_size])
            correct += int((target_logits.argmax(dim=1) == target[start:start + batch_size]).sum())
    return correct / len(pair_input)
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    # the reference recipe: AdamW (lr, weight_decay) with a one-cycle schedule (warm up to lr, anneal to ~0 over
    # the epochs), mini-batches in a fresh random order every epoch, each through augment_pairs when augment
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    n, device = len(train_input), train_input.device
    steps_per_epoch = math.ceil(n / batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs,
                                                    steps_per_epoch=steps_per_epoch)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator).to(device)
        total_loss, total_correct = 0.0, 0
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            pair_input, target, classes = train_input[batch], train_target[batch], train_classes[batch]
            if augment:
                pair_input, target, classes = augment_pairs(pair_input, target, classes, generator)
            target_logits, digit_logits = model(pair_input)
            loss = pair_loss(target_logits, digit_logits, target, classes, aux_weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(batch)
            total_correct += int((target_logits.argmax(dim=1) == target).sum())

        entry = {"epoch": epoch, "loss": total_loss / n, "train_accuracy": total_correct / n}
        if test_input is not None and test_target is not None:
            model.eval()
            with torch.no_grad():
                target_logits, digit_logits = model(test_input)
                if test_classes is None:
                    digit_logits = None
                entry["test_loss"] = pair_loss(target_logits, digit_logits, test_target, test_classes,
                                               aux_weight).item()
                entry["test_accuracy"] = (target_logits.argmax(dim=1) == test_target).float().mean().item()
        history.append(entry)
        if callback is not None:
            callback(entry)
    return history
    ### END SOLUTION
