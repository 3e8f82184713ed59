"""Project 2: the circle task, trained with *your* framework (``framework.py`` beside this file).

1,000 training points are drawn uniformly in [0,1]², labelled 1 inside the disk of radius 1/√(2π)
centred at (0.5, 0.5) and 0 outside (``course.data.generate_disc_set``); a network with two inputs,
two outputs and three hidden layers of 25 units is trained with the MSE loss, logging the loss, and
its train and test errors are reported.

``course run project2`` calls the functions below (the names and signatures are fixed):

* :func:`build_model` - the network;
* :func:`train` - the training loop, returning its history (the mean loss of every epoch);
* :func:`predict`, :func:`compute_error`, :func:`accuracy` - evaluation.

The functions take the *raw* points (``N×2`` in [0,1]²) and the int64 labels (``N``) as
``generate_disc_set`` gives them; :func:`prepare_input` and :func:`encode_target` turn them into what
the network sees and is trained against, so training and evaluation can never disagree.

None of these functions is graded by the autograder (task ``p2.circle`` trains the circle network with the
kit's own loop and *your* ``framework.py``); ``course run project2`` and the notebook use them for your report.
Run ``python circle.py`` for a quick check, or ``course run project2 --impl <your folder>`` for the full protocol.
"""

import math

import torch

from course.submission import load_sibling

# Defaults used by `course run project2` (the command-line options override them).
EPOCHS = 250
LEARNING_RATE = {"sgd": 0.1, "adam": 3e-3}
BATCH_SIZE = 10
MOMENTUM = 0.9
HIDDEN = 25


def load_framework():
    """The ``framework`` module beside this file (given): the very module ``course`` and the grader load."""
    return load_sibling(__file__, "framework")


def build_model(*, hidden=HIDDEN, activation="tanh", output_dim=2, framework=None):
    """The handout network: 2 → hidden → hidden → hidden → ``output_dim`` (three hidden layers).

    ``activation`` (``"tanh"`` or ``"relu"``) follows each hidden layer; the output layer is linear, its
    ``output_dim`` units (2: one score per class, trained against one-hot targets; 1: a single score
    trained against the 0/1 label) are compared with the targets by the MSE loss.
    Returns a ``framework.Sequential``.
    """
    fw = framework or load_framework()
    ### BEGIN SOLUTION
    act = {"tanh": fw.Tanh, "relu": fw.ReLU}[activation]
    return fw.Sequential(
        fw.Linear(2, hidden), act(),
        fw.Linear(hidden, hidden), act(),
        fw.Linear(hidden, hidden), act(),
        fw.Linear(hidden, output_dim),
    )
    ### END SOLUTION


def output_dim_of(model):
    """The number of outputs of ``model`` (given): that of its last layer with an ``out_features``."""
    for module in reversed(getattr(model, "modules", [model])):
        if hasattr(module, "out_features"):
            return module.out_features
    return 2


def prepare_input(points):
    """What the network sees: the points centred on the disk, ``points − 0.5`` (``N×2``).

    Centring puts the decision boundary around the origin, where the first layer's units start.
    """
    ### BEGIN SOLUTION
    return points - 0.5
    ### END SOLUTION


def encode_target(labels, output_dim, *, dtype=torch.float32):
    """MSE targets for the int64 ``labels`` (``N``): ``N×2`` one-hot rows for two outputs, the label as an
    ``N×1`` column of 0/1 for one output, of floating type ``dtype`` on the labels' device."""
    ### BEGIN SOLUTION
    if output_dim == 1:
        return labels.to(dtype).view(-1, 1)
    target = torch.zeros(len(labels), output_dim, dtype=dtype, device=labels.device)
    target[torch.arange(len(labels), device=labels.device), labels] = 1
    return target
    ### END SOLUTION


