"""Shared digital configs of the tile periphery, read by both the RTL and the model's digital twins.

One module per block family: :mod:`.lfsr` (pseudo-random sources), :mod:`.pulse` (update pulse
generators), :mod:`.chopper` (chopper sign logic), :mod:`.adc` (ADC readout control), :mod:`.transfer`
(TTv2-family transfer controllers), :mod:`.schedule` (BP / DFA schedules) and :mod:`.sbe` (streaming batch
eigenupdates). Everything a twin and the RTL must agree on (widths, fixed-point formats, LFSR taps and
seeds, sequencing constants) is derived here, once, from a frozen config.
"""
