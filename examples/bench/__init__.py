"""The benchmark's workloads, each with a reference side and engine sides, registered in `registry.WORKLOADS`
(run by `python -m examples.benchmark`). Importing this package registers them; none imports the engine
until a side is set up, so a worker can choose which engine it measures."""
# Each module registers its workloads on import; this order is the report's order.
from . import seed_mlp  # noqa: F401  isort: skip
from . import mnist_mlp  # noqa: F401  isort: skip
from . import micrograd_demo  # noqa: F401  isort: skip
from . import chain  # noqa: F401  isort: skip
from .registry import WORKLOADS, Trainer, Unavailable, at_most, seconds, side, speedup, workload  # noqa: F401
