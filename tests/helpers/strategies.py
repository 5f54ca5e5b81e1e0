"""Hypothesis settings and config strategies shared by the randomized RTL-against-twin tests.

``FEW`` runs in the default test mode, ``MANY`` behind the ``slow`` marker (``--long``); both are
derandomized so that a failure reproduces on every machine.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from pulsetrain.periphery.lfsr import LfsrConfig, LfsrForm

FEW = settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def lfsr_configs(draw: st.DrawFn, min_width: int = 3) -> LfsrConfig:
    """Any LFSR of ``min_width`` (at least 3) to 32 bits: form, seed and steps per advance drawn."""
    width = draw(st.integers(max(min_width, 3), 32))
    return LfsrConfig(
        width=width,
        form=draw(st.sampled_from(list(LfsrForm))),
        seed=draw(st.integers(1, (1 << width) - 1)),
        steps_per_advance=draw(st.integers(1, 12)),
    )
