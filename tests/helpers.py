"""Small helpers shared by the test modules."""
import autograd as ag


class Cube(ag.Function):
    """x**3, the example from the README."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * 3 * x ** 2
