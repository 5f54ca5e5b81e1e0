"""The report page in a real browser: headless Debian Chromium, no console errors, every plot drawn.

Chromium comes from Debian's ``chromium`` package: the project's ``.ci/install-system-tools`` installs it
when it runs as root; this test tries the same once, and is skipped with the reason where that is not
possible (not root, no package source).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import image as mpimg
from rich.console import Console

from pulsetrain.report.config import resolve_report_config
from pulsetrain.report.run import run_report

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
#: a report with a plot in it (training) and parts shown as not available
BROWSER_REPORT = (
    "training.algorithms=fp",
    "training.epochs=2",
    "training.hidden=8",
    "cosim.enabled=false",
    "cost.enabled=false",
    "studies.enabled=false",
)


def chromium_or_skip() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    installer = ROOT / ".ci" / "install-system-tools"
    if os.geteuid() == 0 and installer.is_file():
        subprocess.run([str(installer)], check=False, capture_output=True, timeout=600)
        found = shutil.which("chromium")
        if found:
            return found
        pytest.skip("Debian's chromium is absent and .ci/install-system-tools could not install it")
    pytest.skip("Debian's chromium is absent and installing it needs root (apt-get install chromium)")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser-report")
    config = resolve_report_config(quick=True, sets=BROWSER_REPORT)
    run_report(config, out_dir=out, workers=1, cache_dir=None, console=Console(file=io.StringIO()))
    return out / "index.html"


def screenshot(chromium: str, page: Path, tmp_path: Path) -> tuple[Path, str]:
    shot = tmp_path / "screenshot.png"
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1400,3000",
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert shot.is_file(), f"chromium wrote no screenshot (exit {done.returncode}):\n{done.stderr[-2000:]}"
    return shot, done.stderr


def test_page_renders_without_console_errors_and_plots_are_drawn(page: Path, tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    shot, log = screenshot(chromium, page, tmp_path)
    console = [line for line in log.splitlines() if "CONSOLE" in line]
    assert not console, "console messages:\n" + "\n".join(console)
    pixels: Any = mpimg.imread(shot)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    assert float(np.ptp(pixels[..., :3])) > 0.5, "the screenshot is blank"


def test_every_plot_is_drawn_in_the_browser(page: Path, tmp_path: Path) -> None:
    """Each <img> is replaced by a page holding only that image; its screenshot must not be uniform.

    This catches images the browser cannot decode (broken data URIs show a tiny icon or nothing).
    """
    chromium = chromium_or_skip()
    html = page.read_text()
    sources = re.findall(r'<img class="plot" alt="([^"]*)" src="(data:image/png;base64,[^"]+)"', html)
    assert sources, "the page holds no plot"
    for index, (alt, source) in enumerate(sources):
        single = tmp_path / f"plot{index}.html"
        single.write_text(
            "<!DOCTYPE html><html><body style='margin:0;background:#fff'>"
            f"<img id='p' src='{source}' style='display:block'></body></html>"
        )
        shot, log = screenshot(chromium, single, tmp_path / f"run{index}")
        pixels: Any = mpimg.imread(shot)
        # the drawn area: rows and columns that are not pure page background
        drawn = np.any(pixels[..., :3] < 0.99, axis=2)
        rows, columns = np.nonzero(drawn)
        assert rows.size, f"plot {alt!r} rendered as an empty area"
        assert rows.max() - rows.min() > 100 and columns.max() - columns.min() > 100, (
            f"plot {alt!r} rendered smaller than 100x100 pixels"
        )
        region = pixels[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1, :3]
        assert float(region.std()) > 0.02, f"plot {alt!r} rendered as a uniform area"
        assert "CONSOLE" not in log


def test_console_check_sees_a_script_error(tmp_path: Path) -> None:
    """The console check can fail: a page that logs an error shows up in Chromium's log."""
    chromium = chromium_or_skip()
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>console.error('broken plot')</script></body></html>")
    _, log = screenshot(chromium, bad, tmp_path / "bad")
    assert any("CONSOLE" in line and "broken plot" in line for line in log.splitlines())
