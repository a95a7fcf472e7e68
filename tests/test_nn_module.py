"""nn.Module: registration by attribute, dotted names, traversal, modes, repr, graph scopes, state dicts."""
import numpy as np
import pytest

import autograd as ag
import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 2)])
        self.scale = nn.Parameter(np.float64(2.0))
        self.act = nn.Tanh()
        self.note = ag.tensor([1.0, 2.0], requires_grad=True)  # a plain tensor is not a parameter

    def forward(self, x):
        for layer in self.layers:
            x = self.act(layer(x))
        return x * self.scale


def test_named_parameters_are_dotted_and_ordered():
    b = Block()
    names = [n for n, _ in b.named_parameters()]
    assert names == ["scale", "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in b.parameters())
    assert b.num_parameters() == 1 + 3 * 4 + 4 + 4 * 2 + 2


def test_children_and_modules():
    b = Block()
    assert [type(c).__name__ for c in b.children()] == ["ModuleList", "Tanh"]
    names = [n for n, _ in b.named_modules()]
    assert names == ["", "layers", "layers.0", "layers.1", "act"]
    assert len(list(b.modules())) == 5


def test_shared_parameter_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]


def test_reassignment_updates_registration():
    b = Block()
    b.scale = None
    assert "scale" not in dict(b.named_parameters())
    b.act = 3  # a module replaced by a plain value is no longer a child
    assert [type(c).__name__ for c in b.children()] == ["ModuleList"]
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        lin.weight = ag.tensor(np.ones((2, 2)), requires_grad=True)
    del lin.bias
    assert [n for n, _ in lin.named_parameters()] == ["weight"]


def test_each_parameter_and_module_is_stored_once():
    b = Block()
    # in the registries only, not also in __dict__, so the two can never disagree
    for name in ("scale", "layers", "act"):
        assert name not in b.__dict__
    assert b.scale is b._parameters["scale"] and b.layers is b._modules["layers"]
    new = nn.Parameter(np.float64(3.0))
    b.scale = new
    assert b.scale is new and dict(b.named_parameters())["scale"] is new
    b.act = nn.ReLU()  # a module replaced by a module
    assert isinstance(b.act, nn.ReLU) and [type(c).__name__ for c in b.children()] == ["ModuleList", "ReLU"]
    b.scale = nn.Tanh()  # a parameter's name reused for a module moves it between registries
    assert "scale" not in b._parameters and b._modules["scale"] is b.scale
    b.register_buffer("count", np.zeros(2))
    assert "count" not in b.__dict__ and b.count.shape == (2,) and "count" in dir(b)
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'nope'"):
        _ = b.nope
    assert not hasattr(b, "nope")


def test_assignment_before_init_is_an_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(2))

    with pytest.raises(AttributeError, match="Module.__init__"):
        Bad()


def test_parameter_makes_floats_and_requires_grad():
    p = nn.Parameter([1, 2, 3])
    assert p.dtype == np.float64 and p.requires_grad and p.is_leaf
    assert "Parameter containing" in repr(p)
    assert type(p * 2) is ag.Tensor  # ops give plain tensors


def test_call_runs_forward_inside_graph_scope():
    lin = nn.Linear(3, 2)
    seq = nn.Sequential(lin)
    y = seq(np.ones((1, 3)))
    assert y.grad_fn.scope == (seq, lin)


def test_train_eval_propagate():
    b = Block()
    assert b.training and b.layers[0].training
    assert b.eval() is b
    assert not any(m.training for m in b.modules())
    b.train()
    assert all(m.training for m in b.modules())


def test_zero_grad_and_backward_reach_all_parameters():
    b = Block()
    b(np.ones((2, 3))).sum().backward()
    assert all(p.grad is not None for p in b.parameters())
    b.zero_grad()
    assert all(p.grad is None for p in b.parameters())


def test_zero_grad_can_keep_the_gradient_tensors():
    b = Block()
    b(np.ones((2, 3))).sum().backward()
    grads = {n: p.grad for n, p in b.named_parameters()}
    assert any(np.any(g.data != 0) for g in grads.values())
    b.zero_grad(set_to_none=False)
    for n, p in b.named_parameters():
        assert p.grad is grads[n] and p.grad.shape == p.shape and np.all(p.grad.data == 0)
    b(np.ones((2, 3))).sum().backward()  # and the next backward accumulates onto those zeros
    want = Block()
    want.load_state_dict(b.state_dict())
    want(np.ones((2, 3))).sum().backward()
    for p, q in zip(b.parameters(), want.parameters()):
        np.testing.assert_array_equal(p.grad.data, q.grad.data)


