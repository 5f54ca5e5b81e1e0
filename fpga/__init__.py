"""Running the periphery on an FPGA: the host link (framed protocol, driver, transports) and the board flow.

The host side is importable without Amaranth or pyserial: :mod:`pulsetrain.fpga.protocol` (frames),
:mod:`pulsetrain.fpga.link` (the driver that retries without applying a command twice),
:mod:`pulsetrain.fpga.transport` (serial port and an in-memory faulty line),
:mod:`pulsetrain.fpga.device_model` (the Python reference of the device side) and
:mod:`pulsetrain.fpga.host` (the board's register map, the session handshake, and the training loop's
pulse source and forward-read ADC served by the board). :mod:`pulsetrain.fpga.board` builds the
bitstream; :mod:`pulsetrain.fpga.board_cosim` runs the board end to end on Verilator
(:mod:`pulsetrain.cosim.bench_fpga`).
"""
