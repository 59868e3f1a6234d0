"""Safe YAML loading that remembers where each value came from.

Ops edit YAML by hand, so every complaint must name the file and line. ``load_yaml`` parses
with ``yaml.SafeLoader`` only and returns the data together with a map from each value's path
(keys and list indices) to its line, and ``problems_from_validation`` turns pydantic's errors
into :class:`~monitor.errors.Problem` objects that carry those lines.
"""

from __future__ import annotations

__all__ = ["LineMap", "YamlDocument", "load_yaml", "problems_from_validation"]

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.errors import Problem

PathKey = tuple[str | int, ...]


class LineMap:
    """Lines of the values in one YAML document, addressed by their path."""

    def __init__(self, lines: dict[PathKey, int]) -> None:
        self._lines = lines

    def has(self, path: Sequence[str | int]) -> bool:
        """Whether the document wrote a value at exactly ``path``."""
        return tuple(path) in self._lines

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its nearest enclosing value that has one."""
        key = tuple(path)
        while True:
            if key in self._lines:
                return self._lines[key]
            if not key:
                return None
            key = key[:-1]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: its data, where it lives, and where each value was written."""

    path: str
    data: Any
    lines: LineMap
    duplicates: tuple[Problem, ...] = ()


def _walk(
    node: yaml.Node, path: PathKey, lines: dict[PathKey, int], dups: list[tuple[PathKey, int]]
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                dups.append(((*path, key), key_node.start_mark.line + 1))
            seen.add(key)
            _walk(value_node, (*path, key), lines, dups)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, dups)


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that leaves dates and times as text: the schema parses them, so an
    impossible one ("2023-02-30") is a problem with file, line and field, where PyYAML would
    raise a bare ValueError with neither."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: str | Path, text: str | None = None) -> YamlDocument:
    """Parse one YAML file safely; a syntax error becomes a :class:`Problem` with its line.

    Raises ``ValueError`` carrying a list of problems when the file cannot be read or parsed.
    """
    name = str(path)
    try:
        if text is None:
            text = Path(path).read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_Loader)
        root = yaml.compose(text, Loader=_Loader)
    except OSError as exc:
        raise YamlError([Problem(name, None, "", f"cannot read: {exc.strerror or exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise YamlError([Problem(name, None, "", f"not UTF-8 text: {exc.reason}")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        if "'\\t'" in what:
            what += " (indent with spaces, never tabs)"
        raise YamlError([Problem(name, line, "", f"invalid YAML: {what}")]) from exc
    lines: dict[PathKey, int] = {}
    dups: list[tuple[PathKey, int]] = []
    if root is not None:
        _walk(root, (), lines, dups)
    duplicates = tuple(
        Problem(name, line, _dotted(p), "key appears twice; the first value would be lost")
        for p, line in dups
    )
    return YamlDocument(name, data, LineMap(lines), duplicates)


class YamlError(ValueError):
    """A YAML file could not be read or parsed; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _dotted(path: Sequence[str | int]) -> str:
    out = ""
    part: str | int
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def problems_from_validation(
    doc: YamlDocument, exc: ValidationError, prefix: Sequence[str | int] = ()
) -> list[Problem]:
    """Translate pydantic's errors on ``doc``'s data into problems naming file, line and field."""
    problems = []
    for err in exc.errors():
        raw = tuple(prefix) + tuple(p for p in err["loc"] if isinstance(p, str | int))
        # pydantic inserts the tag of a tagged union ("slack", "email") into the path: drop a
        # part the document does not have when the part after it is there.
        loc: tuple[str | int, ...] = ()
        for i, part in enumerate(raw):
            if (
                not doc.lines.has((*loc, part))
                and i + 1 < len(raw)
                and doc.lines.has((*loc, raw[i + 1]))
            ):
                continue
            loc += (part,)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(Problem(doc.path, doc.lines.line(loc), _dotted(loc), message))
    return problems
