"""Validation and override machinery shared by every config in pulsetrain.

Every block is described by a ``@dataclass(frozen=True, kw_only=True)`` that validates itself in
``__post_init__`` with the helpers below, so a bad value is refused before any work starts, with a
message that names the parameter, its value and what is allowed.

Configs nest (a training config holds a device config, an IO config, ...). A user overrides any field
by its dotted path, from the command line (``--set device.dw_min=0.002``) or from a TOML file whose
tables mirror the nesting (``[device] dw_min = 0.002``); :func:`apply_overrides` does both.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A parameter value that pulsetrain refuses; the message names parameter, value and what is allowed."""


def check_range(
    name: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Refuse ``value`` unless it is finite and ``low <= value <= high`` (bounds optional, ``*_open``
    makes them strict). Infinity is refused too: no setting of pulsetrain means anything at infinity."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, not {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ConfigError(f"{name} must be in {left}{lo}, {hi}{right}, not {value!r}")


def check_int(name: str, value: int, low: int | None = None, high: int | None = None) -> None:
    """Refuse ``value`` unless it is an integer with ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, not {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else str(low)
        hi = "inf" if high is None else str(high)
        raise ConfigError(f"{name} must be an integer in {lo}..{hi}, not {value!r}")


def check_choice(name: str, value: object, choices: Iterable[object]) -> None:
    """Refuse ``value`` unless it is one of ``choices``."""
    allowed = list(choices)
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}; not {value!r}")


# --------------------------------------------------------------------------------------------------
# Conversion to plain data (JSON) and overrides by dotted path
# --------------------------------------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """Turn configs (nested dataclasses, enums, tuples, paths, NumPy scalars) into JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # NumPy scalar
        return value.item()
    return value


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


#: ``--set`` text accepted for numbers: decimal only (no hex, no underscores, no ``nan`` / ``inf``)
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_BOOL_TEXT = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}
#: list fields whose items name distinct things: a repeated item is a mistake, not a request
UNIQUE_ITEM_FIELDS = ("seeds", "algorithms", "studies", "targets")


def _convert_tuple(path: str, text: Any, annotation: Any) -> tuple[Any, ...]:
    if isinstance(text, list | tuple):
        items = list(text)
    elif isinstance(text, str):
        items = [item.strip() for item in text.split(",")] if text.strip() else []
        if any(not item for item in items):
            raise ConfigError(f"{path} must be a comma list without empty items, not {text!r}")
    else:
        raise ConfigError(f"{path} must be a list, not {text!r}")
    args = typing.get_args(annotation)
    item_type = args[0] if args else str
    values = tuple(_convert(path, item, item_type) for item in items)
    if path.rsplit(".", 1)[-1] in UNIQUE_ITEM_FIELDS and len(set(values)) != len(values):
        raise ConfigError(f"{path} must not repeat an item, not {text!r}")
    return values


def _convert_scalar(path: str, text: Any, annotation: Any) -> Any:
    """A bool, int, float or str from a ``--set`` string or the TOML value of exactly that type."""
    name = getattr(annotation, "__name__", str(annotation))
    wrong = ConfigError(f"{path} must be {name}, not {text!r}")
    if annotation is bool:
        if isinstance(text, bool):
            return text
        if isinstance(text, str) and text.strip().lower() in _BOOL_TEXT:
            return _BOOL_TEXT[text.strip().lower()]
        raise wrong
    if annotation is int:
        if isinstance(text, int) and not isinstance(text, bool):
            return text
        if isinstance(text, str) and _INT_TEXT.fullmatch(text.strip()):
            return int(text.strip(), 10)
        raise wrong
    if annotation is float:
        if isinstance(text, int | float) and not isinstance(text, bool):
            value = float(text)
        elif isinstance(text, str) and _FLOAT_TEXT.fullmatch(text.strip()):
            value = float(text.strip())
        else:
            raise wrong
        if not math.isfinite(value):
            raise ConfigError(f"{path} must be a finite number, not {text!r}")
        return value
    if annotation is str:
        if isinstance(text, str):
            return text
        raise ConfigError(f"{path} must be text, not {text!r}")
    return text


