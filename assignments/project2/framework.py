"""A mini deep-learning framework written from scratch: tensor operations and ``math`` only.

Project 2 asks you to build the forward *and* the backward pass of every module by hand: PyTorch's
automatic differentiation (autograd) is not used anywhere. Each module remembers what its backward
pass needs during ``forward`` and, given the gradient of the loss with respect to its output, returns
the gradient with respect to its input while *accumulating* the gradients of its parameters.

Rules of the exercise
---------------------
* Import only ``torch`` (for tensors and their operations) and ``math``. No neural-network package of
  PyTorch, no functional package, no automatic differentiation, no gradient-tracking flag on tensors.
* Everything runs with PyTorch's gradient tracking switched off (``torch.set_grad_enabled(False)``).
* New tensors are created with the ``device``/``dtype`` of the inputs or parameters, so the same code
  runs on CPU and CUDA.
* ``backward`` **accumulates** parameter gradients (``grad += ...``); ``zero_grad`` clears them.

Shapes: a batch of ``N`` samples with ``D`` features is an ``N×D`` tensor (``N`` may be 1). Images are
``N×C×H×W``.

What to implement
-----------------
**Required**: :class:`Module` (given), :class:`Linear`, :class:`ReLU`, :class:`Tanh`, :class:`Sigmoid`,
:class:`LossMSE`, :class:`Sequential`, :class:`SGD` (plain steps).

**Bonus**: :class:`LeakyReLU`, :class:`LossBCE`, :class:`LossCrossEntropy`, :class:`SGD` with
``momentum``, :class:`Adam`, :class:`Dropout`, and the convolutional tier :class:`Conv2d`,
:class:`MaxPool2d`, :class:`Flatten`.

Each part you write holds ``# YOUR CODE HERE``; the docstring above it gives the maths, the shapes and the
task that grades it (``autograder check --task <id>`` runs one task). Task `p2.rules` (4 points): this file
follows the rules above. Task `p2.circle` (7 points): the circle network built from your ``Linear``, ``ReLU``,
``Sequential``, ``LossMSE`` and ``SGD`` learns the circle task.

Benchmarks, tasks `p2.bench.circle` (0 points) and `p2.bench.conv` (0 points): once your framework passes its
correctness tasks, the grader times a training epoch of that circle network, and your ``Conv2d``'s forward +
backward, against PyTorch's own layers with automatic differentiation on the same computation, and reports the
ratio of the times ("in 0.40× the time"). A benchmark never takes points away.
"""

import math

import torch


# --------------------------------------------------------------------------------------------------
# The module interface (given)
# --------------------------------------------------------------------------------------------------


