import os
import tempfile

import pytest

from gatehouse import deploy


@pytest.fixture(scope="session")
def logdir():
    path = os.environ.get("GATEHOUSE_E2E_LOGS") or tempfile.mkdtemp(prefix="gatehouse-e2e-")
    os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def gatehouse(logdir):
    """One AuthServer + one ResourceServer, started from the built binaries."""
    d = deploy(logdir)
    yield d
    codes = d.stop()
    assert codes == {"auth": 0, "resource": 0}, f"services did not shut down cleanly on SIGTERM: {codes}"


@pytest.fixture
def person(gatehouse):
    return gatehouse.create_user()
