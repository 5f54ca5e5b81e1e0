"""Formal proofs of the periphery (SymbiYosys from PyPI): each property holds, and none holds vacuously.

Each proof runs at the small configuration and depth of :data:`pulsetrain.rtl.proofs.PROOFS` (a few
seconds each); the deeper bounds run with ``--long``.
"""

from __future__ import annotations

import pytest
from pulsetrain.rtl.proofs import PROOFS, Proof
from pulsetrain.rtl.properties import Property
from pulsetrain.synth.formal import ProofMode, formal_tools_missing, run_proof

pytestmark = pytest.mark.skipif(formal_tools_missing() is not None, reason=str(formal_tools_missing()))

_BOUNDED = [proof for proof in PROOFS if proof.slow_depth]


def _ids(proof: Proof) -> str:
    return proof.name


@pytest.mark.timeout(300)
@pytest.mark.parametrize("proof", PROOFS, ids=_ids)
def test_the_property_holds(proof: Proof) -> None:
    result = run_proof(
        proof.build(), name=f"test-{proof.name}", mode=ProofMode(proof.mode), depth=proof.depth
    )
    assert result.passed, result.summary()
    assert result.failures == ()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("proof", PROOFS, ids=_ids)
def test_every_cover_statement_is_reached(proof: Proof) -> None:
    """The situations the assertions talk about happen: no property holds because its trigger cannot."""
    result = run_proof(
        proof.build(), name=f"test-{proof.name}-cover", mode=ProofMode.COVER, depth=proof.cover_depth
    )
    assert result.passed, result.summary()
    assert result.trace is not None and result.trace.stat().st_size > 0


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("proof", _BOUNDED, ids=_ids)
def test_the_property_holds_to_the_long_bound(proof: Proof) -> None:
    result = run_proof(
        proof.build(), name=f"test-{proof.name}-long", mode=ProofMode.BMC, depth=proof.slow_depth
    )
    assert result.passed, result.summary()


def test_every_property_has_a_proof() -> None:
    assert {proof.property for proof in PROOFS} == set(Property)


def test_proof_names_are_unique() -> None:
    names = [proof.name for proof in PROOFS]
    assert len(names) == len(set(names))