def train(model, train_input, train_target, *, epochs=EPOCHS, lr=None, batch_size=BATCH_SIZE,
          optimizer="sgd", momentum=None, lr_schedule="cosine", seed=None, callback=None, framework=None):
    """Train ``model`` on the raw points ``train_input`` (``N×2``) and labels ``train_target`` (``N``); return its
    history, one dict per epoch: ``{"epoch": 1, 2, ..., "loss": mean training loss over the epoch}``.

    Mini-batches of ``batch_size`` points in a new random order every epoch, drawn from a ``torch.Generator``
    seeded with ``seed`` (``None``: fresh randomness; the global random state is never used), the MSE loss
    against :func:`encode_target`, and the optimiser ``"sgd"`` (with ``momentum``, default :data:`MOMENTUM`) or
    ``"adam"`` at learning rate ``lr`` (default :data:`LEARNING_RATE`). With ``lr_schedule="cosine"`` the
    learning rate follows a half cosine from ``lr`` at the first epoch down to 0 at the end (``"constant"``
    keeps it fixed). ``callback(entry)`` is called after every epoch with that epoch's history entry, if given.
    """
    fw = framework or load_framework()
    ### BEGIN SOLUTION
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    lr = LEARNING_RATE[optimizer] if lr is None else lr
    momentum = MOMENTUM if momentum is None else momentum
    params = model.param()
    dtype = params[0][0].dtype if params else torch.float32
    x = prepare_input(train_input).to(dtype)
    y = encode_target(train_target, output_dim_of(model), dtype=dtype)
    if optimizer == "sgd":
        opt = fw.SGD(params, lr=lr, momentum=momentum)
    elif optimizer == "adam":
        opt = fw.Adam(params, lr=lr)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}; use 'sgd' or 'adam'")
    criterion = fw.LossMSE()
    n = len(x)
    history = []
    model.train()
    with torch.set_grad_enabled(False):
        for epoch in range(1, epochs + 1):
            if lr_schedule == "cosine":
                opt.lr = 0.5 * lr * (1 + math.cos(math.pi * (epoch - 1) / epochs))
            order = torch.randperm(n, generator=generator).to(x.device)
            total = 0.0
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                output = model(x[idx])
                loss = criterion(output, y[idx])
                opt.zero_grad()
                model.backward(criterion.backward())
                opt.step()
                total += float(loss) * len(idx)
            history.append({"epoch": epoch, "loss": total / n})
            if callback is not None:
                callback(history[-1])
    return history
    ### END SOLUTION


def predict(model, points, *, batch_size=10_000):
    """Predicted labels (int64 ``N``) of the raw ``points`` (``N×2``), in evaluation mode.

    Two outputs: the index of the larger score; one output: 1 where the score exceeds 0.5.
    """
    ### BEGIN SOLUTION
    model.eval()
    params = model.param()
    dtype = params[0][0].dtype if params else points.dtype
    labels = []
    with torch.set_grad_enabled(False):
        for start in range(0, len(points), batch_size):
            output = model(prepare_input(points[start:start + batch_size]).to(dtype))
            labels.append(output.argmax(dim=1) if output.shape[1] > 1 else (output[:, 0] > 0.5).long())
    model.train()
    return torch.cat(labels)
    ### END SOLUTION


def compute_error(model, points, labels):
    """The error rate: the fraction (in [0, 1]) of ``points`` whose predicted label differs from ``labels``."""
    ### BEGIN SOLUTION
    return float((predict(model, points) != labels).float().mean())
    ### END SOLUTION


def accuracy(model, points, labels):
    """1 − :func:`compute_error` (given)."""
    return 1.0 - compute_error(model, points, labels)


if __name__ == "__main__":
    from course.data import generate_disc_set

    torch.manual_seed(0)
    train_input, train_target = generate_disc_set(1000, seed=0)
    test_input, test_target = generate_disc_set(1000, seed=1)
    model = build_model()
    train(model, train_input, train_target, seed=0,
          callback=lambda e: print(f"epoch {e['epoch']:4d}  loss {e['loss']:.5f}") if e["epoch"] % 25 == 0 else None)
    print(f"train error {100 * compute_error(model, train_input, train_target):.2f}%  "
          f"test error {100 * compute_error(model, test_input, test_target):.2f}%")
