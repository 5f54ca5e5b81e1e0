"""ADC readout config validation and derived quantities."""

from __future__ import annotations

import pytest

from pulsetrain.config import ConfigError
from pulsetrain.periphery.adc import AdcMode, AdcReadoutConfig


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": 0}, "adc.columns"),
        ({"columns": 8, "columns_per_adc": 9}, "adc.columns_per_adc"),
        ({"columns_per_adc": 0}, "adc.columns_per_adc"),
        ({"adc_bits": 0}, "adc.adc_bits"),
        ({"adc_bits": 17}, "adc.adc_bits"),
        ({"settle_cycles": 0}, "adc.settle_cycles"),
        ({"compare_cycles": 0}, "adc.compare_cycles"),
        ({"mode": AdcMode.RAMP, "adc_bits": 14}, "adc.adc_bits"),
    ],
    ids=[
        "zero-columns",
        "k-above-columns",
        "zero-k",
        "zero-bits",
        "too-many-bits",
        "zero-settle",
        "zero-compare",
        "ramp-too-long",
    ],
)
def test_bad_config_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AdcReadoutConfig(**kwargs)  # type: ignore[arg-type]


def test_adc_count_and_active_adcs() -> None:
    config = AdcReadoutConfig(columns=10, columns_per_adc=4)
    assert config.adcs == 3
    assert [config.active_adcs(phase) for phase in range(4)] == [3, 3, 2, 2]
    assert config.column(2, 1) == 9