def _convert(path: str, text: Any, annotation: Any) -> Any:
    """Convert an override (a string from ``--set`` or a TOML value) to the field's annotated type.

    Strict: a TOML value must have the field's type (``epochs = true`` or ``title = 5`` are refused, not
    coerced), ``--set`` numbers are decimal (``0x10`` is refused), lists hold no empty item.
    """
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if text is None or (isinstance(text, str) and text.lower() in ("none", "null")):
            if type(None) in typing.get_args(annotation):
                return None
        errors = []
        for option in options:
            try:
                return _convert(path, text, option)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if errors else f"{path}: cannot use {text!r}")
    if origin is tuple:
        return _convert_tuple(path, text, annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        if isinstance(text, annotation):
            return text
        choices = [m.value for m in annotation]
        if not isinstance(text, str | int) or isinstance(text, bool):
            raise ConfigError(f"{path} must be one of {', '.join(map(str, choices))}; not {text!r}")
        for member in annotation:
            if text == member.value or str(text).lower() == str(member.value).lower():
                return member
            if str(text).lower() == member.name.lower():
                return member
        raise ConfigError(f"{path} must be one of {', '.join(map(str, choices))}; not {text!r}")
    return _convert_scalar(path, text, annotation)


def _nest(overrides: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Group dotted keys by their first part: ``{"a.b": 1, "a.c": 2} -> {"a": {"b": 1, "c": 2}}``."""
    nested: dict[str, Any] = {}
    for key, raw in overrides.items():
        head, dot, rest = key.partition(".")
        if not head:
            raise ConfigError(f"unknown key {prefix + key!r}")
        if dot:
            branch = nested.setdefault(head, {})
            if not isinstance(branch, dict):
                raise ConfigError(f"{prefix}{head} is set both as a value and as a section")
            branch[rest] = raw
        elif isinstance(raw, Mapping):
            nested.setdefault(head, {}).update(_flatten(raw))
        else:
            nested[head] = raw
    return nested


def _apply_level(config: T, nested: Mapping[str, Any], prefix: str) -> T:
    """Apply all overrides of one dataclass level, then validate once (``dataclasses.replace``).

    Validating once per level lets interdependent fields change together (``--set columns=4
    --set columns_per_adc=4``) whatever order the user gives them in.
    """
    names = [f.name for f in dataclasses.fields(config)]  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for head, raw in nested.items():
        path = prefix + head
        if head not in names:
            raise ConfigError(f"unknown key {path!r}; allowed here: {', '.join(names)}")
        current = getattr(config, head)
        if isinstance(raw, dict):
            if not (dataclasses.is_dataclass(current) and not isinstance(current, type)):
                raise ConfigError(f"unknown key {path + '.' + next(iter(raw))!r}: {path} is not a section")
            changes[head] = _apply_level(current, raw, path + ".")
        else:
            changes[head] = _convert(path, raw, _field_type(type(config), head))
    try:
        return dataclasses.replace(config, **changes)  # type: ignore[type-var]
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: {error}") from None


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def apply_overrides(config: T, overrides: Mapping[str, Any], *, prefix: str = "") -> T:
    """Return ``config`` with each ``dotted.path -> value`` applied and the result validated again.

    Values may be strings (``--set``) or TOML values. All keys of one section are applied together and
    the section is validated once, so their order does not matter. Unknown keys and values of the wrong
    type raise :class:`ConfigError` naming the key.
    """
    if not overrides:
        return config
    return _apply_level(config, _nest(overrides, prefix), prefix)


def parse_set_options(options: Iterable[str]) -> dict[str, str]:
    """Parse ``key=value`` strings from repeated ``--set`` options."""
    parsed: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, not {option!r}")
        parsed[key.strip()] = value.strip()
    return parsed


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file as flat dotted keys; a missing, binary or malformed file is a ConfigError."""
    from pulsetrain.validate import read_toml_file

    return _flatten(read_toml_file("--config", path))


def resolve(config: T, *, config_file: str | Path | None = None, sets: Iterable[str] = ()) -> T:
    """Defaults in code, then the TOML file, then ``--set`` options: the order every command uses."""
    if config_file is not None:
        config = apply_overrides(config, load_toml(config_file))
    return apply_overrides(config, parse_set_options(sets))
