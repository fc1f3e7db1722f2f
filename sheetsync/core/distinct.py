"""A column factorized once, for every reader of it.

One source column may be read several ways in one sync: its day/month order and its dates,
a filter on it, a distinct count, its numbers and their currencies. Each of those wants the
column's distinct values and each cell's code; `core.kpis.ColumnCache` makes them once per
column with `distinct_values` and hands the same `Distinct` to each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Distinct", "RangeCodes", "distinct_values", "is_string_column"]


@dataclass
class Distinct:
    """A column factorized once: each cell's code (-1 for a missing cell) and its distinct values.

    A caller reading one column several ways (`core.kpis.ColumnCache`: its day/month order,
    its dates, a filter on it, a distinct count) makes it once with `distinct_values` and
    hands it to each, instead of each factorizing the column again.
    """

    codes: np.ndarray
    uniques: Any  # as pd.factorize returns them (an Index or an array), or a string column's ArrowStringArray
    _listed: list[object] | None = None

    def values(self) -> list[object]:
        """The distinct values as a Python list (an arrow Index iterates slowly), made once."""
        if self._listed is None:
            self._listed = self.uniques.tolist()
        return self._listed

    def arrow_texts(self) -> pa.Array | None:
        """The distinct values as one Arrow string array, for a string column's (None otherwise)."""
        uniques = self.uniques
        if not isinstance(uniques, pd.Index | pd.arrays.ArrowStringArray) or getattr(
                uniques.dtype, "storage", None) != "pyarrow":
            return None
        texts = pa.array(uniques.array if isinstance(uniques, pd.Index) else uniques)
        if texts.null_count or not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
            return None
        return texts

    def subset(self, rows: np.ndarray) -> Distinct:
        """`distinct_values` of the cells at `rows` (ascending positions), from these codes: no hashing again.

        The same codes and uniques as factorizing those cells would give (uniques in the order
        the subset first lists them, none the subset lacks), so only for a string column, where
        each distinct cell is a distinct text (see `is_string_column`).
        """
        codes = self.codes[rows]
        size = len(self.uniques)
        present = np.flatnonzero(codes >= 0)
        first = np.full(size, len(codes), dtype=np.int64)
        np.minimum.at(first, codes[present], present)  # each code's first row in the subset
        used = np.flatnonzero(first < len(codes))
        order = used[np.argsort(first[used], kind="stable")]
        remap = np.full(size + 1, -1, dtype=np.int64)  # the last slot: a missing cell (code -1) stays -1
        remap[order] = np.arange(len(order), dtype=np.int64)
        return Distinct(remap[codes].astype(self.codes.dtype, copy=False), self.uniques.take(order))


def is_string_column(values: pd.Series) -> bool:
    """A column of a string dtype (a CSV's), not an object column (an .xlsx or Google sheet's).

    Only there is every distinct cell a distinct text: factorizing an object column makes 1,
    1.0 and True one value, so its readers must look at its cells, not its distinct values.
    """
    return pd.api.types.is_string_dtype(values.dtype) and values.dtype != np.dtype(object)


def distinct_values(values: pd.Series | np.ndarray) -> Distinct:
    """`values` factorized as date parsing, filters and distinct counts read a column."""
    if isinstance(values, pd.Series) and isinstance(values.array, pd.arrays.ArrowStringArray):
        return arrow_distinct(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return Distinct(codes, uniques)


def arrow_distinct(values: pd.Series) -> Distinct:
    """A string column's codes and uniques as pd.factorize makes them, straight from Arrow's dictionary encoding.

    The same codes (first seen, first numbered; -1 for a missing cell) and uniques, in the
    column's own dtype; without pd.factorize's wrapping and its Index (a quarter of the time of
    a 10,000-row column, which a medium sync factorizes about 270 of). `values` holds an ArrowStringArray.
    """
    texts = values.array
    encoded = pc.dictionary_encode(texts.__arrow_array__(), null_encoding="mask")
    combined = encoded.chunk(0) if encoded.num_chunks == 1 else encoded.combine_chunks()
    if not isinstance(combined, pa.DictionaryArray):  # no chunks: an empty column
        return Distinct(np.empty(0, dtype=np.intp), type(texts)(pa.array([], type=texts.__arrow_array__().type),
                                                                 dtype=texts.dtype))
    indices = combined.indices
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    codes = indices.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
    return Distinct(codes, type(texts)(combined.dictionary, dtype=texts.dtype))


class RangeCodes:
    """A string column's codes (`encode` of its cells), made only for the rows a window reaches.

    A distinct count over a CSV's customer column factorized all 774,000 of its texts,
    though a quarter's KPI reads only the quarter's rows: about as long as a whole one-KPI
    run. Here the rows are in date order (`rows`, positions into `cells`, or `cells` already
    in that order from `start` on) and a request for positions a..b factorizes just the rows
    covering them, growing the covered range (at least doubling it) when a later window
    reaches outside it. Codes from two coverings may differ; each request's codes are
    consistent among themselves, which is all a count of distinct codes needs.
    """

    dtype = np.dtype(np.int64)

    def __init__(self, cells: Any, rows: np.ndarray | None, start: int,
                 encode: Callable[[pd.Series], np.ndarray]) -> None:
        self._cells = cells  # the column's array (arrow strings: slices and takes share its buffers)
        self._rows = rows
        self._start = start
        self._size = (len(cells) if rows is None else len(rows)) - start
        self._encode = encode
        self._codes: np.ndarray | None = None  # every position's slot; only lo..hi are filled in
        self._lo = self._hi = 0

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice | np.ndarray) -> np.ndarray:
        """Codes at a slice or at ascending positions (as `KPIRows` asks for them)."""
        if isinstance(key, slice):
            lo, hi, step = key.indices(self._size)
            if step != 1:
                raise ValueError("RangeCodes slices in steps of one")
            if hi <= lo:
                return np.empty(0, dtype=np.int64)
            return self._cover(lo, hi)[lo:hi]
        positions = np.asarray(key)
        if not len(positions):
            return np.empty(0, dtype=np.int64)
        return self._cover(int(positions[0]), int(positions[-1]) + 1)[positions]

    def cover_all(self, codes: np.ndarray) -> None:
        """Take every row's codes, made anyway by a reader of the whole column (a filter on it)."""
        assert len(codes) == self._size
        self._codes, self._lo, self._hi = codes, 0, self._size

    def _cover(self, lo: int, hi: int) -> np.ndarray:
        """The codes, filled in for at least positions lo..hi (exclusive) and what was covered before."""
        if self._codes is not None and self._lo <= lo and hi <= self._hi:
            return self._codes
        if self._codes is None:  # untouched pages of an empty array cost nothing: slots for every row
            self._codes = np.empty(self._size, dtype=np.int64)
        else:  # grow past what was covered by at least its own size: few refactorizations
            span = self._hi - self._lo
            lo = min(lo, max(0, self._lo - span)) if lo < self._lo else self._lo
            hi = max(hi, min(self._size, self._hi + span)) if hi > self._hi else self._hi
        first, last = self._start + lo, self._start + hi
        cells = self._cells[first:last] if self._rows is None else self._cells.take(self._rows[first:last])
        self._codes[lo:hi] = self._encode(pd.Series(cells, copy=False))
        self._lo, self._hi = lo, hi
        return self._codes
