"""nn.load against files made by a hostile or careless hand: bombs, forged sizes, shapes of 1e18 elements,
things that are not state files at all. Each file is built here, byte by byte where it has to lie."""
import io
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import numpy as np
import pytest

import nn

DEFLATED, STORED = zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED


def _zip(members):
    """A zip archive from (name, payload, method, crc, declared size) tuples, with the sizes and CRCs exactly
    as given, true or not (zipfile itself would refuse to write a lie)."""
    out, central = bytearray(), bytearray()
    for name, payload, method, crc, size in members:
        n = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(payload), size, len(n), 0)
        out += n + payload
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(payload),
                               size, len(n), 0, 0, 0, 0, 0, offset) + n
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


def _stored(name, raw):
    return (name, raw, STORED, zlib.crc32(raw), len(raw))


def _npy(arr):
    f = io.BytesIO()
    np.lib.format.write_array(f, np.asarray(arr), allow_pickle=False)
    return f.getvalue()


def _npy_header(shape, dtype="<f8"):
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": dtype, "fortran_order": False, "shape": shape})
    return f.getvalue()


def _zeros_member(name, nbytes, block=16 << 20):
    """A deflated .npy member holding nbytes of float64 zeros (a multiple of `block`), built without ever
    holding more than one block: after a full flush deflate restarts, so one compressed block of zeros can be
    repeated. Returns the member tuple for _zip."""
    header = _npy_header((nbytes // 8,))
    zeros = bytes(block)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = co.compress(header + zeros) + co.flush(zlib.Z_FULL_FLUSH)
    middle = co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH)
    payload = first + middle * (nbytes // block - 1) + co.flush()
    crc = zlib.crc32(header)
    for _ in range(nbytes // block):
        crc = zlib.crc32(zeros, crc)
    return (name, payload, DEFLATED, crc, len(header) + nbytes)


# ---- decompression bombs and forged sizes -----------------------------------------------------------
def test_a_2mb_bomb_is_refused_without_using_memory(tmp_path):
    pytest.importorskip("resource")  # the child measures its peak memory with it (not on Windows)
    bomb = tmp_path / "bomb.npz"
    bomb.write_bytes(_zip([_zeros_member("weight.npy", 2 << 30)]))  # 2 GiB of zeros in about 2 MB
    assert os.path.getsize(bomb) < 2.2e6
    root = os.path.dirname(os.path.dirname(os.path.abspath(nn.__file__)))
    child = textwrap.dedent(f"""
        import resource, sys, time
        sys.path.insert(0, {root!r})
        import nn
        start = time.perf_counter()
        try:
            nn.load({str(bomb)!r})
            print("loaded")
        except ValueError as e:
            print("refused:", e)
        print(time.perf_counter() - start)
        try:  # this process's own peak (ru_maxrss would include the parent's peak at fork)
            hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
            print(int(hwm.split()[1]) * 1024)
        except OSError:
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024))
    """)
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    verdict, seconds, peak = out.stdout.strip().splitlines()
    assert verdict.startswith("refused:") and "bomb.npz" in verdict and "max_bytes" in verdict, verdict
    assert int(peak) < 100e6, f"peak memory {int(peak) / 1e6:.0f} MB (refused in {float(seconds):.3f} s)"


def test_the_default_limit_is_the_boundary_and_max_bytes_moves_it(tmp_path):
    # 72 MB of zeros in about 70 KB: over the default (64 MiB, as 100 times the file is less), under 80 MiB.
    path = tmp_path / "zeros.npz"
    path.write_bytes(_zip([_zeros_member("z.npy", 72 << 20, block=8 << 20)]))
    with pytest.raises(ValueError, match=r"zeros.npz.*72.0 MiB.*default limit of 64.0 MiB"):
        nn.load(path)
    with pytest.raises(ValueError, match=r"zeros.npz.*max_bytes=1000"):
        nn.load(path, max_bytes=1000)
    state = nn.load(path, max_bytes=80 << 20)
    assert state["z"].shape == ((72 << 20) // 8,) and not state["z"].any()
    with pytest.raises(TypeError, match="max_bytes"):
        nn.load(path, max_bytes=1.5e9)
    with pytest.raises(ValueError, match="max_bytes"):
        nn.load(path, max_bytes=-1)


def test_a_state_file_over_max_bytes_is_refused_before_reading(tmp_path):
    path = tmp_path / "model.npz"
    nn.save({"w": np.ones((100, 100))}, path)
    with pytest.raises(ValueError, match=r"model.npz.*max_bytes=50000"):
        nn.load(path, max_bytes=50_000)
    np.testing.assert_array_equal(nn.load(path, max_bytes=80_200)["w"], 1.0)


@pytest.mark.parametrize("declared, method, payload", [
    (3 << 30, STORED, b"x" * 100),  # a stored member cannot hold more than its bytes
    (1 << 31, DEFLATED, zlib.compress(b"x" * 100)[2:-4]),  # nor can 100-odd deflated bytes hold 2 GiB
], ids=["stored", "deflated"])
def test_a_member_that_declares_more_than_it_can_hold_is_refused(tmp_path, declared, method, payload):
    path = tmp_path / "forged.npz"
    path.write_bytes(_zip([("w.npy", payload, method, 0, declared)]))
    with pytest.raises(ValueError, match=r"forged.npz.*'w.npy'.*declares \d+ bytes.*damaged or forged"):
        nn.load(path, max_bytes=1 << 40)


@pytest.mark.parametrize("shape, dtype", [((10**18,), "<f8"), ((10**9, 10**9), "<f8"), ((2**62,), "|i1"),
                                          ((3, 10**6, 10**6, 10**6), "<c16"), ((10**17, 1, 1), "<f4")])
@pytest.mark.parametrize("max_bytes", [None, 1 << 70])
def test_declared_shapes_of_1e18_elements_are_a_value_error_naming_the_key(tmp_path, shape, dtype, max_bytes):
    path = tmp_path / "huge.npz"
    path.write_bytes(_zip([_stored("fine.npy", _npy(np.ones(3))),
                           _stored("layer.weight.npy", _npy_header(shape, dtype) + bytes(80))]))
    with pytest.raises(ValueError, match=r"huge.npz.*'layer.weight'.*declares shape"):
        nn.load(path, max_bytes=max_bytes)


def test_truncated_and_overlong_data_are_refused(tmp_path):
    header = _npy_header((10,))
    for name, data in [("short.npz", header + bytes(79)), ("long.npz", header + bytes(81))]:
        (tmp_path / name).write_bytes(_zip([_stored("w.npy", data)]))
        with pytest.raises(ValueError, match=rf"{name}.*'w'.*declares shape \(10,\).*80 bytes.*holds"):
            nn.load(tmp_path / name)


def test_a_wrong_crc_is_refused(tmp_path):
    raw = _npy(np.arange(4.0))
    path = tmp_path / "crc.npz"
    path.write_bytes(_zip([("w.npy", raw, STORED, zlib.crc32(raw) ^ 1, len(raw))]))
    with pytest.raises(ValueError, match=r"crc.npz.*'w'.*damaged.*CRC"):
        nn.load(path)


@pytest.mark.parametrize("writer", [nn.save, np.savez_compressed])
def test_every_single_byte_corruption_is_refused_or_harmless(tmp_path, writer):
    # Whatever byte a disk or a stranger flips, nn.load raises a ValueError naming the file or returns
    # exactly what was saved (a flip in a field nothing reads, such as a timestamp).
    saved = {"w": np.arange(6.0).reshape(2, 3), "n": np.array([1, 2], dtype=np.int32), "s": np.float32(3.5)}
    path = tmp_path / "m.npz"
    if writer is nn.save:
        nn.save(saved, path)
    else:
        writer(path, **saved)
    raw = path.read_bytes()
    harmless = 0
    for i in range(len(raw)):
        path.write_bytes(raw[:i] + bytes([raw[i] ^ 0x5A]) + raw[i + 1:])
        try:
            got = nn.load(path)
        except ValueError as e:
            assert "m.npz" in str(e)
            continue
        harmless += 1
        assert list(got) == list(saved), i
        for k in saved:
            assert got[k].dtype == np.asarray(saved[k]).dtype and np.array_equal(got[k], saved[k]), (i, k)
    assert harmless < len(raw) // 2  # most bytes matter (sizes, names, CRCs, headers, data)


def test_members_hidden_from_the_directory_or_overlapping_are_refused(tmp_path):
    a, b = _stored("a.npy", _npy(np.ones(2))), _stored("b.npy", _npy(np.zeros(2)))
    full = _zip([a, b])
    # The same local records, but a directory that lists only b: a is hidden in front of it.
    only_b = _zip([b])
    hidden = full[:full.index(b"PK\x03\x04", 1)] + only_b
    hidden = bytearray(hidden)
    shift = full.index(b"PK\x03\x04", 1)
    cd = hidden.rindex(b"PK\x01\x02")
    struct.pack_into("<I", hidden, cd + 42, shift)  # b's local header now sits after a's record
    eocd = hidden.rindex(b"PK\x05\x06")
    struct.pack_into("<I", hidden, eocd + 16, cd)
    (tmp_path / "hidden.npz").write_bytes(bytes(hidden))
    with pytest.raises(ValueError, match=r"hidden.npz.*damaged or forged"):
        nn.load(tmp_path / "hidden.npz")
    # Two directory entries that point at the same data (how the largest zip bombs multiply it).
    twice = bytearray(_zip([a, ("c.npy",) + a[1:]]))
    cd2 = twice.rindex(b"PK\x01\x02")
    struct.pack_into("<I", twice, cd2 + 42, 0)
    (tmp_path / "overlap.npz").write_bytes(bytes(twice))
    with pytest.raises(ValueError, match=r"overlap.npz.*damaged or forged"):
        nn.load(tmp_path / "overlap.npz")


# ---- files that are not state files ----------------------------------------------------------------
def test_a_plain_npy_file_gets_a_clear_error(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.ones(3))
    with pytest.raises(ValueError, match=r"w.npy.*single array in .npy format.*np.load"):
        nn.load(path)


def test_a_text_file_is_called_text_not_a_pickle(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("weights: 1, 2, 3\nbias: 0\n")
    with pytest.raises(ValueError, match=r"notes.txt.*a text file") as err:
        nn.load(path)
    assert "pickle" not in str(err.value)


def test_a_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"w": Evil()}, protocol=4))
    with pytest.raises(ValueError, match=r"model.pkl.*Python pickle"):
        nn.load(path)
    assert not marker.exists()


def test_empty_and_unknown_binary_files(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.npz.*empty file"):
        nn.load(tmp_path / "empty.npz")
    (tmp_path / "noise.npz").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"noise.npz.*binary data of an unknown kind"):
        nn.load(tmp_path / "noise.npz")


@pytest.mark.parametrize("name, data, complaint", [
    ("weights", b"\x00\x01\x02", r"'weights'.*not an .npy array"),
    ("w.npy", b"just some bytes", r"'w'.*raw bytes, not an .npy array"),
    ("dir/", b"", r"'dir/'.*not an .npy array"),
])
def test_a_zip_of_raw_bytes_is_refused(tmp_path, name, data, complaint):
    path = tmp_path / "raw.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ok.npy", _npy(np.ones(2)))
        z.writestr(name, data)
    with pytest.raises(ValueError, match="raw.npz.*" + complaint):
        nn.load(path)


def test_duplicate_members_are_refused(tmp_path):
    path = tmp_path / "dup.npz"
    path.write_bytes(_zip([_stored("w.npy", _npy(np.ones(2))), _stored("w.npy", _npy(np.zeros(2)))]))
    with pytest.raises(ValueError, match=r"dup.npz.*'w.npy' appears twice"):
        nn.load(path)


@pytest.mark.parametrize("arr, complaint", [
    (np.array(["a", "bc"]), r"dtype <U2; only numeric"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), r"dtype datetime64\[D\]; only numeric"),
    (np.zeros(2, dtype=[("x", "<f8"), ("y", "<i4")]), r"only numeric"),
    (np.array([{"a": 1}], dtype=object), r"pickled Python objects"),
])
def test_non_numeric_members_are_refused(tmp_path, arr, complaint):
    path = tmp_path / "odd.npz"
    f = io.BytesIO()
    np.lib.format.write_array(f, arr, allow_pickle=True)
    path.write_bytes(_zip([_stored("v.npy", f.getvalue())]))
    with pytest.raises(ValueError, match=r"odd.npz.*'v'.*" + complaint):
        nn.load(path)


