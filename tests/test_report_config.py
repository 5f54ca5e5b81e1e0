"""ReportConfig: presets, TOML and --set overrides, and refusal of bad values before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pulsetrain.cli import main
from pulsetrain.config import ConfigError
from pulsetrain.report.config import ALL_ALGORITHMS, ALL_STUDIES, ReportConfig, resolve_report_config


def test_default_config_trains_every_algorithm() -> None:
    config = ReportConfig()
    assert config.training.algorithms == ALL_ALGORITHMS
    assert config.studies.studies == ALL_STUDIES
    assert config.training.hidden == (32,)


def test_quick_preset_is_smaller() -> None:
    quick, full = ReportConfig.preset(quick=True), ReportConfig.preset(quick=False)
    assert quick.training.epochs < full.training.epochs
    assert quick.cosim.samples < full.cosim.samples
    assert quick.studies.quick and not full.studies.quick


def test_set_overrides_nested_fields() -> None:
    config = resolve_report_config(
        quick=True, sets=("training.epochs=2", "training.algorithms=fp,dfa", "cosim.samples=50")
    )
    assert config.training.epochs == 2
    assert config.training.algorithms == ("fp", "dfa")
    assert config.cosim.samples == 50


def test_toml_then_set(tmp_path: Path) -> None:
    file = tmp_path / "report.toml"
    file.write_text('[training]\nepochs = 4\nseeds = [0, 1]\n[cosim]\nalgorithm = "agad"\n')
    config = resolve_report_config(quick=False, config_file=file, sets=("training.epochs=6",))
    assert (config.training.epochs, config.training.seeds, config.cosim.algorithm) == (6, (0, 1), "agad")


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("training.epochs=0", "training.epochs"),
        ("training.algorithms=sgd,backprop", "training.algorithms"),
        ("training.algorithms=sgd,sgd", "training.algorithms"),
        ("training.hidden=", "training.hidden"),
        ("cosim.algorithm=fp", "cosim.algorithm"),
        ("cosim.simulator=vcs", "cosim.simulator"),
        ("cost.targets=ice40,tsmc7", "cost.targets"),
        ("studies.studies=everything", "studies.studies"),
        ("training.nonsense=1", "training.nonsense"),
    ],
    ids=[
        "zero-epochs",
        "unknown-algo",
        "repeated-algo",
        "no-hidden",
        "cosim-fp",
        "simulator",
        "target",
        "study",
        "unknown-key",
    ],
)
def test_bad_values_name_the_key(setting: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        resolve_report_config(quick=True, sets=(setting,))


def test_cli_refuses_bad_value_before_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["report", "--quick", "--out", str(tmp_path / "out"), "--set", "training.epochs=-1"]
    )
    assert result.exit_code == 2
    assert "training.epochs" in result.output
    assert not (tmp_path / "out").exists()


def test_cli_refuses_zero_workers(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--quick", "--out", str(tmp_path / "out"), "--workers", "0"])
    assert result.exit_code == 2
    assert "--workers" in result.output


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(main, ["report", "--help"])
    assert result.exit_code == 0
    for option in ("--quick", "--out", "--config", "--set", "--scheduler", "--workers", "training.epochs"):
        assert option in result.output


def test_unknown_technology_is_refused_before_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "report",
            "--quick",
            "--out",
            str(tmp_path / "out"),
            "--set",
            "cost.technology=tsmc3",
            "--set",
            "training.enabled=false",
        ],
    )
    assert result.exit_code == 2
    assert "cost.technology" in result.output
    assert not (tmp_path / "out").exists()
