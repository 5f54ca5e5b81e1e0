"""``pulsetrain formal``: run the formal proofs of the periphery (and check their broken variants).

Its options go through :func:`pulsetrain.validate.validate_command` like every command's (``--json``
checked writable before any proof runs).
"""

from __future__ import annotations

from typing import Any

import click

from pulsetrain.config import ConfigError


@click.command("formal")
@click.option(
    "--proof", "names", multiple=True, metavar="NAME", help="Run only this proof (repeatable; see --list)."
)
@click.option("--mutants", is_flag=True, help="Also check that each property catches its broken variant.")
@click.option("--long", "long_bound", is_flag=True, help="Bounded proofs at their deeper bound.")
@click.option("--no-cover", is_flag=True, help="Skip the cover runs (which show no property is vacuous).")
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="Write every verdict, depth and time."
)
@click.option("--list", "list_proofs", is_flag=True, help="List the proofs and broken variants and exit.")
def formal(
    names: tuple[str, ...],
    mutants: bool,
    long_bound: bool,
    no_cover: bool,
    json_path: str | None,
    list_proofs: bool,
) -> None:
    """Prove the periphery's properties with SymbiYosys (k-induction or bounded model checking)."""
    from pulsetrain.rtl.proofs import MUTANTS, PROOFS, get_proof

    if list_proofs:
        width = max(len(proof.name) for proof in PROOFS)
        for proof in PROOFS:
            depth = f"{proof.mode} {proof.depth}" + (
                f" (long {proof.slow_depth})" if proof.slow_depth else ""
            )
            click.echo(f"{proof.name:<{width}}  {proof.property.value:<20}  {depth}")
        for mutant in MUTANTS:
            click.echo(f"mutant {mutant.name} -> {mutant.proof}: {mutant.bug}")
        return
    selected = [get_proof(name) for name in names] if names else list(PROOFS)

    from pulsetrain.synth.formal import ProofMode, formal_tools_missing, run_proof

    missing = formal_tools_missing()
    if missing:
        raise ConfigError(f"the formal tools are missing: {missing}")
    records: list[dict[str, Any]] = []
    failed = 0
    for proof in selected:
        checks = [(proof.mode, proof.slow_depth if long_bound and proof.slow_depth else proof.depth)]
        if not no_cover:
            checks.append(("cover", proof.cover_depth))
        for mode, depth in checks:
            result = run_proof(proof.build(), name=f"{proof.name}-{mode}", mode=ProofMode(mode), depth=depth)
            failed += not result.passed
            click.echo(result.summary())
            records.append(_record(proof.name, proof.property.value, None, result))
    if mutants:
        for mutant in (mutant for mutant in MUTANTS if mutant.proof in {proof.name for proof in selected}):
            proof = get_proof(mutant.proof)
            mode, depth = proof.mutant_check
            block = mutant.build(proof.config)
            result = run_proof(
                proof.build(block), name=f"mutant-{mutant.name}", mode=ProofMode(mode), depth=depth
            )
            caught = result.status == "FAIL"
            failed += not caught
            verdict = "caught" if caught else "NOT CAUGHT"
            click.echo(f"mutant {mutant.name}: {verdict} ({result.summary()})")
            records.append(_record(proof.name, proof.property.value, mutant.name, result))
    if json_path:
        from pulsetrain.results import write_json

        write_json(json_path, {"proofs": records, "failed": failed})
    if failed:
        raise click.exceptions.Exit(1)


def _record(proof: str, prop: str, mutant: str | None, result: Any) -> dict[str, Any]:
    return {
        "proof": proof,
        "property": prop,
        "mutant": mutant,
        "mode": result.mode.value,
        "depth": result.depth,
        "status": result.status,
        "seconds": result.seconds,
        "failures": list(result.failures),
        "trace": str(result.trace) if result.trace else None,
    }
