"""pulsetrain.rtl: the digital periphery as Amaranth components, emitted as Verilog / RTLIL.

Never imports :mod:`pulsetrain.model`; both read the shared configs in :mod:`pulsetrain.periphery`.
"""
