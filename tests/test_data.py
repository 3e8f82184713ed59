"""course.data: shapes, the target rule, disjointness, reproducibility, the IDX reader and its errors."""

import gzip

import numpy as np
import pytest
import torch

from course import data
from course.errors import DataError
from mnist_idx import idx_bytes, write_mnist


@pytest.fixture(scope="module")
def pair_sets():
    return data.generate_pair_sets(1000, seed=0)


def _keys(images):
    """One hashable key per image, by content."""
    flat = images.reshape(len(images), -1).to(torch.int64).numpy()
    return {row.tobytes() for row in flat}


def test_shapes_and_dtypes(pair_sets):
    shapes = [tuple(t.shape) for t in pair_sets]
    assert shapes == [(1000, 2, 14, 14), (1000,), (1000, 2), (1000, 2, 14, 14), (1000,), (1000, 2)]
    dtypes = [t.dtype for t in pair_sets]
    assert dtypes == [torch.float32, torch.int64, torch.int64] * 2


def test_values_are_pooled_raw_pixels(pair_sets):
    train_input = pair_sets[0]
    assert float(train_input.min()) >= 0 and float(train_input.max()) <= 255
    assert float(train_input.max()) > 200, "inputs must keep the raw 0-255 scale (not normalised)"


def test_pairs_are_avg_pooled_digits_of_their_class():
    pools = data.load_mnist()
    pooled = torch.nn.functional.avg_pool2d(pools.train_images.float().unsqueeze(1), 2).squeeze(1)
    by_content = {img.numpy().tobytes(): int(lab) for img, lab in zip(pooled, pools.train_labels)}
    train_input, _, train_classes, *_ = data.generate_pair_sets(50, seed=3)
    for pair, classes in zip(train_input, train_classes):
        for k in range(2):
            assert by_content[pair[k].numpy().tobytes()] == int(classes[k])


def test_target_rule(pair_sets):
    for target, classes in ((pair_sets[1], pair_sets[2]), (pair_sets[4], pair_sets[5])):
        assert torch.equal(target, (classes[:, 0] <= classes[:, 1]).long())
        assert set(target.unique().tolist()) == {0, 1}
        assert int(classes.min()) >= 0 and int(classes.max()) <= 9


def test_no_digit_image_in_both_train_and_test(pair_sets):
    train_keys = _keys(pair_sets[0].reshape(-1, 14, 14))
    test_keys = _keys(pair_sets[3].reshape(-1, 14, 14))
    shared = train_keys & test_keys
    assert not shared, f"{len(shared)} digit images appear in both the train and the test pairs"


def test_pools_are_disjoint_and_stratified():
    pools = data.load_mnist()
    assert not _keys(pools.train_images) & _keys(pools.test_images)
    assert torch.bincount(pools.train_labels).tolist() == [250] * 10
    assert torch.bincount(pools.test_labels).tolist() == [250] * 10


def test_no_image_used_twice_within_a_set(pair_sets):
    for images in (pair_sets[0], pair_sets[3]):
        assert len(_keys(images.reshape(-1, 14, 14))) == 2 * len(images)


def test_same_seed_same_sets_other_seed_other_sets(pair_sets):
    again = data.generate_pair_sets(1000, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(pair_sets, again))
    other = data.generate_pair_sets(1000, seed=1)
    assert not torch.equal(pair_sets[0], other[0])
    fresh = [data.generate_pair_sets(10)[0] for _ in range(2)]
    assert not torch.equal(*fresh), "seed=None must draw fresh pairs"


def test_global_rng_untouched():
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    data.generate_pair_sets(100, seed=5)
    data.generate_pair_sets(100)
    data.generate_disc_set(100, seed=5)
    data.generate_disc_set(100)
    assert torch.equal(state, torch.get_rng_state()), "data generation must not touch the global RNG"


def test_import_has_no_side_effects():
    import subprocess
    import sys

    code = ("import sys, torch; s = torch.get_rng_state(); sys.argv = ['x', '--bogus']; "
            "import course.data; assert torch.equal(s, torch.get_rng_state())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_too_many_pairs_states_the_maximum():
    with pytest.raises(DataError, match=r"at most 1250 pairs"):
        data.generate_pair_sets(1251, seed=0)
    with pytest.raises(DataError, match=r"at least 1"):
        data.generate_pair_sets(0)


def test_disc_set():
    points, labels = data.generate_disc_set(10000, seed=0)
    assert points.shape == (10000, 2) and points.dtype == torch.float32
    assert labels.shape == (10000,) and labels.dtype == torch.int64
    assert float(points.min()) >= 0 and float(points.max()) <= 1
    inside = ((points - 0.5) ** 2).sum(1).sqrt() < 1 / (2 * torch.pi) ** 0.5
    assert torch.equal(labels, inside.long())
    assert 0.47 < labels.float().mean() < 0.53, "the disk has area 1/2"
    assert torch.equal(points, data.generate_disc_set(10000, seed=0)[0])


def test_normalize_uses_training_statistics():
    train, test = torch.arange(10.0), torch.arange(10.0) + 100
    train_n, test_n = data.normalize(train, test)
    assert abs(float(train_n.mean())) < 1e-6 and abs(float(train_n.std()) - 1) < 1e-6
    assert torch.allclose(test_n, (test - train.mean()) / train.std())


def test_bundled_subset_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    data._load.cache_clear()
    data.load_mnist("bundled")
    assert list(tmp_path.glob("dl-miniprojects/mnist_5k-*.npz")), "the parsed subset must be cached"

    def refuse(*args, **kwargs):
        raise AssertionError("the CSV was parsed again although a cached copy exists")

    monkeypatch.setattr(np, "loadtxt", refuse)
    data._load.cache_clear()
    pools = data.load_mnist("bundled")
    assert len(pools.train_labels) == 2500
    data._load.cache_clear()


# --------------------------------------------------------------------------------------------------
# Full MNIST from IDX files
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    suffix = ".gz" if gz else ""
    images = data.read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}")
    labels = data.read_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}")
    assert images.dtype == torch.uint8 and images.shape == (40, 28, 28)
    assert np.array_equal(images.numpy(), arrays["train-images-idx3-ubyte"])
    assert np.array_equal(labels.numpy(), arrays["train-labels-idx1-ubyte"])


