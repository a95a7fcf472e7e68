"""Errors name the op (issue 13): a bad argument, an axis out of range, an out-of-range index, operands numpy
cannot broadcast or convert. Each raises ValueError/IndexError/TypeError whose message names the op, the
argument and the shapes, and the failed call records nothing: no node on the graph, the input unchanged,
and later backward passes unaffected."""
import gc
import sys

import numpy as np
import pytest

import autograd as ag
from autograd.function import Context

AXIS = (ValueError, IndexError)  # numpy's AxisError is both

# (id, call on a non-leaf tensor t of shape (2, 3), exception, words the message must hold: a tuple is any-of)
CASES = [
    ("split into zero sections", lambda t: ag.split(t, 0), ValueError, ["split", "0"]),
    ("split into negative sections", lambda t: ag.split(t, -2), ValueError, ["split", "-2"]),
    ("split into uneven sections", lambda t: ag.split(t, 4, axis=1), ValueError, ["split", "4"]),
    ("split into a fractional number of sections", lambda t: ag.split(t, 2.5, axis=1), (ValueError, TypeError),
     ["split", "2.5"]),
    ("torch split into pieces of 0", lambda t: ag.split(t, 0, dim=1), ValueError, ["split", "0"]),
    ("torch split sizes not adding up", lambda t: ag.split(t, [1, 1], dim=1), ValueError, ["split", "[1, 1]"]),
    ("split axis", lambda t: ag.split(t, 2, axis=7), AXIS, ["split", "7"]),
    ("concatenate axis", lambda t: ag.concatenate([t, t], axis=7), AXIS, ["concatenate", "7"]),
    ("cat dim", lambda t: ag.cat([t, t], dim=-7), AXIS, ["cat", "-7"]),
    ("concatenate mismatched", lambda t: ag.concatenate([t, ag.tensor(np.ones((3, 2)))]), ValueError,
     ["concatenate", "(3, 2)"]),
    ("stack axis", lambda t: ag.stack([t, t], axis=7), AXIS, ["stack", "7"]),
    ("stack mismatched", lambda t: ag.stack([t, ag.tensor(np.ones(3))]), ValueError, ["stack", "(3,)"]),
    ("swapaxes", lambda t: ag.swapaxes(t, 0, 7), AXIS, ["swapaxes", "7"]),
    ("transpose(d0, d1)", lambda t: t.transpose(0, 7), AXIS, [("transpose", "swapaxes"), "7"]),
    ("expand_dims", lambda t: ag.expand_dims(t, 7), AXIS, ["expand_dims", "7"]),
    ("unsqueeze", lambda t: t.unsqueeze(-7), AXIS, [("unsqueeze", "expand_dims"), "-7"]),
    ("squeeze axis out of range", lambda t: ag.squeeze(t, 7), AXIS, ["squeeze", "7"]),
    ("squeeze a long axis", lambda t: ag.squeeze(t, 1), ValueError, ["squeeze", "1"]),
    ("squeeze a fractional axis", lambda t: ag.squeeze(t, 1.5), (TypeError, ValueError), ["squeeze", "1.5"]),
    ("permute", lambda t: t.permute(0, 7), AXIS, [("permute", "transpose"), "7"]),
    ("sum axis", lambda t: ag.sum(t, axis=7), AXIS, ["sum", "7"]),
    ("sum dim", lambda t: t.sum(dim=-7), AXIS, ["sum", "-7"]),
    ("mean axis", lambda t: ag.mean(t, axis=7), AXIS, ["mean", "7"]),
    ("max axis", lambda t: ag.max(t, axis=7), AXIS, ["max", "7"]),
    ("max dim", lambda t: t.max(dim=7), AXIS, ["max", "7"]),
    ("min axis", lambda t: ag.min(t, axis=(0, 7)), AXIS, ["min", "7"]),
    ("var axis", lambda t: ag.var(t, axis=7), AXIS, ["var", "7"]),
    ("var dim", lambda t: t.var(dim=7), AXIS, ["var", "7"]),
    ("var repeated axes", lambda t: ag.var(t, axis=(1, 1)), AXIS, ["var", "(1, 1)"]),
    ("var fractional axis", lambda t: ag.var(t, axis=1.5), (TypeError, ValueError), ["var", "1.5"]),
    ("std axis", lambda t: ag.std(t, axis=7), AXIS, ["std", "7"]),
    ("logsumexp axis", lambda t: ag.logsumexp(t, axis=7), AXIS, ["logsumexp", "7"]),
    ("norm axis", lambda t: ag.norm(t, axis=7), AXIS, ["norm", "7"]),
    ("argmax axis", lambda t: ag.argmax(t, axis=7), AXIS, ["argmax", "7"]),
    ("argmin dim", lambda t: t.argmin(dim=-7), AXIS, ["argmin", "-7"]),
    ("argmax tuple axis", lambda t: ag.argmax(t, axis=(0, 1)), (TypeError, ValueError), ["argmax", "(0, 1)"]),
    ("softmax axis", lambda t: ag.softmax(t, axis=7), AXIS, ["softmax", "7"]),
    ("softmax dim", lambda t: t.softmax(dim=-7), AXIS, ["softmax", "-7"]),
    ("log_softmax axis", lambda t: ag.log_softmax(t, axis=7), AXIS, ["log_softmax", "7"]),
    ("index out of range", lambda t: t[7], IndexError, [("getitem", "index"), "7"]),
    ("second index out of range", lambda t: t[0, 7], IndexError, [("getitem", "index"), "7"]),
    ("index array out of range", lambda t: t[np.array([0, 7])], IndexError, [("getitem", "index"), "7"]),
    ("too many indices", lambda t: t[0, 0, 0], IndexError, [("getitem", "index")]),
    ("boolean mask of the wrong length", lambda t: t[np.array([True, False, True])], IndexError,
     [("getitem", "index")]),
    ("add unbroadcastable", lambda t: t + ag.tensor(np.ones(4)), ValueError, ["add", "(4,)"]),
    ("mul unbroadcastable array", lambda t: t * np.ones((3, 2)), ValueError, ["mul", "(3, 2)"]),
    ("matmul mismatched", lambda t: t @ t, ValueError, ["matmul"]),
    ("where unbroadcastable", lambda t: ag.where(np.ones(4, dtype=bool), t, 0.0), ValueError, ["where", "(4,)"]),
    ("maximum unbroadcastable", lambda t: ag.maximum(t, np.ones(4)), ValueError, ["maximum", "(4,)"]),
    ("pow unbroadcastable", lambda t: t ** np.ones(4), ValueError, ["pow", "(4,)"]),
    ("reshape", lambda t: t.reshape(4), ValueError, ["reshape", "4"]),
    ("view", lambda t: t.view(4, 2), ValueError, [("view", "reshape"), "(4, 2)"]),
    ("broadcast_to", lambda t: ag.broadcast_to(t, (3, 3)), ValueError, ["broadcast_to", "(3, 3)"]),
    ("pad", lambda t: ag.pad(t, -1), ValueError, ["pad", "-1"]),
    ("dot misaligned", lambda t: ag.dot(t, ag.tensor(np.ones((4, 5, 6)))), ValueError, ["dot", "(4, 5, 6)"]),
    ("add a ragged list", lambda t: t + [[1.0, 2.0, 3.0], [1.0]], ValueError, ["add"]),
    ("dot with a ragged list", lambda t: ag.dot(t, [[1.0, 2.0], [3.0]]), ValueError, ["dot"]),
    ("concatenate a ragged list", lambda t: ag.concatenate([t, [[1.0, 2.0], [3.0]]]), ValueError,
     ["concatenate"]),
    ("add a string", lambda t: t + "abc", TypeError, ["add"]),
    ("multiply by None", lambda t: t * None, TypeError, ["mul"]),
    ("where with a string branch", lambda t: ag.where(t > 2.0, t, "a"), TypeError, ["where"]),
    ("matmul with a string", lambda t: t @ "abc", TypeError, ["matmul"]),
]
IDS = [c[0] for c in CASES]


