"""Save and load state dicts as .npz files. Loading never unpickles, so a file from a stranger cannot run code."""
from __future__ import annotations

import os
import tempfile
import zipfile
from collections import OrderedDict
from typing import Any, Mapping

import numpy as np


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write a Module's (or optimizer's) state_dict, or a mapping of names to numeric arrays, to `path` (.npz).

    The file is written to a temporary name and renamed, so a failed save leaves an existing file intact.
    """
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    if not isinstance(state, Mapping):
        raise TypeError(f"nn.save: expected a Module, an optimizer or a mapping of arrays, got {type(obj).__name__}")
    arrays = OrderedDict()
    for k, v in state.items():
        if not isinstance(k, str) or not k or "/" in k or "\\" in k:
            raise ValueError(f"nn.save: key {k!r} is not a usable name (non-empty string without slashes)")
        arr = np.asarray(getattr(v, "data", v))
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"nn.save: value of {k!r} has dtype {arr.dtype}; only numeric arrays can be saved")
        arrays[k] = arr
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".nn-save-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
            for k, arr in arrays.items():
                with z.open(k + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, arr, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path: str | os.PathLike) -> "OrderedDict[str, np.ndarray]":
    """Read a file written by nn.save into an OrderedDict of arrays (in saved order). Pickled objects are refused;
    a missing, truncated or corrupt file raises an error naming it."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"nn.load: no such file: {path!r}")
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise ValueError("not an .npz archive")
            return OrderedDict((k, z[k]) for k in z.files)
    except FileNotFoundError:
        raise
    except ValueError as e:
        if "allow_pickle" in str(e) or "pickle" in str(e).lower():
            raise ValueError(f"nn.load: {path!r} contains pickled Python objects, which are refused "
                             "(they could run code when loaded)") from None
        raise ValueError(f"nn.load: {path!r} is not a valid state file ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, AttributeError) as e:
        raise ValueError(f"nn.load: {path!r} is not a valid state file: {type(e).__name__}: {e}") from None
