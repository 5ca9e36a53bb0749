"""Test set-up: JAX's persistent compilation cache (both thresholds 0) and fast hypothesis runs."""
import os
from pathlib import Path

os.environ.setdefault("APTAMI_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".jax_cache"))

from hypothesis import HealthCheck, settings  # noqa: E402

from aptami.util import enable_compilation_cache  # noqa: E402

enable_compilation_cache()

settings.register_profile(
    "aptami", deadline=None, max_examples=int(os.environ.get("APTAMI_HYPOTHESIS_EXAMPLES", "25")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], derandomize=True)
settings.load_profile("aptami")
