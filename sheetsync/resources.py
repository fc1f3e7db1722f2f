"""Files shipped with sheetsync: templates, the example config and its sample data.

In a source checkout they sit at the repository root (`templates/`, `config.toml`,
`data/`); a regular `pip install` copies them into `sheetsync/_bundled/`. Looking in both
places keeps one copy in the repository and lets either install find them.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled_dir() -> Path:
    installed = _PACKAGE / "_bundled"
    return installed if installed.is_dir() else _PACKAGE.parent


def templates_dir() -> Path:
    return bundled_dir() / "templates"


def template(name: str) -> Path:
    path = templates_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"sheetsync's built-in template {name!r} is missing from {templates_dir()}")
    return path


def example_config() -> Path:
    return bundled_dir() / "config.toml"


def sample_data_dir() -> Path:
    return bundled_dir() / "data"
