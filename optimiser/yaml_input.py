"""Reading the planners' YAML files (scenarios, cost assumptions) with clear errors.

Both kinds of file are validated by pydantic models with ``extra="forbid"``; this module turns the
first problem pydantic finds into one :class:`~optimiser.errors.ScenarioError` that names the
file, the dotted key, the bad value and the fix, with close-match suggestions for a misspelt key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from optimiser.errors import ScenarioError
from optimiser.files import suggest

# pydantic puts union members into an error's location (e.g. 'float' or 'UrbanRural' for
# ``threshold_minutes: float | UrbanRural``); they are not keys the user wrote.
_UNION_MEMBERS = ("UrbanRural", "float", "int", "constrained-float")


class KeyedValueError(ValueError):
    """A model-level check that knows which key it is about (raised inside validators)."""

    def __init__(self, key: str, value: Any, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.key, self.value, self.problem, self.hint = key, value, problem, hint


def read_yaml_mapping(path: str | Path, *, what: str, example: str) -> dict:
    """Read a YAML file that must hold a mapping of keys to values.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for messages (e.g. ``"scenario file"``).
    example
        How such a file starts or where to see one, for the hints.
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"the {what} does not exist", file=path,
                            hint=f"check the path ({example})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"the file is not valid YAML{where}", file=path,
                            hint="check indentation and colons (key: value)") from None
    except UnicodeDecodeError:
        raise ScenarioError("the file is not UTF-8 text", file=path) from None
    if not isinstance(data, dict):
        raise ScenarioError(f"the {what} must be a YAML mapping of keys to values", file=path,
                            hint=example)
    return data


def model_fields_at(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """Known keys at ``path`` inside ``model`` (for close-match suggestions of an unknown key)."""
    current: Any = model
    for part in path:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        candidates = [a for a in getattr(ann, "__args__", (ann,))
                      if isinstance(a, type) and issubclass(a, BaseModel)]
        current = candidates[0] if candidates else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def validation_error(
    exc: ValidationError,
    model: type[BaseModel],
    file: Path | None,
    *,
    hints: Mapping[str, str],
    missing_hint: str,
    default_hint: str,
) -> ScenarioError:
    """One clear :class:`ScenarioError` for the first problem in a pydantic ``ValidationError``.

    An unknown key is reported before anything else, because it is usually a misspelt known key
    (which then also shows up as "missing").

    Parameters
    ----------
    hints
        Fix hints by dotted key (e.g. ``{"solver.gap": "a share between 0 and 1"}``).
    missing_hint
        Hint for a required key that is absent (when ``hints`` has none for it).
    default_hint
        Hint for any other bad value (when ``hints`` has none for it).
    """
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in _UNION_MEMBERS))
    key = ".".join(str(p) for p in loc if not isinstance(p, int)) or None
    value = err.get("input")
    etype = err["type"]
    ctx = err.get("ctx") or {}
    if etype == "extra_forbidden":
        known = model_fields_at(model, tuple(p for p in loc[:-1] if not isinstance(p, int)))
        close = suggest(str(loc[-1]), known)
        hint = f"did you mean '{close[0]}'? " if close else ""
        hint += f"keys allowed here: {', '.join(known)}" if known else "remove it"
        return ScenarioError(f"unknown key '{loc[-1]}'", file=file, key=key, hint=hint)
    if etype == "missing":
        return ScenarioError("this key is required", file=file, key=key,
                             hint=hints.get(key or "", missing_hint))
    if etype == "value_error" and isinstance(ctx.get("error"), KeyedValueError):
        kv: KeyedValueError = ctx["error"]
        return ScenarioError(kv.problem, file=file, key=kv.key, hint=kv.hint)
    msg = err["msg"].removeprefix("Value error, ")
    if etype == "value_error":
        # A validator's own sentence already says what is wrong with the value.
        return ScenarioError(msg, file=file, key=key, hint=hints.get(key or "", default_hint))
    shown = repr(value) if not isinstance(value, dict) else "a mapping"
    hint = hints.get(key or "")
    if hint is None:
        if etype == "finite_number":
            hint = "give an ordinary number (not .nan or .inf)"
        elif etype.startswith(("greater", "less")):
            hint = f"the value must be {msg.replace('Input should be ', '')}"
        elif "type" in etype or etype.endswith("_parsing"):
            hint = f"expected {msg.replace('Input should be ', '')}"
        else:
            hint = default_hint
    return ScenarioError(f"{shown} is not allowed: {msg}", file=file, key=key, hint=hint)
