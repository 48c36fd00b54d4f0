import os
import sys

from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))  # tests import the shared harness as `helpers`
# The GPU kernels (kernels/gpu.py, numba.cuda) run under Numba's CUDA simulator unless told otherwise: on a
# machine with a real GPU, NUMBA_ENABLE_CUDASIM=0 runs them on it. It must be set before numba.cuda loads.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

settings.register_profile("default", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", deadline=None, max_examples=15, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running; still part of the default run unless deselected")
    config.addinivalue_line("markers", "notebook: executes a teaching notebook (quick mode); part of the default run")


# Every test gets a limit (pytest-timeout, in the [dev] extra), so a hang fails that test with every thread's
# stack instead of stalling the run: generous, since the 2-core CI machine may be loaded. A test's own
# @pytest.mark.timeout or a --timeout on the command line wins.
DEFAULT_TEST_TIMEOUT = 900


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("timeout") or config.getoption("timeout", None):
        return
    import pytest
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TEST_TIMEOUT))
