"""nn: neural-network building blocks on top of `autograd` (modules, layers, losses, optimizers, saving).

    import nn, nn.functional as F
    from nn import optim
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = optim.Adam(model.parameters(), lr=0.05)
"""
from . import functional, init, optim, utils
from .layers import Dropout, Flatten, Identity, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import LoadResult, Module, ModuleList, Parameter, Sequential
from .serialization import load, save

__all__ = ["Module", "Parameter", "ModuleList", "Sequential", "LoadResult", "Linear", "Sigmoid", "ReLU", "Tanh",
           "Softmax", "LogSoftmax", "Identity", "Dropout", "Flatten", "MSELoss", "CrossEntropyLoss", "NLLLoss",
           "BCELoss", "BCEWithLogitsLoss", "save", "load", "functional", "init", "optim", "utils"]

# Recurrent cells and synthetic gradients (nn/rnn.py, nn/dni.py) sit on top of the modules above.
from .dni import DNI  # noqa: E402
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: E402

__all__ += ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "DNI"]
