"""Optimizers (SGD, Adam, RMSprop) that update parameters in place, and learning-rate schedules.

Each optimizer holds a list of parameters, its hyperparameters as attributes (`opt.lr`, ...; checked when
set), and per-parameter state. `state_dict()` is a flat dict of numbers and arrays ("num_params",
"params_with_state", "lr", "state.0.exp_avg", ...), so nn.save can write it; `load_state_dict` checks all of it
before changing anything. A new optimizer declares `hyperparameters` and `buffers` and defines `_delta`.
"""
from .adam import Adam
from .lr_scheduler import ExponentialLR, LRScheduler, StepLR
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "LRScheduler", "StepLR", "ExponentialLR"]
