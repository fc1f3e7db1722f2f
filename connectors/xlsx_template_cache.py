"""The tracker's template as openpyxl loaded it, kept between runs, as Python keeps its `.pyc` files.

Parsing the template's XML into openpyxl's objects took 20 ms of every tracker write (each
sync is a short-lived process); unpickling the loaded workbook takes 3. So the workbook is kept
pickled in a folder of the user's own under the system's temporary folder (created private and
refused when anyone else owns it or could write to it: unpickling runs code, as the digest's
compiled templates do, `sheetsync.render.template_cache`), under a checksum of the template's
bytes and of openpyxl's and Python's versions: a restyled template, or another openpyxl, is
loaded afresh.

Every write fills a workbook made by unpickling, the first one included, so a run that
loads the template and a run that finds it kept write the same file. Where nothing can be
kept (no private folder, a workbook that does not pickle), the template is loaded each run;
a kept file that cannot be read is loaded anew and replaced.
"""

from __future__ import annotations

import contextlib
import copyreg
import functools
import hashlib
import io
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl import Workbook
from openpyxl.worksheet.dimensions import DimensionHolder
from openpyxl.worksheet.table import TableList

FORMAT = 1
"""Part of every key: raised when what is kept changes shape."""


@functools.cache
def cache_dir() -> Path | None:
    """The user's private folder for kept templates; None where there is no safe one."""
    try:
        base = Path(tempfile.gettempdir())
        if not hasattr(os, "getuid"):  # Windows: the temporary folder is the user's own
            folder = base / "sheetsync-cache"
            folder.mkdir(exist_ok=True)
            return folder
        folder = base / f"sheetsync-cache-{os.getuid()}"
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
        info = os.lstat(folder)  # not followed: a link planted by someone else is refused
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return None
        if info.st_mode & 0o077:
            os.chmod(folder, 0o700)
            if os.lstat(folder).st_mode & 0o077:
                return None
        return folder
    except OSError:
        return None


def load(path: Path, parse: Callable[[Path], Workbook]) -> Workbook:
    """The workbook `parse(path)` returns, from the kept copy when the template is unchanged."""
    folder = cache_dir()
    if folder is None:
        return parse(path)
    source = path.read_bytes()
    kept = folder / f"tracker-template-{_key(source)}.pickle"
    try:
        workbook = pickle.loads(kept.read_bytes())
        if isinstance(workbook, Workbook):
            return workbook
    except Exception:  # missing, cut short or from elsewhere: loaded anew below
        pass
    workbook = parse(path)
    try:
        data = _dumps(workbook)
        copy = pickle.loads(data)
    except Exception:  # something in this template does not pickle: loaded each run
        return workbook
    if path.read_bytes() == source:  # not rewritten meanwhile: what is kept is what was hashed
        _write(kept, data)
    return copy


def _key(source: bytes) -> str:
    digest = hashlib.sha256(source)
    digest.update(f"\0{openpyxl.__version__}\0{sys.version}\0{FORMAT}".encode())
    return digest.hexdigest()[:40]


def _write(target: Path, data: bytes) -> None:
    """Written under a temporary name and renamed: a reader never sees half a file."""
    try:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(name, target)
        except BaseException:
            os.unlink(name)
            raise
    except OSError:  # read-only or full: the next run loads the template again
        pass


# openpyxl's two mappings that pickle would rebuild wrongly: a DimensionHolder loses its
# worksheet and its factory of new rows (pickle keeps a defaultdict's items, not its attributes),
# and a TableList's `items()` lists each table's range instead of the table.


def _rebuild_dimensions(cls: type[DimensionHolder], worksheet: Any, reference: str, factory: Any,
                        max_outline: Any, items: dict[Any, Any]) -> DimensionHolder:  # fmt: skip
    holder = cls(worksheet, reference=reference, default_factory=factory)
    holder.max_outline = max_outline
    dict.update(holder, items)
    return holder


def _reduce_dimensions(holder: DimensionHolder) -> tuple[Any, ...]:
    return _rebuild_dimensions, (type(holder), holder.worksheet, holder.reference, holder.default_factory,
                                 holder.max_outline, dict(dict.items(holder)))  # fmt: skip


def _rebuild_tables(cls: type[TableList], items: dict[str, Any]) -> TableList:
    tables = cls()
    dict.update(tables, items)
    return tables


def _reduce_tables(tables: TableList) -> tuple[Any, ...]:
    return _rebuild_tables, (type(tables), dict(dict.items(tables)))


_DISPATCH = copyreg.dispatch_table.copy()
_DISPATCH[DimensionHolder] = _reduce_dimensions
_DISPATCH[TableList] = _reduce_tables


def _dumps(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(workbook)
    return out.getvalue()