class Module:
    """Base class of every layer, activation and loss (**required**, given).

    * ``forward(*input)`` computes the output and stores what the backward pass needs;
    * ``backward(*gradwrtoutput)`` takes dL/d(output) and returns dL/d(input), accumulating the
      gradients of the parameters on the way;
    * ``param()`` returns a list of ``(parameter, gradient)`` pairs of tensors of the same shape
      (empty for modules without parameters);
    * ``zero_grad()`` sets every gradient to zero;
    * ``train()``/``eval()`` switch the mode (only :class:`Dropout` behaves differently);
    * calling the module, ``module(x)``, is ``module.forward(x)``.

    Task `p2.module.api` (2 points): your classes keep this interface. Task `p2.zero_grad` (2 points):
    ``zero_grad()`` zeroes the gradient tensors *in place* (``grad.zero_()``) — an optimiser holds the pairs that
    ``param()`` returned, so binding new tensors would leave it with stale gradients.
    """

    def __init__(self):
        self.training = True

    def forward(self, *input):
        raise NotImplementedError

    def backward(self, *gradwrtoutput):
        raise NotImplementedError

    def param(self):
        return []

    def zero_grad(self):
        for _, grad in self.param():
            grad.zero_()

    def train(self, mode=True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def __call__(self, *input):
        return self.forward(*input)

    def __repr__(self):
        return f"{type(self).__name__}()"


# --------------------------------------------------------------------------------------------------
# Fully connected layer
# --------------------------------------------------------------------------------------------------


class Linear(Module):
    """Fully connected layer ``y = x Wᵀ + b`` (**required**).

    ``weight`` is ``out_features × in_features`` (the same layout as PyTorch) and ``bias`` is
    ``out_features``. Both are drawn from the uniform law U(−1/√in_features, 1/√in_features), which is
    PyTorch's default initialisation for a fully connected layer (so a network built here starts from
    the same distribution as the equivalent PyTorch one). The gradients ``grad_weight`` and
    ``grad_bias`` start at zero.
    """

    def __init__(self, in_features, out_features, bias=True, *, dtype=None, device=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        bound = 1.0 / math.sqrt(self.in_features)
        dtype = dtype or torch.get_default_dtype()
        self.weight = torch.empty(self.out_features, self.in_features, dtype=dtype, device=device)
        self.weight.uniform_(-bound, bound)
        self.grad_weight = torch.zeros_like(self.weight)
        if bias:
            self.bias = torch.empty(self.out_features, dtype=dtype, device=device).uniform_(-bound, bound)
            self.grad_bias = torch.zeros_like(self.bias)
        else:
            self.bias = None
            self.grad_bias = None
        self.input = None

    def forward(self, input):
        """``input`` is ``N×in``; returns ``output = input @ weightᵀ + bias``, ``N×out``.

        Store ``input``: the backward pass needs it.

        Task `p2.linear.forward` (4 points): ``autograder check --task p2.linear.forward``.
        """
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self, gradwrtoutput):
        """``gradwrtoutput`` = dL/dy is ``N×out``. With ``x`` the stored input:

        * dL/dW = (dL/dy)ᵀ x  (``out×in``), *added* to ``grad_weight``;
        * dL/db = Σₙ (dL/dy)ₙ  (``out``), *added* to ``grad_bias``;
        * returns dL/dx = (dL/dy) W  (``N×in``).

        Tasks `p2.linear.backward` (8 points) and `p2.accumulate` (2 points):
        ``autograder check --task p2.linear.backward``.
        """
        # YOUR CODE HERE
        raise NotImplementedError()

    def param(self):
        if self.bias is None:
            return [(self.weight, self.grad_weight)]
        return [(self.weight, self.grad_weight), (self.bias, self.grad_bias)]

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features}, bias={self.bias is not None})"


# --------------------------------------------------------------------------------------------------
# Activations (element-wise: the output and the gradients have the shape of the input)
# --------------------------------------------------------------------------------------------------


class ReLU(Module):
    """``relu(x) = max(0, x)`` element-wise (**required**).

    Backward: dL/dx = dL/dy · 1[x > 0] (the derivative at 0 is taken as 0, as PyTorch does).

    Tasks `p2.activations.forward` (3 points) and `p2.activations.backward` (6 points), with Tanh and Sigmoid:
    ``autograder check --task p2.activations``.
    """

    def forward(self, input):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self, gradwrtoutput):
        # YOUR CODE HERE
        raise NotImplementedError()


class LeakyReLU(Module):
    """``leaky_relu(x) = x`` if ``x > 0`` else ``negative_slope · x`` (**bonus**).

    Backward: dL/dx = dL/dy · (1 if x > 0 else negative_slope).

    Task `p2.bonus.leaky_relu` (1 bonus point): ``autograder check --task p2.bonus.leaky_relu``.
    """

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, input):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self, gradwrtoutput):
        # YOUR CODE HERE
        raise NotImplementedError()

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Tanh(Module):
    """``tanh(x)`` element-wise (**required**).

    Backward: with ``y = tanh(x)``, dL/dx = dL/dy · (1 − y²); store ``y`` in the forward pass.

    Tasks `p2.activations.forward` (3 points) and `p2.activations.backward` (6 points), with ReLU and Sigmoid:
    ``autograder check --task p2.activations``.
    """

    def forward(self, input):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self, gradwrtoutput):
        # YOUR CODE HERE
        raise NotImplementedError()


