"""Experiments that turn each claim of the essay into a measured figure (see shared/CLAIMS.md)."""
from . import exploitation, instrumental, patching, representation, torn, wireheading  # noqa: F401  (register the experiments)
from .framework import REGISTRY, Condition, Experiment, run_experiment
from .store import Store

__all__ = ["REGISTRY", "Condition", "Experiment", "run_experiment", "Store"]
