"""Test set-up: JAX's persistent compilation cache (both thresholds 0) and fast hypothesis runs."""
import os
import sys
from pathlib import Path

os.environ.setdefault("APTAMI_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".jax_cache"))
# Tests run tiny configs, so compiling the agent's programs is most of their time: LLVM at -O0 compiles
# them ~40% faster (jit(agent.train_from_key) of the tiny two-rooms agent: 50 -> 31 s on a 2-core CPU).
# Same XLA graph and fusions; only the machine code is less optimised. Set before JAX starts its backend.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from aptami.util import enable_compilation_cache  # noqa: E402

enable_compilation_cache()

settings.register_profile(
    "aptami", deadline=None, max_examples=int(os.environ.get("APTAMI_HYPOTHESIS_EXAMPLES", "25")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], derandomize=True)
settings.load_profile("aptami")


@pytest.fixture
def load_script():
    """A script of `scripts/` imported as a module, by name (the scripts are not a package)."""
    import importlib.util

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent.parent / "scripts"
                                                      / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod   # dataclasses (equinox modules) look their module up while being defined
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            del sys.modules[name]
            raise
        return mod

    return load
