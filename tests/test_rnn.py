"""Recurrent cells and the unrolled RNN: finite-difference gradient checks, agreement with the same network
written step by step (numpy forward, hand-derived BPTT), truncated BPTT, long unrolls and input errors."""

import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils import functional_call

NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _params(m, suffix=""):
    return [m._parameters[n + suffix].data for n in NAMES]


def _call(m, ps, *args, suffix=""):
    """m(*args) with stand-ins for its four parameters (so gradcheck can vary them)."""
    return functional_call(m, {n + suffix: p for n, p in zip(NAMES, ps)}, args)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTS = {"tanh": np.tanh, "sigmoid": _sigmoid, "relu": lambda z: np.maximum(z, 0.0)}


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
def test_rnn_cell_gradcheck(act):
    rng = np.random.default_rng(1)
    cell = nn.RNNCell(3, 4, nonlinearity=act, rng=rng)
    x, h = rng.normal(size=(2, 3)), rng.normal(size=(2, 4))
    assert ag.gradcheck(lambda x, h, *ps: _call(cell, ps, x, h), [x, h, *_params(cell)])


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
def test_rnn_cell_matches_formula(act):
    rng = np.random.default_rng(2)
    cell = nn.RNNCell(3, 5, nonlinearity=act, rng=rng)
    W, U, b, c = _params(cell)
    assert W.shape == (5, 3) and U.shape == (5, 5) and b.shape == c.shape == (5,)  # PyTorch's layout
    x, h = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    np.testing.assert_allclose(cell(x, h).data, ACTS[act](x @ W.T + b + h @ U.T + c), rtol=1e-12)
    # h=None means a zero initial state
    np.testing.assert_allclose(cell(x).data, ACTS[act](x @ W.T + b + c), rtol=1e-12)


def test_rnn_cell_without_bias_has_no_bias_parameter():
    cell = nn.RNNCell(2, 3, bias=False, rng=np.random.default_rng(0))
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh"]
    x = np.ones((1, 2))
    np.testing.assert_allclose(cell(x).data, np.tanh(x @ cell.weight_ih.data.T), rtol=1e-12)


