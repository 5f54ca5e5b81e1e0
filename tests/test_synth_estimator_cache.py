"""The 64-32-10 estimate with synthesis: the same with a fresh, a warm and a stale cache; never a silent zero.

These synthesize the SGD periphery at 64 lines (schedule controller, two pulse generators, two ADC
readouts; about a minute per fresh estimate on two busy cores), each in its own cache folder.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pulsetrain.synth.estimator import EstimateConfig, estimate
from pulsetrain.synth.tools import cache_root, have_sta

pytestmark = [pytest.mark.synth, pytest.mark.slow]


def _fresh_cache(monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    if not have_sta():
        pytest.skip("OpenSTA (sta) is not installed: no power for the digital periphery")
    # inside the real cache root, which cache_root keeps out of /tmp (YoWASP cannot see it)
    folder = cache_root() / "tests" / name
    shutil.rmtree(folder, ignore_errors=True)
    monkeypatch.setenv("PULSETRAIN_CACHE_DIR", str(folder))
    return folder


def _figures(data: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "area_um2",
        "energy_per_sample_pJ",
        "energy_range_pJ",
        "total_energy_per_sample_pJ",
        "unavailable",
    )
    return {key: data[key] for key in keep}


def test_the_estimate_is_identical_with_a_fresh_and_a_warm_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_cache(monkeypatch, "estimate-fresh-warm")
    fresh = estimate(EstimateConfig()).as_dict()
    warm = estimate(EstimateConfig()).as_dict()
    # every distinct design was synthesized once (two equal readouts, forward of layer 0 and backward of
    # layer 1, share one report within the run)
    rows = fresh["digital_blocks"].values()
    assert {row["key"] for row in rows} == {row["key"] for row in rows if "synthesized" in row["status"]}
    assert all("cached" in row["status"] for row in warm["digital_blocks"].values())
    assert _figures(fresh) == _figures(warm)
    assert fresh["energy_per_sample_pJ"]["digital"] > 0 and not fresh["unavailable"]


def test_a_cached_report_without_power_is_synthesized_again(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _fresh_cache(monkeypatch, "estimate-stale")
    fresh = estimate(EstimateConfig()).as_dict()
    # what a cache made before OpenSTA was installed holds: area, no timing, no power
    for report in folder.glob("synth/*/report.json"):
        data = json.loads(report.read_text())
        data.update(power=None, critical_path_ns=None)
        report.write_text(json.dumps(data))
    again = estimate(EstimateConfig()).as_dict()
    assert any("re-synthesized" in row["status"] for row in again["digital_blocks"].values())
    assert _figures(again) == _figures(fresh)


def test_without_opensta_the_digital_part_is_unavailable_not_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulsetrain.synth.flow_steps as flow_steps
    import pulsetrain.synth.flows as flows

    _fresh_cache(monkeypatch, "estimate-no-sta")
    original = flows._target_tools

    def without_sta(target: Any) -> Any:
        return dataclasses.replace(original(target), sta="")

    monkeypatch.setattr(flows, "_target_tools", without_sta)
    monkeypatch.setattr(flow_steps, "have_sta", lambda: False)
    result = estimate(EstimateConfig())
    data = result.as_dict()
    assert "digital" in result.unavailable
    assert data["energy_per_sample_pJ"]["digital"] is None and data["total_energy_per_sample_pJ"] is None
    assert data["energy_per_sample_pJ"]["adcs"] > 0, "the parts that could be costed stay"
    assert any("unavailable" in note for note in data["notes"])
