"""Bit-exact digital twins of the periphery RTL.

Each twin reads the same frozen config from :mod:`pulsetrain.periphery` as the Amaranth component it
mirrors and makes the same decisions (LFSR states, pulse slots, chopper signs, ADC codes, cycle counts)
for the same seed. Twins are vectorised with NumPy over lines so that they can serve the training loop.
"""
