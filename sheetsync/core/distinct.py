"""A column factorized once, for every reader of it.

One source column may be read several ways in one sync: its day/month order and its dates,
a filter on it, a distinct count, its numbers and their currencies. Each of those wants the
column's distinct values and each cell's code; `core.kpis.ColumnCache` makes them once per
column with `distinct_values` and hands the same `Distinct` to each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Distinct", "distinct_values", "is_string_column"]


@dataclass
class Distinct:
    """A column factorized once: each cell's code (-1 for a missing cell) and its distinct values.

    A caller reading one column several ways (`core.kpis.ColumnCache`: its day/month order,
    its dates, a filter on it, a distinct count) makes it once with `distinct_values` and
    hands it to each, instead of each factorizing the column again.
    """

    codes: np.ndarray
    uniques: Any  # as pd.factorize returns them: an Index (arrow strings stay arrow) or an array
    _listed: list[object] | None = None

    def values(self) -> list[object]:
        """The distinct values as a Python list (an arrow Index iterates slowly), made once."""
        if self._listed is None:
            self._listed = self.uniques.tolist()
        return self._listed


def is_string_column(values: pd.Series) -> bool:
    """A column of a string dtype (a CSV's), not an object column (an .xlsx or Google sheet's).

    Only there is every distinct cell a distinct text: factorizing an object column makes 1,
    1.0 and True one value, so its readers must look at its cells, not its distinct values.
    """
    return pd.api.types.is_string_dtype(values.dtype) and values.dtype != np.dtype(object)


def distinct_values(values: pd.Series | np.ndarray) -> Distinct:
    """`values` factorized as date parsing, filters and distinct counts read a column."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return Distinct(codes, uniques)
