"""User-defined ops through ag.Function: the same mechanism as built-ins, with the engine's checks."""
import numpy as np
import pytest
from helpers import Cube

import autograd as ag

rng = np.random.default_rng(0)


def test_cube_value_gradient_and_gradcheck():
    x = ag.tensor([-1.5, 0.5, 2.0], requires_grad=True)
    y = Cube.apply(x)
    np.testing.assert_allclose(y.data, x.data ** 3)
    assert y.grad_fn.name == "cube" and y.grad_fn.fn is Cube
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * x.data ** 2)
    assert ag.gradcheck(Cube.apply, [rng.standard_normal((2, 3))])


def test_cube_second_derivative_through_create_graph_is_6x():
    x = ag.tensor([-1.5, 0.5, 2.0], requires_grad=True)
    (g,) = ag.grad(Cube.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    assert g.requires_grad
    (gg,) = ag.grad(g.sum(), x)
    np.testing.assert_allclose(gg.data, 6 * x.data)
    assert ag.gradgradcheck(Cube.apply, [rng.standard_normal(4)])


class Affine(ag.Function):
    """x * w + c, with an option `scale` multiplying the result."""
    name = "affine"

    @staticmethod
    def forward(ctx, x, w, c, scale=1.0):
        ctx.save_for_backward(x, w)
        return scale * (x * w + c)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        s = ctx.options["scale"]
        return g * w * s, g * x * s, g * s


def test_inputs_may_be_tensors_arrays_or_numbers_and_options_pass_through():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    w = np.array([3.0, -1.0])
    y = Affine.apply(x, w, 0.5, scale=2.0)
    np.testing.assert_allclose(y.data, 2.0 * (x.data * w + 0.5))
    assert y.grad_fn.options == {"scale": 2.0}
    assert "scale=2.0" in y.grad_fn.name
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2.0 * w)
    # all-constant inputs: a plain result, no graph
    z = Affine.apply(np.ones(2), 2.0, 1.0)
    assert not z.requires_grad and z.grad_fn is None
    np.testing.assert_allclose(z.data, [3.0, 3.0])


def test_custom_op_gradcheck_over_every_input():
    assert ag.gradcheck(lambda x, w, c: Affine.apply(x, w, c, scale=1.5),
                        [rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)])


class Gate(ag.Function):
    """x * mask; the mask gets no gradient, so backward returns None for it."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved
        return g * mask, None


def test_backward_may_return_none_for_an_input():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = ag.tensor([1.0, 0.0, 1.0], requires_grad=True)
    Gate.apply(x, m).sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 0.0, 1.0])
    assert m.grad is None


class NeedsFlags(ag.Function):
    """a * b reporting ctx.needs_input_grad."""
    seen = None

    @staticmethod
    def forward(ctx, a, b):
        NeedsFlags.seen = ctx.needs_input_grad
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)


def test_needs_input_grad():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    NeedsFlags.apply(x, ag.tensor([3.0, 4.0]))
    assert tuple(NeedsFlags.seen) == (True, False)
    NeedsFlags.apply(2.0, x)
    assert tuple(NeedsFlags.seen) == (False, True)


class BroadcastMul(ag.Function):
    """a * b with numpy broadcasting; backward returns full-size gradients and leaves summing to the engine."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return g * b, g * a


def test_engine_undoes_broadcasting_for_custom_ops():
    a = ag.tensor(rng.standard_normal((3, 1)), requires_grad=True)
    b = ag.tensor(rng.standard_normal(4), requires_grad=True)
    g = rng.standard_normal((3, 4))
    BroadcastMul.apply(a, b).backward(g)
    np.testing.assert_allclose(a.grad.data, (g * b.data).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(b.grad.data, (g * a.data).sum(axis=0))
    assert ag.gradcheck(BroadcastMul.apply, [rng.standard_normal((2, 1, 3)), rng.standard_normal((4, 1))])


class WrongShape(ag.Function):
    """Backward returns a gradient of a shape that cannot be summed to the input's."""
    name = "wrong_shape"

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, np.ones((5, 7))


def test_wrong_gradient_shape_names_op_input_and_both_shapes():
    a = ag.tensor(np.ones((2, 3)), requires_grad=True)
    b = ag.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError) as err:
        WrongShape.apply(a, b).sum().backward()
    msg = str(err.value)
    assert "wrong_shape" in msg and "input 1" in msg and "(5, 7)" in msg and "(3,)" in msg


class IntGrad(ag.Function):
    """Backward returns an integer array."""

    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, g):
        return np.full(g.shape, 2, dtype=np.int64)


def test_integer_gradient_is_a_dtype_error():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"intgrad.*dtype int64.*float64"):
        IntGrad.apply(x).sum().backward()
    assert x.grad is None


class TooMany(ag.Function):
    """One input, two gradients."""

    @staticmethod
    def forward(ctx, x):
        return x * 1.0

    @staticmethod
    def backward(ctx, g):
        return g, g


class TooFew(ag.Function):
    """Two inputs, one gradient."""

    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, g):
        return g


@pytest.mark.parametrize("make", [lambda x: TooMany.apply(x), lambda x: TooFew.apply(x, x)])
def test_wrong_number_of_gradients_is_an_error(make):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"returned \d gradients for \d inputs"):
        make(x).sum().backward()


def test_float32_gradient_for_float64_input_is_converted():
    class Half(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 0.5

        @staticmethod
        def backward(ctx, g):
            return (g * 0.5).astype(np.float32)

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    Half.apply(x).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, [0.5, 0.5])


def test_forward_errors_name_the_op_and_the_shapes():
    with pytest.raises(ValueError, match=r"broadcastmul.*\(2,\).*\(3,\)"):
        BroadcastMul.apply(ag.tensor(np.ones(2), requires_grad=True), np.ones(3))