@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_full_mnist_folder(tmp_path, layout, monkeypatch):
    folder = tmp_path / "MNIST" / "raw" if layout == "torchvision" else tmp_path
    arrays = write_mnist(folder, gz=layout == "torchvision")
    pools = data.load_mnist(tmp_path)
    assert pools.train_images.shape == (40, 28, 28) and pools.test_images.shape == (20, 28, 28)
    sets = data.generate_pair_sets(20, seed=0, data_dir=tmp_path, nb_test=10)
    assert [tuple(t.shape) for t in sets] == [(20, 2, 14, 14), (20,), (20, 2), (10, 2, 14, 14), (10,), (10, 2)]
    expected = torch.nn.functional.avg_pool2d(
        torch.from_numpy(arrays["train-images-idx3-ubyte"]).float().unsqueeze(1), 2).squeeze(1)
    assert _keys(sets[0].reshape(-1, 14, 14)) <= _keys(expected)
    monkeypatch.setenv("COURSE_MNIST_DIR", str(tmp_path))
    assert "full MNIST" in data.load_mnist().source


def test_missing_folder_names_it_and_the_layout(tmp_path):
    with pytest.raises(DataError, match=r"does not exist.*train-images-idx3-ubyte"):
        data.load_mnist(tmp_path / "nowhere")


def test_missing_file_is_named(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte not found in .*expected a folder"):
        data.load_mnist(tmp_path)


@pytest.mark.parametrize("folder", ["empty", "missing"])
def test_folder_from_course_mnist_dir_is_named_as_such(tmp_path, monkeypatch, folder):
    """An empty or a missing folder that came from COURSE_MNIST_DIR: the message names the variable."""
    path = tmp_path / "mnist"
    if folder == "empty":
        path.mkdir()
    monkeypatch.setenv("COURSE_MNIST_DIR", str(path))
    for load in (data.load_mnist, lambda: data.generate_pair_sets(10, seed=0)):
        with pytest.raises(DataError) as caught:
            load()
        message = str(caught.value)
        assert f"{path} (from COURSE_MNIST_DIR)" in message and "unset it" in message, message
    with pytest.raises(DataError) as caught:  # the same folder given explicitly: no variable to blame
        data.load_mnist(path)
    assert "COURSE_MNIST_DIR" not in str(caught.value) and str(path) in str(caught.value)


def test_corrupt_files_are_named(tmp_path):
    write_mnist(tmp_path)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"not an idx file at all")
    with pytest.raises(DataError, match=r"corrupt MNIST file .*train-images-idx3-ubyte.*magic"):
        data.load_mnist(tmp_path)
    raw = idx_bytes(np.zeros((40, 28, 28)))
    bad.write_bytes(raw[:-100])
    with pytest.raises(DataError, match=r"corrupt MNIST file .*truncated"):
        data.load_mnist(tmp_path)
    bad.write_bytes(gzip.compress(raw)[:50])
    with pytest.raises(DataError, match=r"corrupt MNIST file .*gzip"):
        data.read_idx(bad)


def test_label_count_mismatch(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(39) % 10))
    with pytest.raises(DataError, match=r"40 images but labels of shape \(39,\)"):
        data.load_mnist(tmp_path)


# --------------------------------------------------------------------------------------------------
# The course data command
# --------------------------------------------------------------------------------------------------


def test_course_data_info(capsys):
    from course.cli import main

    assert main(["data", "--info"]) == 0
    out = capsys.readouterr().out
    assert "train pool: 2500 digits" in out and "at most 1250 pairs" in out


def test_course_data_show(tmp_path):
    from course.cli import main

    path = tmp_path / "pairs.png"
    assert main(["data", "--show", str(path), "--n", "8"]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_course_data_missing_folder_is_a_message_not_a_traceback(tmp_path, capsys):
    from course.cli import main

    assert main(["data", "--info", "--data-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("course: error: MNIST folder") and "Traceback" not in err
