"""Reading the planners' YAML files (scenarios, cost assumptions) with clear errors.

Both kinds of file are validated by pydantic models with ``extra="forbid"``; this module turns the
first problem pydantic finds into one :class:`~optimiser.errors.ScenarioError` that names the
file, the dotted key, the bad value and the fix, with close-match suggestions for a misspelt key.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from optimiser.errors import ScenarioError
from optimiser.files import binary_kind, suggest

# pydantic puts union members into an error's location (e.g. 'float' or 'UrbanRural' for
# ``threshold_minutes: float | UrbanRural``); they are not keys the user wrote.
_UNION_MEMBERS = ("UrbanRural", "float", "int", "constrained-float")


class KeyedValueError(ValueError):
    """A model-level check that knows which key it is about (raised inside validators)."""

    def __init__(self, key: str, value: Any, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.key, self.value, self.problem, self.hint = key, value, problem, hint


#: Largest YAML file read (bytes). A scenario is a page of settings; even a forced network of
#: thousands of site ids is well under this. A larger file is refused before it is parsed.
MAX_YAML_BYTES = 1_000_000
#: Most values a YAML file may hold once its aliases (``*name``) are expanded. Anchors and aliases
#: are allowed for shared settings, but an "alias bomb" (aliases of aliases) would expand to
#: billions of values and take the machine's memory; it is refused without expanding it.
MAX_YAML_NODES = 100_000


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicated keys (YAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<: *defaults' merges keys on purpose
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: SafeLoader reports it itself
            if first is not None:
                raise _DuplicateKey(str(key), first, line)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    def __init__(self, key: str, first: int, second: int) -> None:
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


def _expanded_size(root: yaml.Node) -> int | None:
    """How many values the document holds with every alias expanded (counted, not built);
    None when an alias refers to a block that holds it (it would expand for ever)."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose children are still being counted
    # Post-order over the node graph; a node reached through several aliases is counted once
    # per use by multiplying, never by walking it again.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if done or not children:
            sizes[id(node)] = min(1 + sum(sizes.get(id(c), 0) for c in children),
                                  MAX_YAML_NODES + 1)
            open_.discard(id(node))
            continue
        if id(node) in open_:
            return None  # reached again while counting its own children: a cycle
        open_.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def read_yaml_mapping(path: str | Path, *, what: str, example: str) -> dict:
    """Read a YAML file that must hold a mapping of keys to values.

    Refused with one :class:`ScenarioError`: a missing or oversized file, text that is not
    UTF-8 (with a hint for Excel's and Notepad's other encodings), invalid YAML (with its line),
    a key given twice (naming both lines), and aliases that expand past
    :data:`MAX_YAML_NODES` values.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for messages (e.g. ``"scenario file"``).
    example
        How such a file starts or where to see one, for the hints.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.yaml"
    >>> _ = p.write_text("budget: 1\\nname: a\\nbudget: 2\\n")
    >>> try:
    ...     read_yaml_mapping(p, what="scenario file", example="")
    ... except ScenarioError as err:
    ...     print(err.problem)
    'budget' is given twice (lines 1 and 3); YAML would silently keep the last
    """
    path = Path(path)
    if path.is_dir():
        raise ScenarioError(f"expected a {what}, found a folder", file=path,
                            hint=f"give the YAML file itself ({example})")
    if not path.is_file():
        raise ScenarioError(f"the {what} does not exist", file=path,
                            hint=f"check the path ({example})")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise ScenarioError(
            f"the {what} is {size / 1e6:.1f} MB, too large for a settings file (at most "
            f"{MAX_YAML_BYTES / 1e6:g} MB)", file=path,
            hint="a scenario is a page of settings; tables of areas or sites belong in the "
            "instance's CSV files")
    raw = path.read_bytes()
    kind = binary_kind(raw)
    if kind is not None:
        raise ScenarioError(f"the {what} is {kind}, not UTF-8 text", file=path,
                            hint="save it as UTF-8 (in Notepad: Save as > Encoding: UTF-8)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ScenarioError(
            f"the {what} is not UTF-8 text (byte {exc.start}, on line {line}, cannot be read)",
            file=path,
            hint="save it as UTF-8 (in Notepad: Save as > Encoding: UTF-8); it looks like "
            "Windows-1252 or Latin-1, as older editors write accents and the £ sign") from None
    data = _parse(text, path, what)
    if not isinstance(data, dict):
        raise ScenarioError(f"the {what} must be a YAML mapping of keys to values", file=path,
                            hint=example)
    return data


def _parse(text: str, path: Path, what: str) -> Any:
    """The YAML document in ``text``; every way it can fail is one :class:`ScenarioError`."""
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        size = _expanded_size(root)
        if size is None:
            raise ScenarioError(
                f"the {what} has an alias (*name) inside the block its anchor (&name) names, "
                "so it would repeat for ever", file=path,
                hint="write the values out, or put the anchor on a block that does not use it")
        if size > MAX_YAML_NODES:
            raise ScenarioError(
                f"the {what} expands to more than {MAX_YAML_NODES:,} values through its "
                "aliases (*name), far more than any scenario needs", file=path,
                hint="write the values out, or use an anchor (&name) only for a small block "
                "of shared settings")
        return loader.construct_document(root)
    except _DuplicateKey as dup:
        raise ScenarioError(
            f"'{dup.key}' is given twice (lines {dup.first} and {dup.second}); YAML would "
            "silently keep the last", file=path, key=dup.key,
            hint="keep one of them and delete the other") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in str(exc.problem):
            # Safe loading refuses tags such as !!python/object: say so, not "indentation".
            raise ScenarioError(f"the file uses a YAML tag (a word after '!'){where}, which "
                                "a scenario cannot hold", file=path,
                                hint="write plain values (numbers, text, lists and key: value "
                                "pairs) without '!' tags") from None
        raise ScenarioError(f"the file is not valid YAML{where}", file=path,
                            hint="check indentation and colons (key: value)") from None
    except RecursionError:
        raise ScenarioError(f"the {what} is nested too deeply to be a scenario", file=path,
                            hint="check the brackets: a settings file is a few levels deep"
                            ) from None
    finally:
        loader.dispose()


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


def _shown(value: Any, limit: int = 60) -> str:
    """A bad value as the message quotes it: short, never the whole of a large list."""
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "an empty value (nothing after the colon)"
    if isinstance(value, (list, tuple)) and len(value) > 5:
        return f"a list of {len(value)} values"
    if isinstance(value, datetime.date):
        # YAML reads 2026-01-01 as a date: quote it as written, not as Python's repr
        return f"the date {value.isoformat()}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
    # pydantic names the settings class ("… or instance of UrbanRural"): not the user's words.
    msg = re.sub(r" or instance of \w+", "", err["msg"].removeprefix("Value error, "))
    if etype == "value_error":
        # A validator's own sentence already says what is wrong with the value.
        return ScenarioError(msg, file=file, key=key, hint=hints.get(key or "", default_hint))
    shown = _shown(value)
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
