import os
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))


def pytest_configure(config):
    config.addinivalue_line("markers", "short: a short scenario that also runs in `make test`")


@pytest.fixture(scope="session")
def logdir():
    path = os.environ.get("GATEHOUSE_CHAOS_LOGS") or tempfile.mkdtemp(prefix="gatehouse-chaos-")
    os.makedirs(path, exist_ok=True)
    return path
