"""Reading the editable data files in ``models/`` (YAML), with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import CallscanError


def read_yaml(path: Path, what: str, hint: str | None = None) -> Any:
    """Parse a YAML file; an unreadable or invalid file raises CallscanError naming ``what``."""
    import yaml

    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise CallscanError(f"cannot read {what} {path}: {e.strerror}", hint=hint) from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise CallscanError(f"{what} {path} is not valid YAML: {e}", hint=hint) from None
