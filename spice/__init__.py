"""The behavioral model checked against circuit simulation: crossbar reads in ngspice.

:mod:`.circuit` (technology points, sense amplifier, ADC scaling), :mod:`.netlist` (a tile's forward
read as a netlist), :mod:`.ngspice` (batch runs, raw files), :mod:`.compare` (model versus SPICE per
read), :mod:`.check` (the small check as a typed summary, for the report), :mod:`.sweep` (error against
rows, wire resistance and on/off ratio; the IR-drop calibration), :mod:`.training` (what the IR drop
changes in training), :mod:`.bench_adc_spice` (the ADC readout RTL converting ngspice's column) and
:mod:`.commands` (``pulsetrain spice``).
"""
