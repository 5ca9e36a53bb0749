"""aptami: LeCun's APTAMI agent, a house to live in, and Byrnes' claims about its Intrinsic Cost, measured."""
from . import env  # noqa: F401  (aptami.env is the public entry point)
from .env.gym_adapter import register_all as _register_gym

__version__ = "0.1.0"

_register_gym()
