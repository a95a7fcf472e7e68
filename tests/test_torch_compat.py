"""PyTorch's layouts: a PyTorch model's state dict, saved with np.savez, loads into the same model here
(`model.load_state_dict(nn.load(path))`) and gives the same outputs and gradients.

Checked two ways: against numpy written from PyTorch's documented equations, with state dicts whose keys
and shapes are written out here by hand (runs everywhere), and against PyTorch itself when it is installed.
"""
import numpy as np
import pytest

import autograd as ag
import nn

IN, HID, OUT, B, T = 3, 5, 2, 4, 6


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---- PyTorch's equations in numpy (torch.nn docs), gate blocks stacked along the rows -------------------
def np_linear(x, sd, p=""):
    return x @ sd[p + "weight"].T + sd[p + "bias"]


def _affine(x, h, sd, s):
    gi = x @ sd["weight_ih" + s].T + sd.get("bias_ih" + s, 0.0)
    gh = h @ sd["weight_hh" + s].T + sd.get("bias_hh" + s, 0.0)
    return gi, gh


def np_rnn_cell(x, h, sd, s="", act=np.tanh):
    gi, gh = _affine(x, h, sd, s)
    return act(gi + gh)


def np_lstm_cell(x, state, sd, s=""):
    h, c = state
    gi, gh = _affine(x, h, sd, s)
    i, f, g, o = np.split(gi + gh, 4, axis=1)  # input, forget, cell, output
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def np_gru_cell(x, h, sd, s=""):
    (ir, iz, i_n), (hr, hz, h_n) = (np.split(a, 3, axis=1) for a in _affine(x, h, sd, s))  # reset, update, new
    r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
    n = np.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


def np_sequence(cell, xs, state, sd):
    outs = []
    for x in xs:
        state = cell(x, state, sd, "_l0")
        outs.append(state[0] if isinstance(state, tuple) else state)
    return np.stack(outs), state


def _shapes(gates, suffix="", bias=True):
    w = {"weight_ih" + suffix: (gates * HID, IN), "weight_hh" + suffix: (gates * HID, HID)}
    return {**w, **({"bias_ih" + suffix: (gates * HID,), "bias_hh" + suffix: (gates * HID,)} if bias else {})}


def _relu(z):
    return np.maximum(z, 0.0)


# name: (constructor, given the module namespace (torch.nn or nn); PyTorch's keys and shapes; kind; reference)
MODELS = {
    "Linear": (lambda m: m.Linear(IN, OUT), {"weight": (OUT, IN), "bias": (OUT,)}, "ff",
               lambda x, sd: np_linear(x, sd)),
    "MLP": (lambda m: m.Sequential(m.Linear(IN, 8), m.Tanh(), m.Linear(8, OUT)),
            {"0.weight": (8, IN), "0.bias": (8,), "2.weight": (OUT, 8), "2.bias": (OUT,)}, "ff",
            lambda x, sd: np_linear(np.tanh(np_linear(x, sd, "0.")), sd, "2.")),
    "RNNCell": (lambda m: m.RNNCell(IN, HID, nonlinearity="relu"), _shapes(1), "cell",
                lambda x, h, sd: np_rnn_cell(x, h, sd, act=_relu)),
    "LSTMCell": (lambda m: m.LSTMCell(IN, HID), _shapes(4), "cell_c", np_lstm_cell),
    "GRUCell": (lambda m: m.GRUCell(IN, HID), _shapes(3), "cell", np_gru_cell),
    "RNN": (lambda m: m.RNN(IN, HID), _shapes(1, "_l0"), "seq",
            lambda xs, h, sd: np_sequence(np_rnn_cell, xs, h, sd)),
    "RNN-nobias": (lambda m: m.RNN(IN, HID, bias=False), _shapes(1, "_l0", bias=False), "seq",
                   lambda xs, h, sd: np_sequence(np_rnn_cell, xs, h, sd)),
    "LSTM": (lambda m: m.LSTM(IN, HID), _shapes(4, "_l0"), "seq_c",
             lambda xs, hc, sd: np_sequence(np_lstm_cell, xs, hc, sd)),
    "GRU": (lambda m: m.GRU(IN, HID), _shapes(3, "_l0"), "seq",
            lambda xs, h, sd: np_sequence(np_gru_cell, xs, h, sd)),
}


def _inputs(kind, rng):
    """(x, initial state or None), batch-first for cells and time-first for sequences, as in PyTorch."""
    x = rng.normal(size=(T, B, IN) if kind.startswith("seq") else (B, IN))
    if kind == "ff":
        return x, None
    h = rng.normal(size=(B, HID))
    return x, ((h, rng.normal(size=(B, HID))) if kind.endswith("_c") else h)


