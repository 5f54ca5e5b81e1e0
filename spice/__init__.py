"""The behavioral model checked against circuit simulation: crossbar reads in ngspice.

:mod:`.circuit` (technology points, sense amplifier, ADC scaling), :mod:`.netlist` (a tile's forward
read as a netlist), :mod:`.ngspice` (batch runs, raw files), :mod:`.compare` (model versus SPICE per
read), :mod:`.sweep` (error against rows, wire resistance and on/off ratio; the IR-drop calibration),
:mod:`.training` (what the IR drop changes in training) and :mod:`.commands` (``pulsetrain spice``).
"""
