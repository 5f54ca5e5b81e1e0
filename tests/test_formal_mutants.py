"""Every formal property catches its broken variant (:data:`pulsetrain.rtl.proofs.MUTANTS`) with a
counterexample from reset, and the runner reports failures, traces and bad arguments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from amaranth.asserts import AnyConst
from amaranth.hdl import Assert, Assume, Fragment, Module, Signal
from amaranth.lib import wiring
from pulsetrain.rtl.mutants import MutationSiteError, source_mutant
from pulsetrain.rtl.proofs import MUTANTS, Mutant, get_proof
from pulsetrain.rtl.properties import Property
from pulsetrain.synth.formal import FormalError, ProofMode, formal_tools_missing, run_proof
from pulsetrain.synth.tools import cache_root

from pulsetrain.config import ConfigError

needs_tools = pytest.mark.skipif(formal_tools_missing() is not None, reason=str(formal_tools_missing()))


@needs_tools
@pytest.mark.timeout(300)
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda mutant: mutant.name)
def test_the_broken_variant_fails_its_proof_with_a_counterexample(mutant: Mutant) -> None:
    proof = get_proof(mutant.proof)
    mode, depth = proof.mutant_check
    result = run_proof(
        proof.build(mutant.build(proof.config)),
        name=f"test-mutant-{mutant.name}",
        mode=ProofMode(mode),
        depth=depth,
    )
    assert result.status == "FAIL", f"{mutant.bug}: {result.summary()}"
    assert result.trace is not None and result.trace.stat().st_size > 0
    assert result.failures and all(failure.startswith("properties.py:") for failure in result.failures)


def test_every_property_has_a_broken_variant() -> None:
    assert {get_proof(mutant.proof).property for mutant in MUTANTS} == set(Property)


def test_broken_variant_names_are_unique() -> None:
    names = [mutant.name for mutant in MUTANTS]
    assert len(names) == len(set(names))


def test_a_source_mutant_whose_site_is_gone_says_which_to_update() -> None:
    with pytest.raises(MutationSiteError, match="PulseGenerator"):
        source_mutant("pulsetrain.rtl.pulse_generator", "PulseGenerator", "no such text", "x")


class _CounterBelowLimit(wiring.Component):
    """A counter of ``limit``'s width that wraps, with the claim that it stays below ``limit``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        super().__init__({})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        count = Signal(self._limit.bit_length())
        m.d.sync += count.eq(count + 1)
        m.d.comb += Assert(count < self._limit, "count reached the limit")
        return m


class _SemiprimeWithoutFactors(wiring.Component):
    """The claim that no two 32-bit numbers above 1 multiply to a 64-bit semiprime.

    False (its two prime factors are a counterexample), but finding them is factoring a 64-bit number by
    SAT, which no solver finishes within seconds whatever the machine's speed: a proof that reliably
    runs past a short time limit.
    """

    #: two 32-bit primes without structure a solver could use (primes next to 2**32 are factored at once).
    FACTORS = (3_735_928_579, 2_654_435_761)

    def __init__(self) -> None:
        super().__init__({})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        a, b = AnyConst(32), AnyConst(32)
        m.d.comb += [Assume(a > 1), Assume(b > 1)]
        m.d.comb += Assert(a * b != self.FACTORS[0] * self.FACTORS[1], "a factorisation was found")
        return m


def _CounterBelowThree() -> _CounterBelowLimit:  # noqa: N802 (reads as the component it builds)
    """A 2-bit counter that wraps, with the false claim that it stays below 3."""
    return _CounterBelowLimit(3)


@needs_tools
@pytest.mark.timeout(120)
def test_a_false_claim_fails_at_the_first_step_it_can() -> None:
    result = run_proof(_CounterBelowThree(), name="test-runner-false-claim", mode=ProofMode.BMC, depth=6)
    assert result.status == "FAIL"
    assert len(result.failures) == 1
    assert result.failures[0].endswith("step 3: count reached the limit")


@needs_tools
@pytest.mark.timeout(120)
def test_a_claim_beyond_the_bound_passes_bounded_but_not_by_induction() -> None:
    bounded = run_proof(_CounterBelowThree(), name="test-runner-short-bound", mode=ProofMode.BMC, depth=3)
    assert bounded.status == "PASS"
    induction = run_proof(_CounterBelowThree(), name="test-runner-induction", mode=ProofMode.PROVE, depth=2)
    assert induction.status == "UNKNOWN"


def _processes_in(folder: Path) -> list[int]:
    """PIDs whose working folder lies in ``folder`` (SymbiYosys runs every tool inside its run folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")).is_relative_to(folder):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@needs_tools
@pytest.mark.timeout(120)
def test_a_proof_past_its_time_limit_raises_naming_it_and_leaves_no_tool_running() -> None:
    name = "test-runner-time-limit"
    with pytest.raises(FormalError, match=f"{name} did not finish within 3 s"):
        run_proof(_SemiprimeWithoutFactors(), name=name, mode=ProofMode.BMC, depth=1, timeout_s=3)
    folder = cache_root() / "formal" / name
    assert (folder / "run" / "engine_0").is_dir()  # the solver had started
    assert _processes_in(folder) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "bad name", "depth": 5}, "proof name"),
        ({"name": "ok", "depth": 0}, "proof depth"),
        ({"name": "ok", "depth": True}, "proof depth"),
        ({"name": "ok", "depth": 5, "folder": Path("/tmp/formal")}, "/tmp"),
    ],
    ids=["name", "zero-depth", "bool-depth", "tmp-folder"],
)
def test_bad_runner_arguments_are_refused_before_any_work(arguments: dict, message: str) -> None:
    harness = _CounterBelowThree()
    with pytest.raises(ConfigError, match=message):
        run_proof(harness, mode=ProofMode.BMC, **arguments)
    Fragment.get(harness, None)  # elaborated here, so Amaranth does not warn it was never used