class Sigmoid(Module):
    """``σ(x) = 1 / (1 + e^{−x})`` element-wise (**required**).

    Backward: with ``y = σ(x)``, dL/dx = dL/dy · y (1 − y); store ``y`` in the forward pass.

    Tasks `p2.activations.forward` (3 points) and `p2.activations.backward` (6 points), with ReLU and Tanh:
    ``autograder check --task p2.activations``.
    """

    def forward(self, input):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self, gradwrtoutput):
        # YOUR CODE HERE
        raise NotImplementedError()


class Dropout(Module):
    """Inverted dropout (**bonus**).

    In training mode each element is zeroed with probability ``p`` and the survivors are scaled by
    1/(1 − p), so the expected output equals the input: ``y = x · m / (1 − p)`` with m ~ Bernoulli(1 − p)
    drawn afresh at every forward pass (``p = 1`` zeroes everything). In evaluation mode (``eval()``)
    it is the identity. Backward: dL/dx = dL/dy · m / (1 − p) (the identity in evaluation mode).

    Task `p2.bonus.dropout` (1 bonus point): ``autograder check --task p2.bonus.dropout``.
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = float(p)
        self.scale = None

    def forward(self, input):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self, gradwrtoutput):
        # YOUR CODE HERE
        raise NotImplementedError()

    def __repr__(self):
        return f"Dropout(p={self.p})"


# --------------------------------------------------------------------------------------------------
# Losses: forward(prediction, target) -> scalar tensor; backward() -> dL/d(prediction)
# --------------------------------------------------------------------------------------------------


def _check_same_shape(name, prediction, target):
    if prediction.shape != target.shape:
        raise ValueError(
            f"{name}: prediction of shape {tuple(prediction.shape)} and target of shape "
            f"{tuple(target.shape)} differ; give a target of the prediction's shape (broadcasting an "
            f"N×1 prediction against an N target would silently compare every pair)")


class LossMSE(Module):
    """Mean squared error (**required**), like PyTorch's ``MSELoss`` with the mean reduction.

    ``prediction`` and ``target`` have the same shape (any); with ``M`` their number of elements:

    * forward: L = (1/M) Σᵢ (predictionᵢ − targetᵢ)², a 0-dimensional tensor;
    * backward (no argument: L is the end of the chain): dL/d(prediction) = 2 (prediction − target) / M.

    Task `p2.mse` (5 points): ``autograder check --task p2.mse``.
    """

    def forward(self, prediction, target):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self):
        # YOUR CODE HERE
        raise NotImplementedError()


class LossBCE(Module):
    """Binary cross-entropy **on logits** (**bonus**), like PyTorch's ``BCEWithLogitsLoss`` (mean).

    The prediction is a logit ``z`` (any real number, *no* Sigmoid before this loss) and the target
    ``y`` ∈ [0, 1] has the same shape. With p = σ(z) and ``M`` elements:

    * forward: L = (1/M) Σᵢ −[yᵢ log pᵢ + (1 − yᵢ) log(1 − pᵢ)], computed in the stable form
      max(z, 0) − z·y + log(1 + e^{−|z|}), which never takes the log of 0;
    * backward: dL/dz = (σ(z) − y) / M.

    Taking logits keeps the loss finite and the gradient exact when the sigmoid saturates.

    Task `p2.bonus.bce` (1 bonus point): ``autograder check --task p2.bonus.bce``.
    """

    def forward(self, prediction, target):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self):
        # YOUR CODE HERE
        raise NotImplementedError()


class LossCrossEntropy(Module):
    """Cross-entropy of logits against class indices (**bonus**), like PyTorch's ``CrossEntropyLoss``.

    ``prediction`` is ``N×C`` logits and ``target`` ``N`` integer classes in [0, C). With the softmax
    sₙ = softmax(predictionₙ):

    * forward: L = (1/N) Σₙ [logsumexp(predictionₙ) − predictionₙ,targetₙ]; subtract the row maximum
      before exponentiating so that large logits do not overflow;
    * backward: dL/d(prediction) = (s − onehot(target)) / N.

    Task `p2.bonus.cross_entropy` (2 bonus points): ``autograder check --task p2.bonus.cross_entropy``.
    """

    def forward(self, prediction, target):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self):
        # YOUR CODE HERE
        raise NotImplementedError()


# --------------------------------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------------------------------


class Sequential(Module):
    """Modules applied one after the other (**required**).

    * forward: x → m₁(x) → m₂(m₁(x)) → … ;
    * backward: the gradient goes through the modules in *reverse* order, each ``backward`` taking the
      gradient returned by the next module;
    * ``param()``: the concatenation of the modules' ``param()`` lists, in order;
    * ``train()``/``eval()`` switch every module.

    Task `p2.sequential` (6 points): ``autograder check --task p2.sequential``.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        self.modules = list(modules)

    def forward(self, input):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self, gradwrtoutput):
        # YOUR CODE HERE
        raise NotImplementedError()

    def param(self):
        # YOUR CODE HERE
        raise NotImplementedError()

    def train(self, mode=True):
        super().train(mode)
        for module in self.modules:
            module.train(mode)
        return self

    def __getitem__(self, index):
        return self.modules[index]

    def __len__(self):
        return len(self.modules)

    def __repr__(self):
        inner = "".join(f"\n  ({i}): {m!r}" for i, m in enumerate(self.modules))
        return f"Sequential({inner}\n)"


