"""Save and load state dicts as .npz files, safely for files from strangers.

Loading never unpickles, so a file cannot run code, and it reads every member's declared size (zip
directory and .npy header) before reading its data, so a small file cannot make it allocate gigabytes.
Saving writes a temporary file next to the target, flushes it to disk and renames it over the target.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import os
import secrets
import stat
import struct
import zipfile
import zlib
from collections import OrderedDict
from typing import Any, Mapping

import numpy as np

import autograd as ag

MAX_BYTES = 4 << 30  # default ceiling on the array bytes one nn.load may produce
EXPANSION = 100  # by default a file may also hold at most this many times its own size in arrays ...
EXPANSION_FLOOR = 64 << 20  # ... or this many bytes, whichever is larger
_DEFLATE_RATIO = 1032  # deflate cannot expand data more than this (a 258-byte match costs at least 2 bits)
_CHUNK = 4 << 20  # read members in pieces this size, so no whole-member bytes object is ever made
_NUMERIC = "biufc"


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


# ---- saving ------------------------------------------------------------------------------------
def _key_problem(k: Any) -> str | None:
    if not isinstance(k, str):
        return f"is a {type(k).__name__}, not a string"
    if not k:
        return "is empty"
    if "/" in k or "\\" in k:
        return "contains a slash (the .npz format would read it as a folder)"
    if "\0" in k:
        return "contains a NUL character (zip readers cut names there)"
    try:
        k.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (it holds a lone surrogate)"
    return None


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write a Module's (or optimizer's) state_dict, or a mapping of names to numeric arrays, to `path` (.npz).

    The data goes to a temporary file in the target's folder, is flushed to disk, and is renamed over the
    target, so a failed or interrupted save leaves an existing file intact and no temporary file behind (only
    a process killed outright can leave one, named `<file>.<hex>.nn-save-tmp`). A symlink is written through
    to its target; a new file gets the umask's usual permissions, a replaced file keeps its own.
    """
    path = os.fspath(path)
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    if not isinstance(state, Mapping):
        raise TypeError(f"nn.save({path!r}): expected a Module, an optimizer or a mapping of arrays, "
                        f"got {type(obj).__name__}")
    arrays: OrderedDict = OrderedDict()
    for k, v in state.items():
        problem = _key_problem(k)
        if problem:
            raise ValueError(f"nn.save({path!r}): key {k!r} {problem}; keys must be non-empty strings "
                             "without slashes or NUL")
        try:
            arr = np.asarray(v.data if isinstance(v, ag.Tensor) else v)
        except Exception as e:  # e.g. a ragged list
            raise TypeError(f"nn.save({path!r}): the value of {k!r} cannot be read as an array ({e})") from None
        if arr.dtype.kind not in _NUMERIC:
            raise TypeError(f"nn.save({path!r}): the value of {k!r} has dtype {arr.dtype}; only numeric arrays "
                            "can be saved")
        arrays[k] = arr
    target = os.path.realpath(path)  # through a symlink, to the file it points at
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise IsADirectoryError(f"nn.save: {path!r} is a directory")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"nn.save: cannot write {path!r}: folder {folder!r} does not exist")
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise PermissionError(f"nn.save: {path!r} is read-only")
    try:
        _write_and_replace(target, arrays)
    except OSError as e:  # the message names the temporary file; name the one the user asked for
        msg = f"nn.save: writing {path!r} failed: {e.strerror or e}"
        raise (OSError(e.errno, msg) if e.errno is not None else OSError(msg)) from e
    _sync_folder(folder)


