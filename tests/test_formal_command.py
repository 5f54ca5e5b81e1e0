"""``pulsetrain formal``: lists, refuses bad input before any proof, runs proofs and broken variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.rtl.proofs import MUTANTS, PROOFS
from pulsetrain.synth.formal import formal_tools_missing

from pulsetrain.cli import main


def test_list_names_every_proof_and_broken_variant() -> None:
    result = CliRunner().invoke(main, ["formal", "--list"])
    assert result.exit_code == 0, result.output
    for proof in PROOFS:
        assert proof.name in result.output
    for mutant in MUTANTS:
        assert f"mutant {mutant.name} -> {mutant.proof}" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--proof", "no-such-proof"], "--proof must be one of"),
        (["--proof", "chopper-random-consistency", "--json", "missing-folder/out.json"], "does not exist"),
    ],
    ids=["unknown-proof", "json-parent-missing"],
)
def test_bad_input_is_refused_with_one_line_and_exit_2(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["formal", *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.skipif(formal_tools_missing() is not None, reason=str(formal_tools_missing()))
@pytest.mark.timeout(300)
def test_one_proof_with_its_cover_and_broken_variant_writes_every_verdict(tmp_path: Path) -> None:
    out = tmp_path / "formal.json"
    result = CliRunner().invoke(
        main, ["formal", "--proof", "chopper-random-consistency", "--mutants", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    assert records["failed"] == 0
    verdicts = [(record["mode"], record["mutant"], record["status"]) for record in records["proofs"]]
    assert verdicts == [("prove", None, "PASS"), ("cover", None, "PASS"), ("bmc", "stale-read-path", "FAIL")]
    assert "mutant stale-read-path: caught" in result.output
