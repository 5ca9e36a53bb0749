"""Working around XLA-CPU fusion choices that cost the house most of its speed."""
from __future__ import annotations

import jax
import jax.numpy as jnp


def materialize(tree, anchor):
    """Make XLA compute `tree` once and store it.

    XLA's CPU fusion copies cheap element-wise chains into every consumer; profiling the
    house showed each step's logic re-computed ~10 times. A division is 'expensive' to XLA,
    so dividing by a 1 it cannot prove (anchor >= 0 for a step counter) stops the copying.
    (jax.lax.optimization_barrier is expanded away before fusion on CPU.)
    """
    one = (anchor >= 0).astype(jnp.int32)

    def keep(x):
        if x.dtype == jnp.bool_:
            return jax.lax.div(x.astype(jnp.int32), one).astype(jnp.bool_)
        if jnp.issubdtype(x.dtype, jnp.integer):
            return jax.lax.div(x, one.astype(x.dtype))
        return x / one.astype(x.dtype)

    return jax.tree.map(keep, tree)
