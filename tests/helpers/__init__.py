"""Helpers shared by the test files (one place; pytest puts ``tests/`` on ``sys.path``).

``helpers.simulation``
    Amaranth-simulator helpers: :func:`~helpers.simulation.add_watchdog`.
"""
