"""End-to-end learning with a fixed seed: the models must actually learn."""
import numpy as np

import autograd as ag
import nn
import nn.functional as F
from nn import optim

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def test_mlp_learns_xor_with_sgd_and_mse():
    nn.init.seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    loss_fn = nn.MSELoss()
    for _ in range(500):
        opt.zero_grad()
        loss_fn(model(X), Y).backward()
        opt.step()
    with ag.no_grad():
        err = np.abs(model(X).data - Y)
    assert err.max() < 0.05, err.ravel()


def test_mlp_learns_xor_with_adam_and_logits():
    r = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(2, 16, init="he", rng=r), nn.ReLU(), nn.Linear(16, 1, rng=r))
    opt = optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(model(X), Y).backward()
        opt.step()
    err = np.abs(ag.sigmoid(model(X)).data - Y)
    assert err.max() < 0.05, err.ravel()


def test_softmax_classifier_learns_three_blobs():
    r = np.random.default_rng(0)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    labels = r.integers(0, 3, size=150)
    pts = centres[labels] + r.normal(size=(150, 2))
    model = nn.Sequential(nn.Linear(2, 16, rng=r), nn.ReLU(), nn.Dropout(0.1, rng=r), nn.Linear(16, 3, rng=r))
    opt = optim.Adam(model.parameters(), lr=0.02)
    sched = optim.StepLR(opt, step_size=100, gamma=0.5)
    for _ in range(200):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(pts), labels).backward()
        opt.step()
        sched.step()
    model.eval()
    acc = np.mean(np.argmax(model(pts).data, axis=1) == labels)
    assert acc > 0.95