def _write_and_replace(target: str, arrays: Mapping[str, np.ndarray]) -> None:
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)  # a replaced file keeps its permissions
    except FileNotFoundError:
        mode = None
    folder, name = os.path.split(target)
    # Named after its target and not hidden, so that the leftover of a killed process is easy to recognise.
    tmp = os.path.join(folder, f"{name}.{secrets.token_hex(4)}.nn-save-tmp")
    # 0o666 minus the umask, exactly what a new file from np.savez (or any open()) gets.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
                for k, arr in arrays.items():
                    with z.open(k + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, arr, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())  # on disk before the name points at it: a crash leaves the old file or the new
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:  # whatever Python can catch (KeyboardInterrupt too) leaves no temporary file behind
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _sync_folder(folder: str) -> None:
    """Make the rename durable too (POSIX; elsewhere folders cannot be opened, and this does nothing)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- loading -----------------------------------------------------------------------------------
def load(path: str | os.PathLike, *, max_bytes: int | None = None) -> "OrderedDict[str, np.ndarray]":
    """Read a file written by nn.save (or np.savez / np.savez_compressed) into an OrderedDict of numpy arrays,
    in saved order.

    Only numeric .npy members are read; pickled objects are refused. Sizes are checked before any data is
    read: the arrays may total at most `max_bytes` (default: 4 GiB, and at most 100 times the file's own
    size or 64 MiB, whichever is larger, so a small compressed file cannot expand into gigabytes). A
    missing, corrupt, forged or oversized file raises an error naming it and what is wrong.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"nn.load: {path!r} is a directory")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"nn.load: no such file: {path!r}")
    file_size = os.path.getsize(path)
    limit, why = _limit(max_bytes, file_size)
    with open(path, "rb") as f:
        what = _what_it_is(f.read(512))
        if what is not None:
            raise ValueError(f"nn.load: {path!r} is not a state file (a .npz zip archive of named arrays, as "
                             f"nn.save writes): it is {what}")
        f.seek(0)
        try:
            z = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
            raise ValueError(f"nn.load: {path!r} is not a valid state file: the zip archive is truncated or "
                             f"damaged ({e})") from None
        with z:
            members = _check_directory(path, z.infolist(), limit, why)
            _check_layout(path, f, [info for _, info in members])
            return OrderedDict((key, _read_member(path, z, info, key)) for key, info in members)


def _limit(max_bytes: Any, file_size: int) -> tuple[int, str]:
    if max_bytes is None:
        limit = min(MAX_BYTES, max(EXPANSION_FLOOR, EXPANSION * file_size))
        return limit, (f"the default limit of {_size(limit)} ({EXPANSION} times the file's size of "
                       f"{_size(file_size)}, at least 64 MiB and at most 4 GiB); if you trust the file, pass a "
                       "larger max_bytes")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, numbers.Integral):
        raise TypeError(f"nn.load: max_bytes must be an integer or None, got {type(max_bytes).__name__}")
    if max_bytes < 0:
        raise ValueError(f"nn.load: max_bytes must be >= 0, got {max_bytes}")
    return int(max_bytes), f"max_bytes={int(max_bytes)}"


