"""Recurrent cells and the unrolled RNN: finite-difference gradient checks, agreement with the same network
written step by step (numpy forward, hand-derived BPTT), truncated BPTT, long unrolls and input errors."""

import numpy as np
import pytest

import autograd as ag
import nn
from helpers import swapped


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTS = {"tanh": np.tanh, "sigmoid": _sigmoid, "relu": lambda z: np.maximum(z, 0.0)}


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
def test_rnn_cell_gradcheck(act):
    rng = np.random.default_rng(1)
    cell = nn.RNNCell(3, 4, nonlinearity=act, rng=rng)
    x, h = rng.normal(size=(2, 3)), rng.normal(size=(2, 4))

    def f(x, h, w_ih, w_hh, b):
        with swapped(cell, weight_ih=w_ih, weight_hh=w_hh, bias=b):
            return cell(x, h)

    assert ag.gradcheck(f, [x, h, cell.weight_ih.data, cell.weight_hh.data, cell.bias.data])


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
def test_rnn_cell_matches_formula(act):
    rng = np.random.default_rng(2)
    cell = nn.RNNCell(3, 5, nonlinearity=act, rng=rng)
    x, h = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    want = ACTS[act](x @ cell.weight_ih.data + h @ cell.weight_hh.data + cell.bias.data)
    np.testing.assert_allclose(cell(x, h).data, want, rtol=1e-12)
    # h=None means a zero initial state
    np.testing.assert_allclose(cell(x).data, ACTS[act](x @ cell.weight_ih.data + cell.bias.data), rtol=1e-12)


def test_rnn_cell_without_bias_has_no_bias_parameter():
    cell = nn.RNNCell(2, 3, bias=False, rng=np.random.default_rng(0))
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh"]


def test_five_step_unroll_gradcheck():
    rng = np.random.default_rng(3)
    rnn = nn.RNN(3, 4, nonlinearity="tanh", rng=rng)
    x, h0 = rng.normal(size=(5, 2, 3)), rng.normal(size=(2, 4))
    c = rnn.cell

    def f(x, h0, w_ih, w_hh, b):
        with swapped(c, weight_ih=w_ih, weight_hh=w_hh, bias=b):
            return rnn(x, h0)  # (all hidden states, last): both outputs are checked

    assert ag.gradcheck(f, [x, h0, c.weight_ih.data, c.weight_hh.data, c.bias.data])


def test_unrolled_rnn_equals_step_by_step_primitive_ops():
    rng = np.random.default_rng(4)
    T, B, F, H = 6, 3, 2, 5
    rnn = nn.RNN(F, H, nonlinearity="sigmoid", rng=rng)
    x = rng.normal(size=(T, B, F))
    out, last = rnn(x)
    target = rng.normal(size=(T, B, H))
    ((out - target) ** 2).sum().backward()

    # The same network from primitive ops on independent copies of the weights.
    w_ih = ag.tensor(rnn.cell.weight_ih.data, requires_grad=True)
    w_hh = ag.tensor(rnn.cell.weight_hh.data, requires_grad=True)
    b = ag.tensor(rnn.cell.bias.data, requires_grad=True)
    h = ag.zeros(B, H)
    loss = 0.0
    for t in range(T):
        z = ag.matmul(ag.tensor(x[t]), w_ih) + ag.matmul(h, w_hh) + b
        h = 1.0 / (1.0 + ag.exp(-z))
        assert np.allclose(out.data[t], h.data, rtol=1e-12, atol=0)
        loss = loss + ((h - target[t]) ** 2).sum()
    loss.backward()
    np.testing.assert_allclose(last.data, h.data, rtol=1e-12)
    for p, q in ((rnn.cell.weight_ih, w_ih), (rnn.cell.weight_hh, w_hh), (rnn.cell.bias, b)):
        np.testing.assert_allclose(p.grad.data, q.grad.data, rtol=1e-10, atol=1e-12)