def test_unsupported_compression_and_encryption_are_named(tmp_path):
    path = tmp_path / "bz.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as z:
        z.writestr("w.npy", _npy(np.ones(2)))
    with pytest.raises(ValueError, match=r"bz.npz.*'w.npy'.*compression method 12"):
        nn.load(path)
    raw = bytearray(_zip([_stored("w.npy", _npy(np.ones(2)))]))
    cd = raw.rindex(b"PK\x01\x02")
    raw[cd + 8] |= 1  # the central directory's "encrypted" flag
    (tmp_path / "enc.npz").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"enc.npz.*'w.npy' is encrypted"):
        nn.load(tmp_path / "enc.npz")


# ---- what is accepted comes back as plain numpy arrays ---------------------------------------------
def test_numpy_archives_load_as_plain_arrays(tmp_path):
    arrays = {"f32": np.linspace(0, 1, 5, dtype=np.float32), "i64": np.arange(3), "b": np.array([True, False]),
              "c": np.array([1 + 2j]), "scalar": np.array(2.5), "empty": np.zeros((0, 4)),
              "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "big_endian": np.arange(3, dtype=">i4")}
    for writer in (np.savez, np.savez_compressed, nn.save):
        path = tmp_path / f"{writer.__name__}.npz"
        if writer is nn.save:
            nn.save(arrays, path)
        else:
            writer(path, **arrays)
        got = nn.load(path)
        assert sorted(got) == sorted(arrays)
        for k, v in arrays.items():
            assert type(got[k]) is np.ndarray
            assert got[k].dtype == v.dtype and got[k].shape == v.shape and np.array_equal(got[k], v), k


def test_an_archive_written_by_a_streaming_writer_loads(tmp_path):
    # A writer that cannot seek back puts each member's sizes in a data descriptor after its data.
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.buf = io.BytesIO()

        def writable(self):
            return True

        def write(self, b):
            return self.buf.write(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in {"a": np.arange(3.0), "b": np.ones((2, 2), dtype=np.int16)}.items():
            z.writestr(f"{k}.npy", _npy(v))
    raw = sink.buf.getvalue()
    assert raw[6] & 0x08  # the first member's flags say a descriptor follows
    (tmp_path / "streamed.npz").write_bytes(raw)
    got = nn.load(tmp_path / "streamed.npz")
    np.testing.assert_array_equal(got["a"], [0.0, 1.0, 2.0])
    assert got["b"].dtype == np.int16 and got["b"].shape == (2, 2)


# ---- values that fit the file but not the model ----------------------------------------------------
class _Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.array([1.0, 2.0], dtype=np.float32))
        self.register_buffer("counts", np.array([1, 2], dtype=np.int8))
        self.register_buffer("sizes", np.array([1, 2], dtype=np.uint8))


@pytest.mark.parametrize("key, value", [
    ("w", np.array([1e39, 1.0])),  # finite in float64, inf in float32
    ("w", np.array([-1e300, 0.0])),
    ("counts", np.array([300, 1])),  # wraps to 44 in int8
    ("sizes", np.array([-1, 1])),  # wraps to 255 in uint8
])
def test_a_value_that_overflows_on_cast_is_refused_and_changes_nothing(tmp_path, key, value):
    m = _Holder()
    state = m.state_dict()
    state[key] = value
    path = tmp_path / "state.npz"
    nn.save(state, path)
    before = {k: v.copy() for k, v in m.state_dict().items()}
    with pytest.raises(ValueError, match=rf"'{key}'.*(overflow|too large|out of range|fit|cannot be loaded)"):
        m.load_state_dict(nn.load(path))
    after = m.state_dict()
    assert all(np.array_equal(before[k], after[k]) and before[k].dtype == after[k].dtype for k in before)
