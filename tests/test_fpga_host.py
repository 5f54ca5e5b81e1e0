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


def test_each_tile_periphery_has_its_own_registers_and_status_words() -> None:
    from pulsetrain.fpga.host import (
        MAX_TILES,
        REGISTER_CONTROL,
        REGISTER_READ_COLUMN,
        REGISTERS_PER_TILE,
        STATUS_BUSY,
        STATUS_READ_CODE,
        STATUS_WORDS_PER_TILE,
        register_address,
        status_address,
    )
    from pulsetrain.fpga.protocol import STATUS_BASE

    registers = {register_address(t, r) for t in range(MAX_TILES) for r in range(REGISTERS_PER_TILE)}
    words = {status_address(t, w) for t in range(MAX_TILES) for w in range(STATUS_WORDS_PER_TILE)}
    assert len(registers) == MAX_TILES * REGISTERS_PER_TILE and max(registers) < STATUS_BASE
    assert len(words) == MAX_TILES * STATUS_WORDS_PER_TILE and max(words) <= 0xFF
    assert register_address(1, REGISTER_CONTROL) == REGISTER_READ_COLUMN + 1
    assert status_address(1, STATUS_BUSY) == status_address(0, STATUS_READ_CODE) + 1
    with pytest.raises(ValueError, match=f"tile must be 0..{MAX_TILES - 1}, not {MAX_TILES}"):
        register_address(MAX_TILES, 0)
    with pytest.raises(ValueError, match="word must be 0..5, not 6"):
        status_address(0, 6)


def test_board_reads_refuse_what_the_board_cannot_convert() -> None:
    import numpy as np
    from pulsetrain.fpga.device_model import DeviceModel
    from pulsetrain.fpga.host import BoardReadAdc
    from pulsetrain.fpga.link import Link, LinkError
    from pulsetrain.fpga.transport import SimulatedTransport

    reads = BoardReadAdc(Link(SimulatedTransport(DeviceModel()), first_sequence=1), columns=3, adc_bits=8)
    with pytest.raises(LinkError, match="tile periphery 0 has no row ADCs for a backward read"):
        reads.convert(True, np.zeros((1, 2)), 0.1)
    with pytest.raises(ValueError, match="a forward read of tile periphery 0 has 3 lines, not 4"):
        reads.convert(False, np.zeros((1, 4)), 0.1)