def test_parameter_names_and_shapes_are_pytorchs():
    assert {n: p.shape for n, p in nn.LSTMCell(3, 4).named_parameters()} == {
        "weight_ih": (16, 3), "weight_hh": (16, 4), "bias_ih": (16,), "bias_hh": (16,)}
    assert {n: p.shape for n, p in nn.GRU(3, 4).named_parameters()} == {
        "weight_ih_l0": (12, 3), "weight_hh_l0": (12, 4), "bias_ih_l0": (12,), "bias_hh_l0": (12,)}
    assert [n for n, _ in nn.RNN(3, 4, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    k = 1 / np.sqrt(50)  # every parameter drawn from U(-k, k), k = 1/sqrt(hidden_size)
    for p in nn.LSTM(10, 50, rng=np.random.default_rng(0)).parameters():
        assert np.abs(p.data).max() <= k and np.abs(p.data).max() > 0.9 * k


def test_five_step_unroll_gradcheck():
    rng = np.random.default_rng(3)
    rnn = nn.RNN(3, 4, nonlinearity="tanh", rng=rng)
    x, h0 = rng.normal(size=(5, 2, 3)), rng.normal(size=(2, 4))
    # (all hidden states, last): both outputs are checked
    assert ag.gradcheck(lambda x, h0, *ps: _call(rnn, ps, x, h0, suffix="_l0"), [x, h0, *_params(rnn, "_l0")])


def test_unrolled_rnn_equals_step_by_step_primitive_ops():
    rng = np.random.default_rng(4)
    T, B, F, H = 6, 3, 2, 5
    rnn = nn.RNN(F, H, nonlinearity="sigmoid", rng=rng)
    x = rng.normal(size=(T, B, F))
    out, last = rnn(x)
    target = rng.normal(size=(T, B, H))
    ((out - target) ** 2).sum().backward()

    # The same network from primitive ops on independent copies of the weights.
    w_ih, w_hh, b_ih, b_hh = (ag.tensor(a, requires_grad=True) for a in _params(rnn, "_l0"))
    h = ag.zeros(B, H)
    loss = 0.0
    for t in range(T):
        z = ag.matmul(ag.tensor(x[t]), w_ih.T) + b_ih + ag.matmul(h, w_hh.T) + b_hh
        h = 1.0 / (1.0 + ag.exp(-z))
        assert np.allclose(out.data[t], h.data, rtol=1e-12, atol=0)
        loss = loss + ((h - target[t]) ** 2).sum()
    loss.backward()
    np.testing.assert_allclose(last.data, h.data, rtol=1e-12)
    for n, q in zip(NAMES, (w_ih, w_hh, b_ih, b_hh)):
        np.testing.assert_allclose(rnn._parameters[n + "_l0"].grad.data, q.grad.data, rtol=1e-10, atol=1e-12)


def test_thousand_step_unroll_backpropagates_and_matches_hand_bptt():
    # ~5,000 nodes deep: a recursive backward would hit Python's recursion limit.
    rng = np.random.default_rng(5)
    T, B, F, H = 1000, 2, 2, 6
    rnn = nn.RNN(F, H, nonlinearity="tanh", rng=rng)
    x = rng.normal(size=(T, B, F))
    out, last = rnn(x)
    out.sum().backward()

    W, U, b, c = _params(rnn, "_l0")
    hs = [np.zeros((B, H))]
    for t in range(T):
        hs.append(np.tanh(x[t] @ W.T + b + hs[-1] @ U.T + c))
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = np.zeros((B, H))
    for t in reversed(range(T)):
        dh = dh + 1.0  # d(sum of all outputs)/d h_t
        da = dh * (1 - hs[t + 1] ** 2)
        dW += da.T @ x[t]
        dU += da.T @ hs[t]
        db += da.sum(0)
        dh = da @ U
    np.testing.assert_allclose(last.data, hs[-1], rtol=1e-12)
    np.testing.assert_allclose(rnn.weight_ih_l0.grad.data, dW, rtol=1e-9)
    np.testing.assert_allclose(rnn.weight_hh_l0.grad.data, dU, rtol=1e-9)
    np.testing.assert_allclose(rnn.bias_ih_l0.grad.data, db, rtol=1e-9)
    np.testing.assert_allclose(rnn.bias_hh_l0.grad.data, db, rtol=1e-9)  # the two biases enter alike


def test_truncated_bptt_detach_stops_gradient_at_window_boundary():
    rng = np.random.default_rng(6)
    rnn = nn.RNN(2, 3, rng=rng)
    x1 = ag.tensor(rng.normal(size=(4, 1, 2)), requires_grad=True)
    x2 = ag.tensor(rng.normal(size=(4, 1, 2)), requires_grad=True)
    _, h = rnn(x1)
    out, _ = rnn(x2, h.detach())  # truncated: the second window does not reach the first
    out.sum().backward()
    assert x1.grad is None and x2.grad is not None
    _, h = rnn(x1)
    out, _ = rnn(x2, h)  # full BPTT reaches it
    out.sum().backward()
    assert x1.grad is not None and np.abs(x1.grad.data).sum() > 0


def test_rnn_accepts_a_list_of_steps_and_an_initial_state():
    rng = np.random.default_rng(7)
    rnn = nn.RNN(2, 3, rng=rng)
    x, h0 = rng.normal(size=(3, 2, 2)), rng.normal(size=(2, 3))
    a, la = rnn(x, h0)
    b, lb = rnn([x[0], x[1], x[2]], h0)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.shape == (3, 2, 3) and la.shape == (2, 3)


def _np_lstm(x, h, c, W, U, b, d):
    # PyTorch's equations, gate blocks of rows in the order i, f, g, o
    Wi, Wf, Wg, Wo = np.split(W, 4)
    Ui, Uf, Ug, Uo = np.split(U, 4)
    bi, bf, bg, bo = np.split(b + d, 4)
    i, f = _sigmoid(x @ Wi.T + h @ Ui.T + bi), _sigmoid(x @ Wf.T + h @ Uf.T + bf)
    g, o = np.tanh(x @ Wg.T + h @ Ug.T + bg), _sigmoid(x @ Wo.T + h @ Uo.T + bo)
    c = f * c + i * g
    return o * np.tanh(c), c


def _np_gru(x, h, W, U, b, d):
    # PyTorch's equations, blocks r, z, n: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    (Wr, Wz, Wn), (Ur, Uz, Un), (br, bz, bn), (dr, dz, dn) = (np.split(a, 3) for a in (W, U, b, d))
    r = _sigmoid(x @ Wr.T + br + h @ Ur.T + dr)
    z = _sigmoid(x @ Wz.T + bz + h @ Uz.T + dz)
    n = np.tanh(x @ Wn.T + bn + r * (h @ Un.T + dn))
    return (1 - z) * n + z * h


def test_lstm_cell_matches_formula_and_gradcheck():
    rng = np.random.default_rng(8)
    cell = nn.LSTMCell(3, 2, rng=rng)
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    hn, cn = cell(x, (h, c))
    wh, wc = _np_lstm(x, h, c, *_params(cell))
    np.testing.assert_allclose(hn.data, wh, rtol=1e-12)
    np.testing.assert_allclose(cn.data, wc, rtol=1e-12)
    assert ag.gradcheck(lambda x, h, c, *ps: _call(cell, ps, x, (h, c)), [x, h, c, *_params(cell)])


def test_gru_cell_matches_formula_and_gradcheck():
    rng = np.random.default_rng(9)
    cell = nn.GRUCell(3, 2, rng=rng)
    x, h = rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    np.testing.assert_allclose(cell(x, h).data, _np_gru(x, h, *_params(cell)), rtol=1e-12)
    assert ag.gradcheck(lambda x, h, *ps: _call(cell, ps, x, h), [x, h, *_params(cell)])


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_gated_rnn_unroll_gradcheck(mode):
    rng = np.random.default_rng(10)
    rnn = nn.RNN(2, 3, mode=mode, rng=rng)
    x = rng.normal(size=(4, 2, 2))
    assert ag.gradcheck(lambda x: rnn(x)[0], [x])
    out, last = rnn(x)
    h_last = last[0] if mode == "lstm" else last
    np.testing.assert_array_equal(out.data[-1], h_last.data)
    ps = _params(rnn, "_l0")
    h, c = np.zeros((2, 3)), np.zeros((2, 3))
    for t in range(4):  # the unroll is the numpy cell applied step by step
        h, c = _np_lstm(x[t], h, c, *ps) if mode == "lstm" else (_np_gru(x[t], h, *ps), None)
        np.testing.assert_allclose(out.data[t], h, rtol=1e-12)
    assert ag.gradcheck(lambda *ps: _call(rnn, ps, x, suffix="_l0")[0], ps)


def test_seeded_default_generator_gives_reproducible_weights():
    nn.init.seed(123)
    a = nn.RNNCell(2, 3)
    nn.init.seed(123)
    b = nn.RNNCell(2, 3)
    np.testing.assert_array_equal(a.weight_hh.data, b.weight_hh.data)


def test_bad_inputs_raise_clear_errors():
    cell = nn.RNNCell(3, 4, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="softsign")
    with pytest.raises(ValueError, match=r"hidden_size"):
        nn.RNNCell(3, 0)
    with pytest.raises(ValueError, match=r"\(batch, 3\).*\(2, 5\)"):
        cell(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"h must have shape \(2, 4\)"):
        cell(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(T, batch, 3\)"):
        nn.RNN(3, 4)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(T, batch, 3\).*\(2, 1, 5\)"):
        nn.RNN(3, 4)(np.zeros((2, 1, 5)))
    with pytest.raises(ValueError, match=r"h must have shape \(1, 4\), got \(1, 1, 4\)"):
        nn.RNN(3, 4)(np.zeros((2, 1, 3)), np.zeros((1, 1, 4)))  # PyTorch's (layers, batch, hidden) state
    with pytest.raises(ValueError, match=r"c must have shape"):
        nn.LSTMCell(3, 4)(np.zeros((2, 3)), (np.zeros((2, 4)), np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"nonlinearity"):
        nn.RNN(3, 4, mode="gru", nonlinearity="relu")
    with pytest.raises(ValueError, match=r"mode"):
        nn.RNN(3, 4, mode="elman")
    with pytest.raises(ValueError, match=r"empty"):
        nn.RNN(3, 4)([])
