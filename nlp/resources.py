"""Access to the package's data files (lexicons, normalisation tables, routing)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def language_data(lang: str, name: str) -> dict[str, Any]:
    """`data/lang/<lang>/<name>.json`, parsed once per process."""
    path = resources.files("nlp").joinpath(f"data/lang/{lang}/{name}.json")
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


@cache
def package_data(name: str) -> dict[str, Any]:
    """`data/<name>.json`, parsed once per process."""
    path = resources.files("nlp").joinpath(f"data/{name}.json")
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data
