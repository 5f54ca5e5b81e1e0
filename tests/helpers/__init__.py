"""Helpers shared by the test files, in one place (pytest puts ``tests/`` on ``sys.path``).

``helpers.simulation``
    Amaranth-simulator helpers: :func:`~helpers.simulation.add_watchdog`.
``helpers.cosim_matrix``
    Which simulator runs which cocotb bench configuration, and
    :func:`~helpers.cosim_matrix.skip_unless_available`.
``helpers.transfer``
    :func:`~helpers.transfer.run_reads`: step a transfer periphery until every read is transferred.
``helpers.strategies``
    Hypothesis settings and config strategies of the randomized RTL-against-twin tests.

Test files are named ``test_<layer>_<block>[_<aspect>].py``, the layer being the package under test:

``core``       the shared bottom layer: configs, catalogue, executor, packaging (``pulsetrain/``)
``periphery``  a periphery block's shared config and its bit-exact twin (``pulsetrain/periphery``,
               ``model/twins``)
``model``      the behavioral model: tiles, devices, networks, algorithms, training, studies
``rtl``        the Amaranth RTL in Amaranth's simulator against its twin, and its emission
``cosim``      the emitted Verilog under cocotb (Verilator, Icarus), datasheets drawn from it
``formal``     SymbiYosys proofs of the periphery
``synth``      synthesis flows and the estimator
``spice``      the model's reads against ngspice
``fpga``       the board top, UART, frame engine and host link
``report``     ``pulsetrain report``

cocotb test modules that a test runs by name (``bench_*.py``) stay beside the test files.
"""
