"""The override machinery every command uses: --set by dotted path, TOML tables, clear errors."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pulsetrain.config import ConfigError, apply_overrides, check_int, check_range, resolve, to_plain
from pulsetrain.results import write_json


class Shape(enum.Enum):
    SQUARE = "square"
    ROUND = "round"


@dataclass(frozen=True, kw_only=True)
class Inner:
    bits: int = 4
    gain: float = 1.0
    shape: Shape = Shape.SQUARE

    def __post_init__(self) -> None:
        check_int("inner.bits", self.bits, 1, 16)


@dataclass(frozen=True, kw_only=True)
class Outer:
    name: str = "x"
    flag: bool = False
    sizes: tuple[int, ...] = (1, 2)
    limit: float | None = None
    inner: Inner = field(default_factory=Inner)


def test_set_by_dotted_path_converts_types() -> None:
    config = apply_overrides(
        Outer(), {"inner.bits": "6", "inner.gain": "0.5", "flag": "true", "inner.shape": "round"}
    )
    assert config.inner == Inner(bits=6, gain=0.5, shape=Shape.ROUND)
    assert config.flag is True


def test_tuple_and_optional_fields() -> None:
    config = apply_overrides(Outer(), {"sizes": "32,16", "limit": "2.5"})
    assert config.sizes == (32, 16)
    assert config.limit == 2.5
    assert apply_overrides(config, {"limit": "none"}).limit is None


def test_unknown_key_names_the_key_and_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'inner\.bitz'.*bits, gain, shape"):
        apply_overrides(Outer(), {"inner.bitz": "3"})


def test_validation_runs_again_after_override() -> None:
    with pytest.raises(ConfigError, match=r"inner\.bits must be an integer in 1\.\.16, not 0"):
        apply_overrides(Outer(), {"inner.bits": "0"})


def test_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"inner\.gain must be float, not 'fast'"):
        apply_overrides(Outer(), {"inner.gain": "fast"})
    with pytest.raises(ConfigError, match="inner.shape must be one of square, round"):
        apply_overrides(Outer(), {"inner.shape": "oval"})


def test_toml_then_set_in_that_order(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('name = "from-toml"\n[inner]\nbits = 8\ngain = 2.0\n')
    config = resolve(Outer(), config_file=file, sets=["inner.gain=3"])
    assert (config.name, config.inner.bits, config.inner.gain) == ("from-toml", 8, 3.0)


def test_missing_toml_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(Outer(), config_file=tmp_path / "nope.toml")


def test_range_messages() -> None:
    with pytest.raises(ConfigError, match=r"dw_min must be in \(0, inf\), not -0\.1"):
        check_range("dw_min", -0.1, 0.0, low_open=True)


def test_results_are_plain_json_written_atomically(tmp_path: Path) -> None:
    path = write_json(tmp_path / "sub" / "r.json", {"config": Outer()})
    assert json.loads(path.read_text())["config"]["inner"]["shape"] == "square"
    assert to_plain(Outer())["sizes"] == [1, 2]
    assert not list((tmp_path / "sub").glob(".*tmp"))


def test_results_have_no_nan_and_are_readable_by_others(tmp_path: Path) -> None:
    # a mean over zero runs is NaN: strict JSON readers (browsers, jq) refuse NaN, so it becomes null
    path = write_json(tmp_path / "r.json", {"mean": float("nan"), "ratios": [1.5, float("inf")]})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"mean": None, "ratios": [1.5, None]}
    assert path.stat().st_mode & 0o044 == 0o044  # not the private 0600 of a temporary file


@dataclass(frozen=True, kw_only=True)
class Pair:
    columns: int = 8
    columns_per_adc: int = 8

    def __post_init__(self) -> None:
        if self.columns % self.columns_per_adc:
            raise ConfigError(
                f"columns_per_adc must divide columns ({self.columns}), not {self.columns_per_adc}"
            )


def test_interdependent_fields_can_change_together_in_any_order() -> None:
    assert apply_overrides(Pair(), {"columns": "4", "columns_per_adc": "4"}) == Pair(
        columns=4, columns_per_adc=4
    )
    assert apply_overrides(Pair(), {"columns_per_adc": "3", "columns": "9"}) == Pair(
        columns=9, columns_per_adc=3
    )
    with pytest.raises(ConfigError, match="columns_per_adc must divide columns"):
        apply_overrides(Pair(), {"columns": "9"})
