"""Running the periphery on an FPGA: the host link (framed protocol, driver, transports) and the board flow.

The host side is importable without Amaranth or pyserial: :mod:`pulsetrain.fpga.protocol` (frames),
:mod:`pulsetrain.fpga.link` (the driver that retries without applying a command twice),
:mod:`pulsetrain.fpga.transport` (serial port and an in-memory faulty line) and
:mod:`pulsetrain.fpga.device_model` (the Python reference of the device side).
"""