def _fresh():
    """A leaf x and a non-leaf t = 2x of shape (2, 3): the failing op is applied to t."""
    x = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    return x, x * 2.0


def _references(node):
    """How many references `node` has: a node recorded on top of it would hold one more. (Collect cycles,
    such as a traceback's frames, only when the cheap count says something may still hold it.)"""
    return sys.getrefcount(node)


def _nodes_reading(node):
    """Graph nodes that have `node` as an input."""
    gc.collect()
    return [r for r in gc.get_referrers(node) if isinstance(r, Context)]


def _has(msg, word):
    return any(w in msg for w in word) if isinstance(word, tuple) else word in msg


@pytest.mark.parametrize("call,kind,words", [c[1:] for c in CASES], ids=IDS)
def test_refused_with_a_message_naming_the_op_and_the_argument(call, kind, words):
    _, t = _fresh()
    with pytest.raises(kind) as info:
        call(t)
    msg = str(info.value)
    missing = [w for w in words if not _has(msg, w)]
    assert not missing, f"message {msg!r} does not name {missing}"
    assert "tuple index out of range" not in msg and "object is not iterable" not in msg


@pytest.mark.parametrize("call,kind,words", [c[1:] for c in CASES], ids=IDS)
def test_refused_with_a_message_naming_the_shapes(call, kind, words):
    _, t = _fresh()
    with pytest.raises(kind) as info:
        call(t)
    assert "(2, 3)" in str(info.value), f"message {str(info.value)!r} does not name the shape (2, 3)"


