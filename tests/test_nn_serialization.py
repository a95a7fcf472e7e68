"""nn.save / nn.load: round trips, refusals (pickles, corrupt or missing files, mismatches) that change nothing,
and what a save guarantees (atomic replace, no temporary file left, data on disk first, the usual permissions,
symlinks written through). Hostile files for nn.load are in test_nn_hostile_files.py."""
import os
import re
import stat
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
    nn.save({"a": np.arange(3), "b.c": np.float64(2.5), "é ü": np.ones(1)}, path)
    assert os.listdir(tmp_path) == ["weights.bin"]
    loaded = nn.load(path)
    np.testing.assert_array_equal(loaded["a"], [0, 1, 2])
    assert loaded["b.c"] == 2.5 and list(loaded) == ["a", "b.c", "é ü"]


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


def test_missing_file_and_folder_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        nn.load(tmp_path / "nope.npz")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        nn.load(tmp_path)


def test_mismatched_file_changes_nothing(tmp_path):
    path = tmp_path / "wide.npz"
    wide = _net(0, hidden=5)
    nn.save(wide, path)
    model = _net(1)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"0.weight.*shape " + re.escape(str(wide.state_dict()["0.weight"].shape))):
        model.load_state_dict(nn.load(path))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


# ---- what a save refuses ------------------------------------------------------------------------------
def test_failed_save_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.npz"
    nn.save(_net(0), path)
    old = path.read_bytes()
    with pytest.raises(TypeError, match="model.npz.*'bad'.*dtype"):
        nn.save({"good": np.ones(2), "bad": np.array([object()], dtype=object)}, path)
    with pytest.raises(TypeError, match="model.npz.*mapping"):
        nn.save(42, path)
    with pytest.raises(TypeError, match="model.npz.*'ragged'.*cannot be read as an array"):
        nn.save({"ragged": [[1, 2], [3]]}, path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.npz"]


@pytest.mark.parametrize("key, complaint", [
    ("a\0b", "NUL"), ("a/b", "slash"), ("a\\b", "slash"), ("", "empty"), (3, "not a string"),
    ("bad\udc80", "lone surrogate"),
])
def test_keys_that_would_not_come_back_are_refused(tmp_path, key, complaint):
    path = tmp_path / "keys.npz"
    with pytest.raises(ValueError, match=rf"keys.npz.*key .*{complaint}"):
        nn.save({"fine": np.ones(1), key: np.ones(1)}, path)
    assert os.listdir(tmp_path) == []


def test_saving_over_a_directory_or_into_a_missing_folder(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="'.*d' is a directory"):
        nn.save({"a": np.ones(1)}, tmp_path / "d")
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        nn.save({"a": np.ones(1)}, tmp_path / "no_such_folder" / "m.npz")
    assert os.listdir(tmp_path) == ["d"] and os.listdir(tmp_path / "d") == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write read-only files")
def test_a_read_only_file_is_not_replaced(tmp_path):
    path = tmp_path / "frozen.npz"
    nn.save({"a": np.ones(1)}, path)
    path.chmod(0o444)
    old = path.read_bytes()
    with pytest.raises(PermissionError, match="frozen.npz.*read-only"):
        nn.save({"a": np.zeros(1)}, path)
    assert path.read_bytes() == old


# ---- interrupted saves ---------------------------------------------------------------------------------
@pytest.mark.parametrize("error", [KeyboardInterrupt, MemoryError, OSError])
def test_an_interrupted_save_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch, error):
    path = tmp_path / "model.npz"
    nn.save(_net(0), path)
    old = path.read_bytes()
    real, calls = np.lib.format.write_array, []

    def write_then_fail(f, arr, **kw):
        calls.append(1)
        if len(calls) == 3:  # two members are already in the temporary file
            raise error("interrupted")
        real(f, arr, **kw)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(error):
        nn.save(_net(1), path)
    assert len(calls) == 3
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_failed_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match="model.npz"):
        nn.save({"a": np.ones(3)}, path)
    assert os.listdir(tmp_path) == []


def test_data_reaches_the_disk_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        events.append(("fsync", st.st_ino, stat.S_ISDIR(st.st_mode), st.st_size))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.stat(src).st_ino))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = tmp_path / "model.npz"
    nn.save(_net(0), path)
    kinds = [e[0] for e in events]
    assert kinds.count("replace") == 1
    r = kinds.index("replace")
    ino = events[r][1]
    size = os.path.getsize(path)
    assert ("fsync", ino, False, size) in events[:r]  # the whole file, synced before it got its name
    if os.name == "posix":  # and the folder after, so that the rename itself survives a crash
        assert any(e[0] == "fsync" and e[2] for e in events[r:])


# ---- permissions and symlinks --------------------------------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077, 0o002])
def test_a_new_file_gets_the_permissions_np_savez_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        nn.save({"a": np.ones(2)}, tmp_path / "ours.npz")
        np.savez(tmp_path / "numpys.npz", a=np.ones(2))
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(tmp_path / "ours.npz").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "numpys.npz").st_mode) == 0o666 & ~umask


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_a_replaced_file_keeps_its_permissions_as_with_np_savez(tmp_path, mode):
    for name, writer in [("ours.npz", lambda p: nn.save({"a": np.ones(2)}, p)),
                         ("numpys.npz", lambda p: np.savez(p, a=np.ones(2)))]:
        path = tmp_path / name
        path.write_bytes(b"old")
        path.chmod(mode)
        writer(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, name


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
def test_saving_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "model-v2.npz"
    nn.save({"a": np.zeros(2)}, target)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    nn.save({"a": np.ones(2)}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(nn.load(target)["a"], 1.0)
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "runs"] and os.listdir(tmp_path / "runs") == ["model-v2.npz"]
    dangling = tmp_path / "next.npz"
    dangling.symlink_to(tmp_path / "runs" / "model-v3.npz")  # like open(path, "wb"), create the target
    nn.save({"a": np.ones(2)}, dangling)
    assert dangling.is_symlink() and (tmp_path / "runs" / "model-v3.npz").is_file()
