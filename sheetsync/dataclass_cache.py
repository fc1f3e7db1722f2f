"""The methods `dataclasses` writes for each class, compiled once and kept between runs, as `.pyc` files are.

On Python 3.11 and 3.12, `@dataclass` makes a class's `__init__`, `__repr__`, `__eq__` (and a
frozen class's `__hash__`, `__setattr__` and `__delattr__`) by writing each one's source text
and compiling it, one `exec` a method: sheetsync's hundred-odd dataclasses spent about 60 ms of
every process's imports compiling them (`sheetsync.core.model` 20 ms of its own import of
about 20, `sheetsync.core.digest` 10 ms, loaded by every digest), more than anything else in
them. A method's text depends only on its class's fields, so the code compiled from each text
is kept (marshal, the format of `.pyc` files, under Python's bytecode magic number) in a folder
of the user's own under the system's temporary folder, as the digest's compiled templates are
(`sheetsync.render.template_cache`; created private, refused when anyone else owns it: loading
code runs it). `dataclasses` still makes every method, from that code: the same functions as
compiled afresh. A text not kept yet is compiled as before and the kept file rewritten when the
process ends; where nothing can be kept, every method is compiled, as without this module.

`install` is called by `sheetsync/__init__.py`, before any of sheetsync's classes is made.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import marshal
import os
import stat
import sys
import tempfile
import threading
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import Any

SUPPORTED = sys.version_info[:2] in ((3, 11), (3, 12))
"""Where `dataclasses` compiles each method with `exec` (3.13 compiles a class's methods in one)."""
MAX_KEPT = 2000
"""Methods kept in the file at most (a run of sheetsync makes about 500): past that, a process keeps
only the ones it used, so methods of classes since changed do not pile up."""


class MethodCache:
    """Stands in for `exec` in the `dataclasses` module: source text in, code run from the kept file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.codes: dict[str, CodeType] | None = None  # read at the first class made
        self.compiled = 0  # texts compiled by this process (not found in the kept file)
        self.used: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, source: Any, globals: Any = None, locals: Any = None) -> None:
        if not isinstance(source, str):
            return builtins.exec(source, globals, locals)
        with self.lock:
            if self.codes is None:
                self.codes = self._read()
            code = self.codes.get(source)
            if code is None:
                # dont_inherit: compiled as `dataclasses` compiles it, not under this module's
                # `from __future__ import annotations` (which would turn the methods' annotations into text)
                code = compile(source, "<string>", "exec", dont_inherit=True)
                if len(self.used) < MAX_KEPT:
                    self.codes[source] = code
                    self.compiled += 1
            if len(self.used) < MAX_KEPT:
                self.used.add(source)
        builtins.exec(code, globals, locals)
        return None

    def _read(self) -> dict[str, CodeType]:
        if self.path is None:
            return {}
        try:
            info = os.lstat(self.path)
            if not stat.S_ISREG(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
                return {}
            codes = marshal.loads(self.path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):  # none yet, or unreadable: compiled anew
            return {}
        if not isinstance(codes, dict):
            return {}
        return {k: v for k, v in codes.items() if isinstance(k, str) and isinstance(v, CodeType)}

    def save(self) -> None:
        """Rewrite the kept file when this process compiled methods it did not hold."""
        with self.lock:
            if self.path is None or not self.compiled or self.codes is None:
                return
            if len(self.codes) > MAX_KEPT:
                self.codes = {k: v for k, v in self.codes.items() if k in self.used}
            data = marshal.dumps(self.codes)
            self.compiled = 0
        try:
            handle, name = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".marshal")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(name, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(name)
                raise
        except OSError:  # read-only or full: the next run compiles them again
            pass


def private_dir() -> Path | None:
    """The user's private folder for kept files (the tracker's template is kept there too); None without one."""
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


_installed: MethodCache | None = None


def install() -> MethodCache | None:
    """Make `dataclasses` compile through the kept methods (once a process); None where it does not apply."""
    global _installed
    if _installed is not None or not SUPPORTED or not hasattr(dataclasses, "_create_fn"):
        return _installed
    if os.environ.get("SHEETSYNC_DATACLASS_CACHE", "1") == "0":
        return None
    folder = private_dir()
    path = None if folder is None else folder / f"dataclass-methods-{MAGIC_NUMBER.hex()}.marshal"
    _installed = MethodCache(path)
    dataclasses.exec = _installed  # type: ignore[attr-defined]  # found before the builtin by `_create_fn`
    atexit.register(_installed.save)
    return _installed