def _flat(out):
    """The outputs as a flat list: (outputs, (h, c)) -> [outputs, h, c]."""
    return [leaf for o in out for leaf in _flat(o)] if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize("name", MODELS)
def test_a_state_dict_in_pytorchs_layout_loads_and_matches_its_equations(name, tmp_path):
    make, shapes, kind, reference = MODELS[name]
    rng = np.random.default_rng(0)
    sd = {k: rng.uniform(-0.5, 0.5, size=s) for k, s in shapes.items()}
    np.savez(tmp_path / "m.npz", **sd)
    model = make(nn)
    assert {k: v.shape for k, v in model.state_dict().items()} == shapes
    model.load_state_dict(nn.load(tmp_path / "m.npz"))
    x, state = _inputs(kind, rng)
    got = model(x) if state is None else model(x, state)
    want = reference(x, sd) if state is None else reference(x, state, sd)
    for g, w in zip(_flat(got), _flat(want), strict=True):
        np.testing.assert_allclose(g.data, w, rtol=1e-12, atol=1e-14)


def test_a_gru_step_by_hand():
    # one unit, one input, x = 1, h = 0.5; W_ir = 1, W_iz = 0, W_in = 2; W_hr = 0, W_hz = 1, W_hn = 4;
    # biases 0 except b_hn = -1: r = s(1), z = s(0.5), n = tanh(2 + r * (4 * 0.5 - 1)), h' = (1 - z) n + z h
    cell = nn.GRUCell(1, 1)
    cell.load_state_dict({"weight_ih": np.array([[1.0], [0.0], [2.0]]), "weight_hh": np.array([[0.0], [1.0], [4.0]]),
                          "bias_ih": np.zeros(3), "bias_hh": np.array([0.0, 0.0, -1.0])})
    r, z = 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(-0.5))
    n = np.tanh(2.0 + r * 1.0)
    assert cell(np.array([[1.0]]), np.array([[0.5]])).item() == pytest.approx((1 - z) * n + z * 0.5, rel=1e-14)


# ---- against PyTorch ------------------------------------------------------------------------------------
@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _torch_call(torch, model, kind, x, state):
    tx = torch.tensor(x)
    if kind == "ff":
        return model(tx)
    if kind.startswith("cell"):
        return model(tx, tuple(map(torch.tensor, state)) if kind.endswith("_c") else torch.tensor(state))
    # sequence modules: PyTorch's state has a leading layer axis
    st = tuple(torch.tensor(s)[None] for s in state) if kind.endswith("_c") else torch.tensor(state)[None]
    out, last = model(tx, st)
    return out, (tuple(s[0] for s in last) if kind.endswith("_c") else last[0])


@pytest.mark.parametrize("name", MODELS)
def test_pytorch_models_load_and_give_the_same_outputs_and_gradients(name, tmp_path, torch):
    make, shapes, kind, _ = MODELS[name]
    torch.manual_seed(0)
    theirs = make(torch.nn).double()
    np.savez(tmp_path / "m.npz", **{k: v.numpy() for k, v in theirs.state_dict().items()})
    ours = make(nn)
    ours.load_state_dict(nn.load(tmp_path / "m.npz"))
    x, state = _inputs(kind, np.random.default_rng(1))
    t_out = _flat(_torch_call(torch, theirs, kind, x, state))
    o_out = _flat(ours(x) if state is None else ours(x, state))
    assert len(t_out) == len(o_out)
    for t, o in zip(t_out, o_out):
        np.testing.assert_allclose(o.data, t.detach().numpy(), rtol=1e-12, atol=1e-14)
    # gradients of the same weighted sum of every output
    us = [np.random.default_rng(2 + k).normal(size=t.shape) for k, t in enumerate(t_out)]
    sum(ag.sum(o * u) for o, u in zip(o_out, us)).backward()
    sum((t * torch.tensor(u)).sum() for t, u in zip(t_out, us)).backward()
    t_grads = {k: p.grad.numpy() for k, p in theirs.named_parameters()}
    for k, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, t_grads[k], rtol=1e-10, atol=1e-13, err_msg=k)


def test_a_float32_pytorch_model_loads_into_float64_parameters(tmp_path, torch):
    torch.manual_seed(1)
    theirs = torch.nn.Sequential(torch.nn.Linear(IN, 8), torch.nn.ReLU(), torch.nn.Linear(8, OUT))
    np.savez(tmp_path / "m.npz", **{k: v.numpy() for k, v in theirs.state_dict().items()})
    ours = nn.Sequential(nn.Linear(IN, 8), nn.ReLU(), nn.Linear(8, OUT))
    ours.load_state_dict(nn.load(tmp_path / "m.npz"))
    x = np.random.default_rng(3).normal(size=(B, IN)).astype(np.float32)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert ours[0].weight.dtype == np.float64
