"""aptami: LeCun's APTAMI agent, a house to live in, and Byrnes' claims about its Intrinsic Cost, measured."""
from . import env

__version__ = "0.1.0"