def test_requires_grad_freezes():
    lin = nn.Linear(2, 2).requires_grad_(False)
    assert lin.num_parameters(trainable_only=True) == 0 and lin.num_parameters() == 6
    assert not lin(np.ones((1, 2))).requires_grad


def test_repr_is_nested_like_pytorch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1, bias=False), nn.Sigmoid()))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=1, bias=False)\n"
        "    (1): Sigmoid()\n"
        "  )\n"
        ")")


def test_sequential_indexing_iteration_and_errors():
    a, b, c = nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    x = np.random.default_rng(0).normal(size=(4, 2))
    np.testing.assert_allclose(seq(x).data, c(b(a(x))).data)
    with pytest.raises(IndexError):
        seq[3]
    with pytest.raises(TypeError, match="argument 1"):
        nn.Sequential(a, lambda x: x)


def test_forward_missing_is_reported():
    with pytest.raises(NotImplementedError, match="Empty"):
        type("Empty", (nn.Module,), {})()(1)


# ---- state dicts ---------------------------------------------------------------------------------
def _net(seed):
    return nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(seed)), nn.Tanh(),
                         nn.Linear(4, 2, rng=np.random.default_rng(seed + 1)))


def test_state_dict_round_trip_and_copies():
    src, dst = _net(0), _net(10)
    sd = src.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    src[0].weight.data += 1.0  # the state dict holds copies, not views
    assert not np.allclose(sd["0.weight"], src[0].weight.data)
    res = dst.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []
    src[0].weight.data -= 1.0
    x = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_array_equal(src(x).data, dst(x).data)
    sd["0.bias"][:] = 99  # and loading copied too
    assert not np.any(dst[0].bias.data == 99)


def _snapshot(m):
    return {k: v.copy() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("edit, message", [
    (lambda sd: sd.pop("2.bias"), "missing key.*2.bias"),
    (lambda sd: sd.update(extra=np.ones(2)), "unexpected key.*extra"),
    (lambda sd: sd.update({"2.weight": np.ones((4, 2))}), r"2.weight.*shape \(4, 2\).*\(2, 4\)"),
    (lambda sd: sd.update({"0.bias": np.array(["a", "b", "c", "d"])}), "0.bias.*dtype"),
    (lambda sd: sd.update({"0.bias": np.array([1.0, np.nan, 0, 0])}), "0.bias.*NaN"),
])
def test_load_state_dict_refuses_and_changes_nothing(edit, message):
    model = _net(0)
    before = _snapshot(model)
    sd = _net(5).state_dict()  # valid values, different from the model's, so a partial load would show
    edit(sd)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(sd)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_load_state_dict_checks_finiteness_in_the_parameters_dtype():
    model = nn.Sequential(nn.Linear(3, 2))
    with ag.no_grad():
        for p in model.parameters():
            p.data = p.data.astype(np.float32)
    before = _snapshot(model)
    sd = {"0.weight": np.full((2, 3), 0.5), "0.bias": np.array([1e39, 0.0])}  # finite in float64 only
    with pytest.raises(ValueError, match=r"0.bias.*too large for dtype float32"):
        model.load_state_dict(sd)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # the valid weight was not loaded either
    sd["0.bias"] = np.array([3e38, -1.0])  # finite in float32: accepted
    model.load_state_dict(sd)
    assert model[0].bias.dtype == np.float32 and model[0].bias.data[0] == np.float32(3e38)


def test_load_state_dict_non_strict_reports_keys():
    model = _net(0)
    sd = _net(3).state_dict()
    sd.pop("2.bias")
    sd["junk"] = np.zeros(1)
    res = model.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["2.bias"] and res.unexpected_keys == ["junk"]
    np.testing.assert_array_equal(model[0].weight.data, sd["0.weight"])


def test_buffers_are_saved_and_loaded():
    class WithStats(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.register_buffer("count", np.zeros(3))

    a, b = WithStats(), WithStats()
    a.count = np.array([1.0, 2.0, 3.0])
    assert "count" in a.state_dict() and "count" not in dict(a.named_parameters())
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.count, [1, 2, 3])


def test_zero_dim_parameter_state():
    b1, b2 = Block(), Block()
    b1.scale.data = np.float64(5.0)
    b2.load_state_dict(b1.state_dict())
    assert b2.scale.data == 5.0 and np.ndim(b2.scale.data) == 0
