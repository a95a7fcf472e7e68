"""The op mechanism: the fast path (`call`) and the general path (`Function.apply`) build the same nodes, and
every forward gets a real ctx, recorded or not."""
import numpy as np
import pytest

import autograd as ag
from autograd.function import Context, call
from autograd.ops.arithmetic import Mul


def _node_fields(ctx: Context) -> dict:
    return {"fn": ctx.fn, "edges": ctx.edges, "options": dict(ctx.options), "needs": ctx.needs_input_grad,
            "saved_ids": tuple(id(a) for a in ctx.saved), "scope": ctx.scope, "data_is_output": True}


@pytest.mark.parametrize("needs", [(True, True), (True, False), (False, True)])
def test_fast_and_general_paths_build_identical_nodes(needs):
    a = ag.tensor([1.0, 2.0], requires_grad=needs[0])
    b = ag.tensor([3.0, 4.0], requires_grad=needs[1])
    ha, hb = a * 1.0, b * 1.0  # intermediates: their edges are nodes, not tensors
    fast = call(Mul, ha, hb)
    general = ag.Function.apply.__func__(Mul, ha, hb, **{})  # apply with no options: routed the same way
    # Force the general builder: an option-carrying call of the same op class records through _node.
    class MulWithOption(Mul):
        @staticmethod
        def forward(ctx, x, y, unused=None):
            return Mul.forward(ctx, x, y)
    opt = MulWithOption.apply(ha, hb, unused=None)
    for t in (fast, general, opt):
        assert t.grad_fn.data is t.data
    f, g, o = (_node_fields(t.grad_fn) for t in (fast, general, opt))
    assert f == g
    assert {k: v for k, v in f.items() if k not in ("fn", "options", "saved_ids")} == \
        {k: v for k, v in o.items() if k not in ("fn", "options", "saved_ids")}
    assert o["options"] == {"unused": None} and o["fn"] is MulWithOption
    assert fast.grad_fn.seq < general.grad_fn.seq < opt.grad_fn.seq  # both stamp the engine's clock
    # and the gradients they lead to agree
    ga = ag.grad([fast.sum(), opt.sum()], [t for t, n in zip((a, b), needs) if n])
    np.testing.assert_array_equal(ga[0].data, 2 * (hb.data if needs[0] else ha.data))


class Scale(ag.Function):
    """y = k x, keeping k as a ctx attribute (the pattern PyTorch users write)."""

    @staticmethod
    def forward(ctx, x, k=2.0):
        ctx.k = k
        ctx.seen = ctx.k * 1  # read back in forward: must work whether or not the op is recorded
        return x * ctx.seen

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k


@pytest.mark.parametrize("how", ["recorded", "no_grad", "constant"])
def test_every_forward_gets_a_ctx_that_keeps_attributes(how):
    x = ag.tensor([1.0, -2.0], requires_grad=how != "constant")
    if how == "no_grad":
        with ag.no_grad():
            y = Scale.apply(x, k=3.0)
    else:
        y = Scale.apply(x, k=3.0)
    np.testing.assert_array_equal(y.data, [3.0, -6.0])
    assert (y.grad_fn is not None) == (how == "recorded")


def test_attributes_a_rule_sets_are_released_by_backward():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = Scale.apply(x, k=5.0)
    node = y.grad_fn
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0])
    assert "k" not in node.__dict__ and node.data is None  # nothing left for a kept loss to hold


def test_tensor_methods_are_written_in_the_class():
    # An editor or type checker sees them: each is defined in Tensor's own class body.
    for name in ["exp", "sum", "reshape", "matmul", "sigmoid", "max", "softmax", "permute", "argmax", "zero_"]:
        assert name in ag.Tensor.__dict__, name
    assert ag.tensor is not None and callable(ag.tensor) and not hasattr(ag.tensor, "Tensor")
