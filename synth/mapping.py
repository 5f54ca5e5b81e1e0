"""Weight matrices of a network on crossbar subarrays, by NeuroSim V2.1's floorplan rules.

A convolution's kernel is unfolded into a matrix of ``in_channels·k·k`` rows (times the rows one synapse
takes) and ``out_channels`` columns (times the cells one weight takes: ``ceil(weight bits / cell bits)``);
a fully connected layer is a 1x1 convolution on a 1x1 image. The rules below are those of NeuroSim's
``Chip.cpp`` (DNN_NeuroSim_V2.1 at 18289cbb1ffa74947a9e3b785688e530240b9bf1, functions
``ChipDesignInitialize``, ``ChipFloorPlan``, ``TileDesignCM``, ``TileDesignNM``, ``PEDesign``,
``SubArrayDup``, ``OverallEachLayer``), re-implemented from their description, layer-by-layer
(``pipeline = false``):

* **novel mapping** (``novelMapping = true``): the kernel size shared by most layers sets the PEs per
  tile (9 for 3x3 kernels); a layer with that kernel and at least one subarray of unfolded rows puts each
  kernel position on its own PE of ``pe_size x pe_size`` cells; every other layer (small first layer,
  fully connected layers) uses the conventional mapping;
* **conventional mapping**: the matrix is cut into tiles of ``tile_size x tile_size`` cells;
* sizes: powers of two from the widest layer's columns down to ``4 x`` (tiles) and ``2 x`` (PEs) the
  subarray, the one that fills its tiles best (first best kept);
* **duplication**: a matrix smaller than its PE (tile) is copied into the spare PEs and subarrays
  (``floor(room / need)`` per direction, at least 1); the copies read different input vectors at once
  (NeuroSim's "speed-up").

The number of input vectors (kernel positions) per image is NeuroSim's too: ``(H - k + 1) / stride`` per
side (``Chip.cpp`` ``ChipCalculatePerformance``, ``numInVector``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pulsetrain.config import ConfigError, check_int

__all__ = ["ChipMapping", "LayerMapping", "LayerShape", "map_network"]


@dataclass(frozen=True, kw_only=True)
class LayerShape:
    """One layer as NeuroSim's ``NetWork.csv`` writes it (a fully connected layer: 1x1 image and kernel)."""

    #: input feature-map rows.
    input_rows: int
    #: input feature-map columns.
    input_cols: int
    #: input channels (fan-in of a fully connected layer).
    in_channels: int
    #: kernel rows.
    kernel_rows: int
    #: kernel columns.
    kernel_cols: int
    #: output channels (fan-out of a fully connected layer).
    out_channels: int
    #: stride (NetWork.csv column 8).
    stride: int = 1
    #: one extra always-on input row (pulsetrain's bias line); NeuroSim has none.
    bias_row: bool = False

    def __post_init__(self) -> None:
        for name in ("input_rows", "input_cols", "in_channels", "kernel_rows", "kernel_cols", "out_channels"):
            check_int(name, getattr(self, name), 1, 1 << 20)
        check_int("stride", self.stride, 1, 64)
        if self.kernel_rows > self.input_rows or self.kernel_cols > self.input_cols:
            raise ConfigError(
                f"kernel {self.kernel_rows}x{self.kernel_cols} is larger than the input "
                f"{self.input_rows}x{self.input_cols}"
            )

    @property
    def kernel_area(self) -> int:
        """``k_rows x k_cols``."""
        return self.kernel_rows * self.kernel_cols

    @property
    def matrix_rows(self) -> int:
        """Rows of the unfolded kernel (``in_channels·k·k``, plus the bias row)."""
        return self.in_channels * self.kernel_area + int(self.bias_row)

    @property
    def vectors(self) -> int:
        """Input vectors (kernel positions) per image: ``(H - k + 1) / stride`` per side, as NeuroSim."""
        rows = (self.input_rows - self.kernel_rows + 1) // self.stride
        cols = (self.input_cols - self.kernel_cols + 1) // self.stride
        return max(rows, 1) * max(cols, 1)


@dataclass(frozen=True)
class LayerMapping:
    """Where one layer sits."""

    #: the layer.
    shape: LayerShape
    #: novel mapping (one PE per kernel position) or conventional.
    novel: bool
    #: tiles the layer takes.
    tiles: int
    #: subarrays reserved by those tiles (whole tiles, spare ones hold copies or stay empty).
    subarrays_reserved: int
    #: subarrays one copy of the weights occupies.
    subarrays_used: int
    #: copies of the weights reading different vectors at once (NeuroSim's speed-up), rows x columns.
    duplication: int
    #: row blocks of one copy: subarrays whose partial sums are added for one output (every kernel
    #: position's PE counts under the novel mapping).
    row_blocks: int
    #: column blocks of one copy.
    col_blocks: int


@dataclass(frozen=True)
class ChipMapping:
    """The floorplan of a network."""

    #: one entry per layer.
    layers: tuple[LayerMapping, ...]
    #: PE side of the novel mapping (cells), 0 when no layer uses it.
    pe_size_novel: int
    #: PEs per novel-mapped tile (the common kernel area).
    pes_per_novel_tile: int
    #: tile side of the conventional mapping (cells), 0 when no layer uses it.
    tile_size_conventional: int
    #: PE side inside a conventional tile (cells).
    pe_size_conventional: int

    @property
    def subarrays_reserved(self) -> int:
        """Subarrays of the whole floorplan."""
        return sum(layer.subarrays_reserved for layer in self.layers)

    @property
    def subarrays_used(self) -> int:
        """Subarrays one copy of every layer's weights occupies."""
        return sum(layer.subarrays_used for layer in self.layers)