@pytest.mark.parametrize("call,kind,words", [c[1:] for c in CASES], ids=IDS)
def test_a_refused_call_records_nothing(call, kind, words):
    x, t = _fresh()
    node, before = t.grad_fn, t.data.copy()
    refs = _references(node)
    with pytest.raises(kind) as info:
        call(t)
    del info  # its traceback holds the failed call's frames
    if _references(node) != refs:
        assert not _nodes_reading(node), "the failed op left a node on the graph"
    assert t.grad_fn is node and t.requires_grad and t._version == 0
    np.testing.assert_array_equal(t.data, before)
    assert x.grad is None
    t.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))
    z = ag.tensor([1.0, -2.0], requires_grad=True)
    (z * z).sum().backward()
    np.testing.assert_array_equal(z.grad.data, [2.0, -4.0])


def test_the_node_detector_sees_a_recorded_op():
    """The check above can fail: an op that does record shows up in both counts."""
    _, t = _fresh()
    node = t.grad_fn
    refs = _references(node)
    y = t + 1.0
    after = _references(node)
    assert after == refs + 1
    assert _nodes_reading(node) == [y.grad_fn]


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "var", "std", "logsumexp", "norm", "argmax"])
def test_reducing_a_0d_tensor_over_axis_0_is_numpys_answer_or_a_clear_error(op):
    """np.sum/np.max of a 0-d array accept axis=0, np.mean/np.var refuse it: either is fine, a raw internal
    error (`tuple index out of range`) is not."""
    x = ag.tensor(2.0, requires_grad=op != "argmax")
    try:
        out = getattr(ag, op)(x, axis=0)
    except (ValueError, IndexError) as e:
        msg = str(e)
        assert op in msg and "()" in msg and "0" in msg, msg
        assert "tuple index out of range" not in msg, msg
        return
    expected = {"sum": 2.0, "mean": 2.0, "max": 2.0, "min": 2.0, "logsumexp": 2.0, "norm": 2.0, "argmax": 0}
    assert op in expected, f"{op}(0-d, axis=0) gave {out}"
    assert out.shape == () and float(out) == expected[op]


@pytest.mark.parametrize("data", ["abc", ["1.5", "2"], [b"x"]], ids=repr)
def test_a_tensor_of_strings_is_refused(data):
    """Only numeric data can be a tensor (as for object arrays): a string tensor only fails later, elsewhere."""
    with pytest.raises(TypeError, match="(?i)tensor"):
        ag.tensor(data)


def test_ragged_data_for_a_tensor_is_refused():
    with pytest.raises((ValueError, TypeError)):
        ag.tensor([[1.0, 2.0], [3.0]])


def test_the_error_formatter_copes_with_unprintable_operands():
    """Operands whose shape numpy cannot take (ragged lists, arbitrary objects) still give the op's error."""
    t = ag.tensor([1.0, 2.0], requires_grad=True)

    class Opaque:
        def __repr__(self):
            raise RuntimeError("no repr")

    with pytest.raises(TypeError, match="add"):
        t + Opaque()
    with pytest.raises(ValueError, match="mul"):
        t * [[1.0], [1.0, 2.0]]
