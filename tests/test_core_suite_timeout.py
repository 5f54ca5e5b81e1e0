"""The suite's per-test time limit (pytest-timeout): a hung test fails with its name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_every_test_has_a_default_time_limit(pytestconfig: pytest.Config) -> None:
    assert float(pytestconfig.getini("timeout")) == 900.0


@pytest.mark.timeout(120)
def test_a_hung_test_fails_with_its_name_instead_of_stalling(tmp_path: Path) -> None:
    hanging = "import time\n\n\ndef test_hangs_forever():\n    time.sleep(600)\n"
    (tmp_path / "test_hang.py").write_text(hanging)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "timeout=2", "-q", "test_hang.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert completed.returncode == 1, completed.stdout
    assert "Timeout" in completed.stdout
    assert "test_hangs_forever" in completed.stdout