def _what_it_is(head: bytes) -> str | None:
    """What a file that starts with `head` is, if it is not a zip archive (None when it is)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # a member, or the end record of an empty archive
        return None
    if not head:
        return "an empty file"
    if head.startswith(b"\x93NUMPY"):
        return ("a single array in .npy format, which has no names; read it with "
                "np.load(path, allow_pickle=False)")
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "a Python pickle, which nn.load refuses (unpickling can run any code)"
    if b"\0" not in head and head.decode("utf-8", errors="replace").count("\ufffd") <= 1:
        return f"a text file (it starts with {head[:40].decode('utf-8', errors='replace')!r})"
    return f"binary data of an unknown kind (it starts with {head[:8]!r})"


def _check_directory(path: str, infos: list, limit: int, why: str) -> list:
    """(key, member) pairs after checking, from the zip's directory alone, every member's name, method and
    declared size, and the total against the limit; nothing is decompressed yet."""
    members, seen, total = [], set(), 0
    for info in infos:
        name, where = info.filename, f"nn.load: {path!r}: member {info.filename!r}"
        key = name[:-4]
        if not name.endswith(".npy") or info.is_dir() or not key:
            raise ValueError(f"{where} is not an .npy array (it would be raw bytes); a state file holds only "
                             "'<key>.npy' members")
        if key in seen:
            raise ValueError(f"{where} appears twice in the archive")
        seen.add(key)
        if info.flag_bits & 0x1:
            raise ValueError(f"{where} is encrypted")
        if info.compress_type == zipfile.ZIP_STORED:
            most = info.compress_size
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            most = info.compress_size * _DEFLATE_RATIO + 1024
        else:
            raise ValueError(f"{where} uses zip compression method {info.compress_type}; only stored and "
                             "deflated members (what numpy writes) are read")
        if info.file_size > most:
            raise ValueError(f"{where} declares {info.file_size} bytes, more than its {info.compress_size} "
                             "stored bytes can hold: the archive is damaged or forged")
        total += info.file_size
        members.append((key, info))
    if total > limit:
        raise ValueError(f"nn.load: {path!r} declares {_size(total)} of arrays, more than {why}")
    return members


def _check_layout(path: str, f: Any, infos: list) -> None:
    """Members must lie end to end from the file's first byte to the directory: a damaged directory entry
    can otherwise hide the entries after it (zipfile then lists fewer members without complaint), and
    members that overlap are how the largest zip bombs multiply their data."""
    pos = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        f.seek(pos)
        head = f.read(30)
        if info.header_offset != pos or len(head) < 30 or not head.startswith(b"PK\x03\x04"):
            raise ValueError(f"nn.load: {path!r} is damaged or forged: member {info.filename!r} is not where "
                             "the previous one ends (its directory does not account for every byte, or members "
                             "overlap)")
        name_len, extra_len = struct.unpack_from("<HH", head, 26)
        pos += 30 + name_len + extra_len + info.compress_size
        if info.flag_bits & 0x08:  # written by a streaming writer: a data descriptor follows the data
            pos += _descriptor_size(f, pos)
    f.seek(pos)
    if f.read(4) not in (b"PK\x01\x02", b"PK\x06\x06", b"PK\x05\x06"):
        raise ValueError(f"nn.load: {path!r} is damaged or forged: the members end at byte {pos}, where its "
                         "directory does not begin (a member is missing from the directory)")


def _descriptor_size(f: Any, pos: int) -> int:
    """The size of the data descriptor at pos: 12 bytes (20 for zip64), 4 more with its optional signature.
    The right size is the one the next record's "PK" follows."""
    f.seek(pos)
    signed = f.read(4) == b"PK\x07\x08"
    for n in (16, 24) if signed else (12, 20):
        f.seek(pos + n)
        if f.read(2) == b"PK":
            return n
    return 16 if signed else 12


def _read_member(path: str, z: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> np.ndarray:
    """One member as an array, after checking its .npy header against the member's declared size."""
    where = f"nn.load: {path!r}: {key!r}"
    try:
        with z.open(info) as m:
            try:
                version = np.lib.format.read_magic(m)
            except ValueError:
                raise ValueError("is raw bytes, not an .npy array") from None
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(m)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(m)
            else:  # 3.0 exists only for structured dtypes with non-ASCII field names, which are refused anyway
                raise ValueError(f".npy format version {version} is not supported")
            if dtype.hasobject:
                raise ValueError("contains pickled Python objects (dtype object), which are refused: "
                                 "unpickling them could run code")
            if dtype.kind not in _NUMERIC or dtype.fields is not None:
                raise ValueError(f"has dtype {dtype}; only numeric arrays are read")
            if any(d < 0 for d in shape) or len(shape) > 64:
                raise ValueError(f"declares an impossible shape {shape}")
            n = math.prod(shape)  # Python ints: a declared 1e18 elements cannot overflow or be allocated
            nbytes, held = n * dtype.itemsize, info.file_size - m.tell()
            if nbytes != held:
                raise ValueError(f"declares shape {shape} of {dtype} ({nbytes} bytes), but the member holds "
                                 f"{held} bytes of data")
            flat = np.empty(n, dtype)  # n * itemsize <= the declared size, already checked against the limit
            raw = flat.view(np.uint8)
            for start in range(0, nbytes, _CHUNK):
                want = min(_CHUNK, nbytes - start)
                # zipfile checks the CRC of the whole member (header included) on the read that ends it.
                if m.readinto(raw[start:start + want]) != want:
                    raise ValueError("the data ends early")
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    except (EOFError, OSError, zipfile.BadZipFile, zlib.error, NotImplementedError) as e:
        raise ValueError(f"{where}: the member is damaged ({type(e).__name__}: {e})") from None
    if fortran:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)
