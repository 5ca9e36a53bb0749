"""The house: a pure-JAX gridworld where the APTAMI agent lives with humans whose welfare is hidden."""
from .core import House
from .level import LevelError, compile_level
from .params import SPECS as PARAM_SPECS
from .params import ParamError
from .scenarios import REGISTRY, Scenario, get, make, register
from .types import ACTION_NAMES, EVENTS, N_ACTIONS, POWER_SEEKING, EnvParams, EnvSize, EnvState, Obs, Signals, ledger

__all__ = [
    "House", "LevelError", "compile_level", "PARAM_SPECS", "ParamError", "REGISTRY", "Scenario", "get",
    "make", "register", "ACTION_NAMES", "EVENTS", "N_ACTIONS", "POWER_SEEKING", "EnvParams", "EnvSize",
    "EnvState", "Obs", "Signals", "ledger",
]
