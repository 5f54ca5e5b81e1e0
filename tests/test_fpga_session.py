"""The session handshake: a board that answers, is a pulsetrain board and holds the host's tile configs;
a clear error for each way that can fail."""

from __future__ import annotations

import pytest
from pulsetrain.fpga.board import BoardCore
from pulsetrain.fpga.device_model import DeviceModel
from pulsetrain.fpga.gateware_device import GatewareDevice, HostUarts
from pulsetrain.fpga.host import BoardMismatch, config_digest, open_session
from pulsetrain.fpga.link import Link, LinkError
from pulsetrain.fpga.transport import LineFaults, SimulatedTransport
from pulsetrain.rtl.tile_periphery import TilePeripheryConfig

#: the board core in the Amaranth simulator: the smallest tile keeps each test to seconds
CONFIGS = (TilePeripheryConfig(in_size=1, out_size=1),)


@pytest.fixture
def board() -> GatewareDevice:
    device = GatewareDevice(HostUarts(BoardCore(configs=CONFIGS, divisor=4), divisor=4), quiet_cycles=150)
    yield device  # type: ignore[misc]
    device.close()


def test_the_handshake_accepts_the_board_built_with_the_host_s_configs(board: GatewareDevice) -> None:
    identity = open_session(Link(SimulatedTransport(board), retries=2, first_sequence=9), CONFIGS)
    assert identity.tiles == 1 and identity.digest == config_digest(CONFIGS)
    assert identity.replays == 0


def test_the_handshake_refuses_a_board_built_with_other_tile_configs(board: GatewareDevice) -> None:
    other = (TilePeripheryConfig(in_size=1, out_size=2),)
    with pytest.raises(BoardMismatch, match=r"board holds 1 tile periphery\(ies\) with config digest 0x"):
        open_session(Link(SimulatedTransport(board), retries=2, first_sequence=9), other)


def test_a_restarted_host_that_reuses_the_board_s_last_sequence_number_gets_a_fresh_one(
    board: GatewareDevice,
) -> None:
    # the first host's last request had sequence 40; the board would replay its reply to a repeat of it
    transport = SimulatedTransport(board)
    first = Link(transport, retries=2, first_sequence=40)
    assert first.write(13, 1234) == 1234
    restarted = Link(transport, retries=2, first_sequence=40)
    identity = open_session(restarted, CONFIGS)
    assert identity.replays == 1
    assert restarted.add(13, 1) == 1235  # applied once, after the handshake


def test_a_device_that_is_not_a_pulsetrain_board_is_named_as_such() -> None:
    device = DeviceModel()  # answers the protocol, but its status words hold no identity
    with pytest.raises(
        BoardMismatch, match="not a pulsetrain board of this version: identity word 0x00000000"
    ):
        open_session(Link(SimulatedTransport(device), first_sequence=1), CONFIGS)


def test_a_board_that_does_not_answer_gives_a_clear_error_within_the_link_s_timeout() -> None:
    transport = SimulatedTransport(DeviceModel(), to_device=LineFaults(drop=1.0))
    with pytest.raises(LinkError, match=r"no board answered the handshake: .* within 0.2 s \(4 tries"):
        open_session(Link(transport, timeout_s=0.05, retries=3, first_sequence=1), CONFIGS)
    assert transport.now_s == pytest.approx(0.2)  # one try's timeout each, not more
