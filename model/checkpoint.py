"""Checkpoints that cannot run code: an object graph as JSON plus NumPy arrays, in one ``.npz`` file.

A pickle runs whatever code its author chose when it is loaded, so ``--resume`` on someone else's
folder would run their code. A checkpoint here is a zip of ``.npy`` arrays (read with
``allow_pickle=False``) and one JSON document describing the object graph. Reading one imports nothing
and calls no code beyond:

- the constructors of plain values (lists, dicts, tuples, sets, NumPy arrays and scalars);
- ``numpy.random.Generator`` / ``SeedSequence`` from a bit-generator name on an allow-list and its state;
- instances of *pulsetrain classes* only (module ``pulsetrain.*``): created with ``object.__new__`` and
  given their saved attributes, through the class's own ``__setstate__`` where it has one (the pickle
  protocol the algorithms already follow, e.g. :class:`pulsetrain.model.tile.Tile` rebuilds its views).

The walk follows the pickle protocol on the way out (``__getstate__``), so every algorithm class works
without a line of its own. Shared objects stay shared (a memo by identity) and cycles are allowed.

File layout (``numpy.savez``): ``__header__`` (UTF-8 JSON: format, code version, checksum, caller's
metadata), ``__state__`` (UTF-8 JSON of the graph), ``a0, a1, ...`` (the arrays). The checksum is a
SHA-256 over the state document and every array's dtype, shape and bytes, so a flipped byte, a
truncated file or an edit is refused with a clear error instead of resuming from wrong numbers.
"""

from __future__ import annotations

import enum
import hashlib
import importlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from pulsetrain.config import ConfigError
from pulsetrain.results import write_atomic

#: version of this layout (a reader refuses other versions)
FORMAT = "pulsetrain-checkpoint-1"
#: bit generators a checkpoint may name (all of NumPy's)
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")
#: module prefix of the classes a checkpoint may instantiate
ALLOWED_MODULE_PREFIX = "pulsetrain."


class CheckpointError(ConfigError):
    """A checkpoint that cannot be trusted or read (corrupt, truncated, tampered, other code)."""


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


class _Encoder:
    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.memo: dict[int, int] = {}
        self.keep: list[Any] = []  # keeps encoded objects alive so their ids stay unique

    def _remember(self, value: Any) -> int:
        number = len(self.memo)
        self.memo[id(value)] = number
        self.keep.append(value)
        return number

    def encode(self, value: Any, path: str) -> Any:
        if value is None or isinstance(value, bool | str):
            return value
        if type(value) in (int, float):
            return value
        if id(value) in self.memo:
            return {"$ref": self.memo[id(value)]}
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError(f"checkpoint: {path} is an object array, which would need pickle")
            number = self._remember(value)
            self.arrays.append(np.ascontiguousarray(value))
            return {"$array": len(self.arrays) - 1, "id": number}
        if isinstance(value, np.generic):
            return {"$scalar": value.dtype.str, "value": self.encode(value.item(), path)}
        if isinstance(value, np.random.Generator):
            number = self._remember(value)
            state = value.bit_generator.state
            return {"$generator": state["bit_generator"], "id": number, "state": self.encode(state, path)}
        if isinstance(value, np.random.SeedSequence):
            fields = ("entropy", "spawn_key", "pool_size", "n_children_spawned")
            return {"$seed_sequence": {name: self.encode(getattr(value, name), path) for name in fields}}
        if isinstance(value, enum.Enum):
            return {"$enum": _class_name(type(value), path), "name": value.name}
        if type(value) in (list, dict, set, frozenset, tuple):
            return self._encode_container(value, path)
        return self._encode_object(value, path)

    def _encode_container(self, value: Any, path: str) -> Any:
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(item, f"{path}[{i}]") for i, item in enumerate(value)]}
        if isinstance(value, set | frozenset):
            kind = "$set" if isinstance(value, set) else "$frozenset"
            return {kind: [self.encode(item, f"{path}{{}}") for item in value]}
        number = self._remember(value)
        if isinstance(value, list):
            return {
                "$list": [self.encode(item, f"{path}[{i}]") for i, item in enumerate(value)],
                "id": number,
            }
        items = [[self.encode(k, f"{path}.key"), self.encode(v, f"{path}[{k!r}]")] for k, v in value.items()]
        return {"$dict": items, "id": number}

    def _encode_object(self, value: Any, path: str) -> Any:
        name = _class_name(type(value), path)
        number = self._remember(value)
        state = value.__getstate__()
        if not isinstance(state, dict):
            raise TypeError(f"checkpoint: {path} ({name}) has a state of type {type(state).__name__}")
        encoded = {str(key): self.encode(item, f"{path}.{key}") for key, item in state.items()}
        return {"$object": name, "id": number, "state": encoded}