# --------------------------------------------------------------------------------------------------
# Optimisers: params is model.param(), a list of (parameter, gradient) pairs updated in place
# --------------------------------------------------------------------------------------------------


class SGD:
    """Stochastic gradient descent, identical to ``torch.optim.SGD(params, lr, momentum)``.

    Plain steps (**required**): θ ← θ − lr · g.

    With ``momentum`` μ > 0 (**bonus**), each parameter keeps a velocity ``b``: b ← g at the first step
    and b ← μ b + g afterwards, then θ ← θ − lr · b.

    ``step()`` updates the parameters in place; ``zero_grad()`` sets the gradients to zero.

    Task `p2.sgd` (5 points) for plain steps, `p2.bonus.momentum` (2 bonus points) with momentum:
    ``autograder check --task p2.sgd``.
    """

    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        if lr < 0 or momentum < 0:
            raise ValueError(f"SGD: lr and momentum must be non-negative, got lr={lr}, momentum={momentum}")
        self.lr, self.momentum = float(lr), float(momentum)
        self.velocity = [None] * len(self.params)  # momentum buffers, created at the first step

    def step(self):
        # YOUR CODE HERE
        raise NotImplementedError()

    def zero_grad(self):
        for _, grad in self.params:
            grad.zero_()


class Adam:
    """Adam, identical to ``torch.optim.Adam(params, lr, betas, eps)`` (**bonus**).

    Each parameter θ with gradient g keeps moment estimates m and v (both start at 0). At step t = 1, 2, …:

    * m ← β₁ m + (1 − β₁) g and v ← β₂ v + (1 − β₂) g²;
    * θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).

    (That is θ ← θ − lr · m̂ / (√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), grouped as PyTorch does.)

    Task `p2.bonus.adam` (2 bonus points): ``autograder check --task p2.bonus.adam``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.lr, self.betas, self.eps = float(lr), (float(betas[0]), float(betas[1])), float(eps)
        self.t = 0
        self.m = [torch.zeros_like(p) for p, _ in self.params]
        self.v = [torch.zeros_like(p) for p, _ in self.params]

    def step(self):
        # YOUR CODE HERE
        raise NotImplementedError()

    def zero_grad(self):
        for _, grad in self.params:
            grad.zero_()


# --------------------------------------------------------------------------------------------------
# Convolutional tier (bonus): images are N×C×H×W
# --------------------------------------------------------------------------------------------------


def _pair(value):
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


class Conv2d(Module):
    """2-D convolution (cross-correlation, as in PyTorch) (**bonus**).

    ``weight`` is ``out_channels × in_channels × kh × kw`` and ``bias`` ``out_channels``, both drawn from
    U(−1/√(in_channels·kh·kw), 1/√(in_channels·kh·kw)) (PyTorch's default). An ``N×C×H×W`` input gives
    an ``N×out×H'×W'`` output with H' = ⌊(H + 2·padding − kh)/stride⌋ + 1 (same for W').

    Forward ("im2col"): pad the input with zeros, gather every kh×kw patch into a matrix X of shape
    ``(N·H'·W') × (C·kh·kw)`` with ``Tensor.unfold`` (or index arithmetic), compute X W_flatᵀ + b with
    W_flat = weight reshaped to ``out × (C·kh·kw)``, and reshape to ``N×out×H'×W'``.

    Backward: with G = dL/dy reshaped to ``(N·H'·W') × out``,
    dL/dW_flat += Gᵀ X, dL/db += Σ G over rows, dL/dX = G W_flat; then every patch gradient is added back
    at the place its patch came from ("col2im": overlapping patches add up) and the padding is cut off.

    Task `p2.bonus.conv2d` (3 bonus points): ``autograder check --task p2.bonus.conv2d``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True, *,
                 dtype=None, device=None):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        kh, kw = self.kernel_size
        bound = 1.0 / math.sqrt(self.in_channels * kh * kw)
        dtype = dtype or torch.get_default_dtype()
        self.weight = torch.empty(self.out_channels, self.in_channels, kh, kw, dtype=dtype, device=device)
        self.weight.uniform_(-bound, bound)
        self.grad_weight = torch.zeros_like(self.weight)
        if bias:
            self.bias = torch.empty(self.out_channels, dtype=dtype, device=device).uniform_(-bound, bound)
            self.grad_bias = torch.zeros_like(self.bias)
        else:
            self.bias = None
            self.grad_bias = None

    def forward(self, input):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self, gradwrtoutput):
        # YOUR CODE HERE
        raise NotImplementedError()

    def param(self):
        if self.bias is None:
            return [(self.weight, self.grad_weight)]
        return [(self.weight, self.grad_weight), (self.bias, self.grad_bias)]

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


class MaxPool2d(Module):
    """Max pooling over non-overlapping ``k×k`` windows (stride = kernel size) (**bonus**).

    ``N×C×H×W`` → ``N×C×⌊H/k⌋×⌊W/k⌋``; rows and columns that do not fill a window are dropped, as in
    PyTorch. Backward: each window's gradient goes entirely to the position of its maximum (the first
    one in case of a tie); every other input position, dropped ones included, gets 0.

    Task `p2.bonus.maxpool` (2 bonus points): ``autograder check --task p2.bonus.maxpool``.
    """

    def __init__(self, kernel_size):
        super().__init__()
        self.kernel_size = _pair(kernel_size)

    def forward(self, input):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self, gradwrtoutput):
        # YOUR CODE HERE
        raise NotImplementedError()

    def __repr__(self):
        return f"MaxPool2d(kernel_size={self.kernel_size})"


class Flatten(Module):
    """``N×d₁×d₂×…`` → ``N×(d₁·d₂·…)`` (**bonus**); backward reshapes the gradient back.

    Task `p2.bonus.flatten` (1 bonus point): ``autograder check --task p2.bonus.flatten``.
    """

    def forward(self, input):
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self, gradwrtoutput):
        # YOUR CODE HERE
        raise NotImplementedError()
