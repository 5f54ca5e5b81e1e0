"""The host's register map: update codes packed exactly as the gateware's code layout unpacks them."""

from __future__ import annotations

import pytest
from pulsetrain.fpga.host import pack_update_code
from pulsetrain.rtl.pulse_generator import code_layout

from pulsetrain.periphery.pulse import PulseGeneratorConfig


@pytest.mark.parametrize("x_lines, d_lines", [(1, 1), (3, 10), (8, 8), (64, 4)], ids=str)
def test_update_codes_pack_as_the_pulse_generator_layout(x_lines: int, d_lines: int) -> None:
    config = PulseGeneratorConfig(x_lines=x_lines, d_lines=d_lines)
    layout = code_layout(config)
    for line in {0, config.lines - 1}:
        for code in {0, 1, (1 << config.code_width) - 1}:
            for negative in (False, True):
                word = pack_update_code(config, line, code, negative)
                fields = {"line": line, "code": code, "negative": int(negative)}
                assert word == layout.const(fields).as_value().value


def test_an_update_code_outside_the_layout_is_refused() -> None:
    config = PulseGeneratorConfig(x_lines=2, d_lines=2)
    with pytest.raises(ValueError, match="line must be 0..3"):
        pack_update_code(config, 4, 0, False)
    with pytest.raises(ValueError, match="code must be"):
        pack_update_code(config, 0, 1 << config.code_width, False)