def _power_of_two_at_least(value: float) -> int:
    return 1 << max(0, math.ceil(math.log2(value)))


def _common_kernel_area(layers: list[LayerShape]) -> int:
    """The kernel area shared by most layers (the first such layer's on a tie), as NeuroSim picks it."""
    best, area = 0, 0
    for layer in layers:
        count = sum(other.kernel_area == layer.kernel_area for other in layers)
        if count > best:
            best, area = count, layer.kernel_area
    return area


def _best_size(start: int, floor: int, utilization: object) -> int:
    """The power-of-two size from ``start`` halving while above ``floor`` that fills its tiles best."""
    best, best_size = 0.0, start
    size = start
    while size > floor:
        value = utilization(size)  # type: ignore[operator]
        if value > best:
            best, best_size = value, size
        size //= 2
    return best_size


def _duplicates(need_rows: int, need_cols: int, room: int, unit_rows: int, unit_cols: int) -> int:
    """Copies of a ``need_rows x need_cols`` matrix that fit a ``room x room`` block of units."""
    if need_rows > room and need_cols > room:
        return 1
    rows = max(1, math.ceil(room / unit_rows) // math.ceil(need_rows / unit_rows))
    cols = max(1, math.ceil(room / unit_cols) // math.ceil(need_cols / unit_cols))
    return rows * cols


def map_network(
    layers: list[LayerShape],
    *,
    subarray_rows: int = 128,
    subarray_cols: int = 128,
    cols_per_synapse: int = 1,
    novel_mapping: bool = True,
) -> ChipMapping:
    """The floorplan of ``layers`` on ``subarray_rows x subarray_cols`` subarrays (module docstring)."""
    if not layers:
        raise ConfigError("a network needs at least one layer to map")
    common = _common_kernel_area(layers) if novel_mapping else 0
    novel = [
        novel_mapping and layer.kernel_area == common and layer.matrix_rows >= subarray_rows
        for layer in layers
    ]
    cols = [layer.out_channels * cols_per_synapse for layer in layers]
    pe_nm = tile_cm = pe_cm = 0
    if any(novel):
        start = max(
            max(_power_of_two_at_least(c) for c, n in zip(cols, novel, strict=True) if n), 2 * subarray_rows
        )

        def fill_nm(size: int) -> float:
            tiles = sum(
                math.ceil(layer.in_channels / size) * math.ceil(c / size)
                for layer, c, n in zip(layers, cols, novel, strict=True)
                if n
            )
            cells = sum(layer.matrix_rows * c for layer, c, n in zip(layers, cols, novel, strict=True) if n)
            return cells / (tiles * size * size * common)

        pe_nm = _best_size(start, 2 * subarray_rows, fill_nm)
    if not all(novel):
        start = max(
            max(_power_of_two_at_least(c) for c, n in zip(cols, novel, strict=True) if not n),
            4 * subarray_rows,
        )

        def fill_cm(size: int) -> float:
            tiles = sum(
                math.ceil(layer.matrix_rows / size) * math.ceil(c / size)
                for layer, c, n in zip(layers, cols, novel, strict=True)
                if not n
            )
            cells = sum(
                layer.matrix_rows * c for layer, c, n in zip(layers, cols, novel, strict=True) if not n
            )
            return cells / (tiles * size * size)

        tile_cm = _best_size(start, 4 * subarray_rows, fill_cm)
        # NeuroSim then tries smaller PEs only where they beat the tile's own fill; at these sizes the PE
        # is half the tile (its first choice), which is what is kept here
        pe_cm = tile_cm // 2
    mapped = []
    for layer, c, n in zip(layers, cols, novel, strict=True):
        rows = layer.in_channels if n else layer.matrix_rows
        row_blocks, col_blocks = math.ceil(rows / subarray_rows), math.ceil(c / subarray_cols)
        if n:
            tiles = math.ceil(rows / pe_nm) * math.ceil(c / pe_nm)
            per_tile = common * (pe_nm // subarray_rows) * (pe_nm // subarray_cols)
            row_blocks *= common
            used = row_blocks * col_blocks
            duplication = _duplicates(rows, c, pe_nm, subarray_rows, subarray_cols)
        else:
            tiles = math.ceil(rows / tile_cm) * math.ceil(c / tile_cm)
            per_tile = (tile_cm // subarray_rows) * (tile_cm // subarray_cols)
            used = row_blocks * col_blocks
            pe_copies = _duplicates(rows, c, tile_cm, pe_cm, pe_cm)
            duplication = pe_copies * _duplicates(rows, c, pe_cm, subarray_rows, subarray_cols)
        mapped.append(
            LayerMapping(layer, n, tiles, tiles * per_tile, used, duplication, row_blocks, col_blocks)
        )
    return ChipMapping(tuple(mapped), pe_nm, common if any(novel) else 0, tile_cm, pe_cm)
