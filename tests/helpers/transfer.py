"""Helpers for the transfer-periphery tests (twin and float server alike)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pulsetrain.model.transfer import TransferSequencer


def run_reads(periphery: TransferSequencer, reads: list[np.ndarray]) -> list[Any]:
    """Step until each read is consumed by a transfer; return the results."""
    results = []
    queue = list(reads)
    while queue:
        request = periphery.step()
        if request is None:
            continue
        for column in request.columns:
            results.append(periphery.transfer(column, queue.pop(0)))
            if not queue:
                break
    return results