def _class_name(cls: type, path: str) -> str:
    module = cls.__module__
    if not module.startswith(ALLOWED_MODULE_PREFIX):
        raise TypeError(f"checkpoint: {path} is a {module}.{cls.__qualname__}, not a pulsetrain class")
    return f"{module}:{cls.__qualname__}"


def _digest(state_text: bytes, arrays: list[np.ndarray]) -> str:
    digest = hashlib.sha256(state_text)
    for array in arrays:
        digest.update(f"\0{array.dtype.str}{array.shape}\0".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def save(path: str | Path, value: Any, *, code_version: str, metadata: Any = None) -> Path:
    """Write ``value`` (and JSON-ready ``metadata``) to ``path`` atomically; returns the path."""
    encoder = _Encoder()
    document = encoder.encode(value, "state")
    # key order is the order of the walk: a reference must come after the object it points to
    state_text = json.dumps(document, allow_nan=True).encode()
    header = {
        "format": FORMAT,
        "code_version": code_version,
        "sha256": _digest(state_text, encoder.arrays),
        "metadata": metadata,
    }
    entries = {f"a{index}": array for index, array in enumerate(encoder.arrays)}
    buffer = io.BytesIO()
    entries["__header__"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    entries["__state__"] = np.frombuffer(state_text, dtype=np.uint8)
    np.savez(buffer, **entries)  # type: ignore[arg-type]
    return write_atomic(path, buffer.getvalue())


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def _allowed_class(name: Any) -> type:
    """The pulsetrain class ``module:qualname``; anything else is refused (nothing outside is imported)."""
    if not isinstance(name, str) or ":" not in name:
        raise CheckpointError(f"names no class: {name!r}")
    module_name, qualname = name.split(":", 1)
    if not module_name.startswith(ALLOWED_MODULE_PREFIX):
        raise CheckpointError(f"names the class {name!r}, which is not a pulsetrain class")
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        raise CheckpointError(f"names the class {name!r}, which this version of pulsetrain lacks") from None
    if not isinstance(found, type) or found.__module__ != module_name:
        raise CheckpointError(f"names {name!r}, which is not a class defined there")
    return found


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.memo: dict[int, Any] = {}

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if not isinstance(node, dict) or len(node) == 0:
            raise CheckpointError(f"holds an unknown node {node!r:.80}")
        if "$ref" in node:
            return self.memo[node["$ref"]]
        if "$array" in node:
            array = self.arrays[f"a{node['$array']}"]
            self.memo[node["id"]] = array
            return array
        if "$scalar" in node:
            return np.dtype(node["$scalar"]).type(self.decode(node["value"]))
        if "$generator" in node:
            return self._generator(node)
        if "$seed_sequence" in node:
            fields = {key: self.decode(value) for key, value in node["$seed_sequence"].items()}
            return np.random.SeedSequence(**fields)
        if "$enum" in node:
            cls = _allowed_class(node["$enum"])
            if not issubclass(cls, enum.Enum):
                raise CheckpointError(f"names {node['$enum']!r} as an enum; it is not one")
            return cls[node["name"]]
        return self._container_or_object(node)

    def _generator(self, node: dict[str, Any]) -> np.random.Generator:
        name = node["$generator"]
        if name not in BIT_GENERATORS:
            raise CheckpointError(f"names the bit generator {name!r}; allowed: {', '.join(BIT_GENERATORS)}")
        bit_generator = getattr(np.random, name)()
        bit_generator.state = self.decode(node["state"])
        generator = np.random.Generator(bit_generator)
        self.memo[node["id"]] = generator
        return generator

    def _container_or_object(self, node: dict[str, Any]) -> Any:
        if "$tuple" in node:
            return tuple(self.decode(item) for item in node["$tuple"])
        if "$set" in node:
            return {self.decode(item) for item in node["$set"]}
        if "$frozenset" in node:
            return frozenset(self.decode(item) for item in node["$frozenset"])
        if "$list" in node:
            items: list[Any] = []
            self.memo[node["id"]] = items
            items.extend(self.decode(item) for item in node["$list"])
            return items
        if "$dict" in node:
            mapping: dict[Any, Any] = {}
            self.memo[node["id"]] = mapping
            for key, value in node["$dict"]:
                mapping[self.decode(key)] = self.decode(value)
            return mapping
        if "$object" in node:
            cls = _allowed_class(node["$object"])
            instance: Any = object.__new__(cls)
            self.memo[node["id"]] = instance
            state = {key: self.decode(value) for key, value in node["state"].items()}
            if hasattr(cls, "__setstate__"):  # the class's own restore (``object`` has none)
                instance.__setstate__(state)
            else:
                instance.__dict__.update(state)
            return instance
        raise CheckpointError(f"holds an unknown node with keys {sorted(node)[:4]}")


def load(path: str | Path, *, code_version: str) -> tuple[Any, Any]:
    """Read a checkpoint written by :func:`save`: ``(value, metadata)``.

    Raises :class:`CheckpointError` (a :class:`ConfigError`: one line, exit 2 on the command line) for a
    file that is empty, truncated, not a checkpoint, altered after writing, or written by other code.
    """
    file = Path(path)
    shown = str(file)
    try:
        with np.load(file, allow_pickle=False) as archive:
            contents = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise CheckpointError(
            f"checkpoint {shown!r} is not a readable pulsetrain checkpoint (empty, truncated or another "
            f"format: {type(error).__name__}); remove it to start fresh"
        ) from None
    try:
        header = json.loads(contents.pop("__header__").tobytes())
        state_text = contents.pop("__state__").tobytes()
    except (KeyError, ValueError):
        raise CheckpointError(
            f"checkpoint {shown!r} has no pulsetrain header; remove it to start fresh"
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {shown!r} is not in the format {FORMAT}; remove it to start fresh")
    arrays = [contents[f"a{index}"] for index in range(len(contents)) if f"a{index}" in contents]
    if len(arrays) != len(contents) or header.get("sha256") != _digest(state_text, arrays):
        raise CheckpointError(
            f"checkpoint {shown!r} does not match its checksum (altered or damaged after it was written); "
            "remove it to start fresh"
        )
    if header.get("code_version") != code_version:
        raise CheckpointError(
            f"checkpoint {shown!r} was written by another version of the pulsetrain code "
            f"({str(header.get('code_version'))[:12]}, this is {code_version[:12]}); a resumed run would not "
            "match an uninterrupted one: remove it to start fresh"
        )
    try:
        value = _Decoder(contents).decode(json.loads(state_text))
    except CheckpointError as error:
        raise CheckpointError(f"checkpoint {shown!r} {error}") from None
    except (KeyError, TypeError, ValueError, IndexError, RecursionError) as error:
        raise CheckpointError(
            f"checkpoint {shown!r} holds an invalid state ({type(error).__name__}: {error})"
        ) from None
    return value, header.get("metadata")


__all__ = ["FORMAT", "CheckpointError", "load", "save"]
