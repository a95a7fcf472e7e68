"""nn.save / nn.load: round trips, and refusals (pickles, corrupt or missing files, mismatches) that change nothing."""
import os
import zipfile

import numpy as np
import pytest

import nn


def _net(seed, hidden=4):
    r = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(3, hidden, rng=r), nn.Tanh(), nn.Linear(hidden, 2, rng=r))


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(np.array_equal(sa[k], sb[k]) for k in sa)


def test_round_trip(tmp_path):
    src, dst = _net(0), _net(1)
    path = tmp_path / "model.npz"
    nn.save(src, path)
    state = nn.load(path)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(isinstance(v, np.ndarray) for v in state.values())
    dst.load_state_dict(state)
    assert _same(src, dst)
    x = np.random.default_rng(2).normal(size=(4, 3))
    np.testing.assert_array_equal(src(x).data, dst(x).data)


def test_saves_a_plain_mapping_and_keeps_the_exact_path(tmp_path):
    path = tmp_path / "weights.bin"  # no .npz suffix is added behind the user's back
    nn.save({"a": np.arange(3), "b.c": np.float64(2.5)}, path)
    assert os.listdir(tmp_path) == ["weights.bin"]
    loaded = nn.load(path)
    np.testing.assert_array_equal(loaded["a"], [0, 1, 2])
    assert loaded["b.c"] == 2.5


def test_refuses_pickled_objects_without_running_them(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as z:
        with z.open("0.weight.npy", "w") as f:
            np.lib.format.write_array(f, np.array([Evil()], dtype=object), allow_pickle=True)
    model = _net(0)
    before = model.state_dict()
    with pytest.raises(ValueError, match="evil.npz.*pickle"):
        model.load_state_dict(nn.load(path))
    assert not marker.exists()
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_refuses_corrupt_and_truncated_files(tmp_path):
    path = tmp_path / "model.npz"
    nn.save(_net(0), path)
    raw = path.read_bytes()
    bad = tmp_path / "flipped.npz"
    middle = len(raw) // 2
    bad.write_bytes(raw[:middle] + bytes([raw[middle] ^ 0xFF]) + raw[middle + 1:])
    with pytest.raises(ValueError, match="flipped.npz"):
        nn.load(bad)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ValueError, match="cut.npz"):
        nn.load(cut)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ValueError, match="junk.npz"):
        nn.load(junk)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        nn.load(tmp_path / "nope.npz")


def test_mismatched_file_changes_nothing(tmp_path):
    path = tmp_path / "wide.npz"
    nn.save(_net(0, hidden=5), path)
    model = _net(1)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"0.weight.*shape \(3, 5\)"):
        model.load_state_dict(nn.load(path))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_failed_save_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.npz"
    nn.save(_net(0), path)
    old = path.read_bytes()
    with pytest.raises(TypeError, match="'bad'.*dtype"):
        nn.save({"good": np.ones(2), "bad": np.array([object()], dtype=object)}, path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.npz"]
    with pytest.raises(TypeError, match="mapping"):
        nn.save(42, path)
    with pytest.raises(ValueError, match="key"):
        nn.save({"a/b": np.ones(1)}, path)


