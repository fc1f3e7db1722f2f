"""Compiled Jinja2 templates kept between runs, as Python keeps its own `.pyc` files.

Compiling the digest's two templates takes longer than rendering them (a tenth to a fifth of
a second, on every run of a short-lived `sheetsync` process). Jinja2 keeps the compiled code
in a folder of the user's own (created private, refused when anyone else could write to it)
under the system's temporary folder, keyed by the template's name and a checksum of its
source, so a restyled template is compiled afresh. Where no such folder can be had (a
read-only disk, an unsafe temporary folder), templates are simply compiled each run.
"""

from __future__ import annotations

import contextlib
import functools

import jinja2
import jinja2.bccache

PATTERN = "sheetsync-%s.cache"


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """A cache that never fails a render: a file it cannot read or write is compiled instead."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, ValueError, EOFError):  # unreadable or cut short: compiled anew
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):  # read-only or full: the next run compiles it again
            super().dump_bytecode(bucket)


@functools.cache
def bytecode_cache() -> jinja2.BytecodeCache | None:
    """The per-user cache of compiled templates; None where there is no safe place for one."""
    try:
        return TemplateCache(pattern=PATTERN)
    except (OSError, RuntimeError):  # RuntimeError: Jinja2 found no private temporary folder
        return None
