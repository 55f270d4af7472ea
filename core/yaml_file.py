"""The project's YAML config files (rule catalog, policy, feed mappings, routing, follow-up).

Parsed with libyaml's safe loader when PyYAML has it (about ten times the pure-Python one):
the catalog, the policy and every mapping are read on each daily run."""
from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAMLError = yaml.YAMLError


def load_yaml(source: str | bytes | IO) -> Any:
    """yaml.safe_load, on libyaml when available."""
    return yaml.load(source, Loader=_LOADER)   # noqa: S506 - a safe loader


def read_yaml(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return load_yaml(fh)
