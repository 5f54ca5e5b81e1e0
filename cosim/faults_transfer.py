"""A transfer controller whose choppers never flip (for the training run's can-fail test)."""

from __future__ import annotations

from typing import Any

from amaranth.hdl import Module
from pulsetrain.cosim.faults import StuckInput
from pulsetrain.rtl import transfer_controller
from pulsetrain.rtl.chopper import ChopperSign
from pulsetrain.rtl.transfer_controller import TransferController


def _chopper_without_flip_strobe(config: Any) -> StuckInput:
    """The real :class:`~pulsetrain.rtl.chopper.ChopperSign` with its ``flip`` input tied to 0."""
    return StuckInput(ChopperSign(config), port="flip", level=0)


class NeverFlippingChopperTransferController(TransferController):
    """:class:`TransferController` whose chopper blocks never receive their flip strobe.

    Models a broken wire between the controller's FSM and its chopper blocks: the signs stay +1, so the
    gradient written into A is never chopped and H is never demodulated, while the twin flips them. The
    controller's own code is unchanged; only the chopper instances it elaborates are wrapped.
    """

    def elaborate(self, platform: object) -> Module:
        original = transfer_controller.ChopperSign
        transfer_controller.ChopperSign = _chopper_without_flip_strobe  # type: ignore[assignment,misc]
        try:
            return super().elaborate(platform)
        finally:
            transfer_controller.ChopperSign = original  # type: ignore[misc]