def test_thousand_step_unroll_backpropagates_and_matches_hand_bptt():
    # ~5,000 nodes deep: a recursive backward would hit Python's recursion limit.
    rng = np.random.default_rng(5)
    T, B, F, H = 1000, 2, 2, 6
    rnn = nn.RNN(F, H, nonlinearity="tanh", rng=rng)
    x = rng.normal(size=(T, B, F))
    out, last = rnn(x)
    out.sum().backward()

    W, U, b = rnn.cell.weight_ih.data, rnn.cell.weight_hh.data, rnn.cell.bias.data
    hs = [np.zeros((B, H))]
    for t in range(T):
        hs.append(np.tanh(x[t] @ W + hs[-1] @ U + b))
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = np.zeros((B, H))
    for t in reversed(range(T)):
        dh = dh + 1.0  # d(sum of all outputs)/d h_t
        da = dh * (1 - hs[t + 1] ** 2)
        dW += x[t].T @ da
        dU += hs[t].T @ da
        db += da.sum(0)
        dh = da @ U.T
    np.testing.assert_allclose(last.data, hs[-1], rtol=1e-12)
    np.testing.assert_allclose(rnn.cell.weight_ih.grad.data, dW, rtol=1e-9)
    np.testing.assert_allclose(rnn.cell.weight_hh.grad.data, dU, rtol=1e-9)
    np.testing.assert_allclose(rnn.cell.bias.grad.data, db, rtol=1e-9)


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


def _np_lstm(x, h, c, W, U, b):
    n = h.shape[1]
    z = x @ W + h @ U + b
    i, f, g, o = _sigmoid(z[:, :n]), _sigmoid(z[:, n:2 * n]), np.tanh(z[:, 2 * n:3 * n]), _sigmoid(z[:, 3 * n:])
    c = f * c + i * g
    return o * np.tanh(c), c


def _np_gru(x, h, W, U, b, bhn):
    n = h.shape[1]
    zx, zh = x @ W + b, h @ U
    r = _sigmoid(zx[:, :n] + zh[:, :n])
    u = _sigmoid(zx[:, n:2 * n] + zh[:, n:2 * n])
    cand = np.tanh(zx[:, 2 * n:] + r * (zh[:, 2 * n:] + bhn))
    return (1 - u) * cand + u * h


def test_lstm_cell_matches_formula_and_gradcheck():
    rng = np.random.default_rng(8)
    cell = nn.LSTMCell(3, 2, rng=rng)
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    hn, cn = cell(x, (h, c))
    wh, wc = _np_lstm(x, h, c, cell.weight_ih.data, cell.weight_hh.data, cell.bias.data)
    np.testing.assert_allclose(hn.data, wh, rtol=1e-12)
    np.testing.assert_allclose(cn.data, wc, rtol=1e-12)

    def f(x, h, c, w_ih, w_hh, b):
        with swapped(cell, weight_ih=w_ih, weight_hh=w_hh, bias=b):
            return cell(x, (h, c))

    assert ag.gradcheck(f, [x, h, c, cell.weight_ih.data, cell.weight_hh.data, cell.bias.data])


def test_gru_cell_matches_formula_and_gradcheck():
    rng = np.random.default_rng(9)
    cell = nn.GRUCell(3, 2, rng=rng)
    x, h = rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    want = _np_gru(x, h, cell.weight_ih.data, cell.weight_hh.data, cell.bias.data, cell.bias_hn.data)
    np.testing.assert_allclose(cell(x, h).data, want, rtol=1e-12)

    def f(x, h, w_ih, w_hh, b, bhn):
        with swapped(cell, weight_ih=w_ih, weight_hh=w_hh, bias=b, bias_hn=bhn):
            return cell(x, h)

    assert ag.gradcheck(f, [x, h, cell.weight_ih.data, cell.weight_hh.data, cell.bias.data, cell.bias_hn.data])


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_gated_rnn_unroll_gradcheck(mode):
    rng = np.random.default_rng(10)
    rnn = nn.RNN(2, 3, mode=mode, rng=rng)
    x = rng.normal(size=(4, 2, 2))
    assert ag.gradcheck(lambda x: rnn(x)[0], [x])
    out, last = rnn(x)
    h_last = last[0] if mode == "lstm" else last
    np.testing.assert_array_equal(out.data[-1], h_last.data)


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
    with pytest.raises(ValueError, match=r"mode"):
        nn.RNN(3, 4, mode="elman")
    with pytest.raises(ValueError, match=r"empty"):
        nn.RNN(3, 4)([])
