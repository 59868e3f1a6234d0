"""Load rule files: validate every file, then the set as a whole, then compile it.

Every problem is collected before anything is refused, so ops fix a broken file in one pass:
each names the file, the line and the field.
"""

from __future__ import annotations

__all__ = ["bundled_rules_dir", "load_rules"]

import dataclasses
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

import monitor
from monitor.errors import Problem, RuleError
from monitor.rulebook.compile import AGAINST, CUE_KINDS, Window, build_matcher
from monitor.rulebook.ruleset import Actor, Demand, Example, RuleSet
from monitor.rulebook.schema import (
    TAG_SUFFIX,
    ActorSpec,
    AliasSpec,
    AllPattern,
    AnyPattern,
    DemandSpec,
    FragmentPattern,
    NotPattern,
    Pattern,
    RuleFileSpec,
)
from monitor.rulebook.text import phrase_terms
from monitor.yamlfile import YamlDocument, YamlError, load_yaml, problems_from_validation

_SUFFIXES = (".yaml", ".yml")
_CUES_FILE = "cues.yaml"
PathKey = tuple[str | int, ...]


def bundled_rules_dir() -> Path:
    """The rule pack shipped with newsmon: inside the package when installed from a wheel,
    else the repository's top-level ``rules/`` (an editable install)."""
    package = Path(monitor.__file__).resolve().parent
    inside = package / "rules"
    return inside if inside.is_dir() else package.parent / "rules"


@dataclass(frozen=True)
class _File:
    doc: YamlDocument
    spec: RuleFileSpec
    text: str


def load_rules(dirs: Sequence[Path]) -> RuleSet:
    """Load every ``*.yaml``/``*.yml`` in ``dirs`` (each dir sorted by name) into a RuleSet.

    Raises :class:`~monitor.errors.RuleError` listing every problem found, each with its file,
    line and field. When no file has a ``cues`` section, the bundled ``cues.yaml`` applies.
    """
    paths, problems = _rule_files(dirs)
    files: list[_File] = []
    for path in paths:
        parsed, found = _parse(path)
        problems += found
        if parsed is not None:
            files.append(parsed)
    # A file that could not be read for its shape defines ids nobody can see: what the others
    # refer to (actors, fragments) is checked once it reads, not reported missing meanwhile.
    shapeless = len(files) < len(paths)
    defaults = bundled_rules_dir() / _CUES_FILE
    loaded = {p.resolve() for p in paths}
    if (
        all(f.spec.cues is None for f in files)
        and defaults.is_file()
        and defaults.resolve() not in loaded
    ):
        parsed, found = _parse(defaults)
        problems += found
        if parsed is not None:
            files.append(parsed)
    problems += _duplicates(files)
    fragments, found = _fragments(files)
    if not shapeless:
        problems += _unknown_targets(files) + found
    if problems:
        raise RuleError(sorted(problems, key=lambda p: (p.file, p.line or 0, p.field)))
    return _build(files, fragments)


def _rule_files(dirs: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    paths: list[Path] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for folder in dirs:
        if not Path(folder).is_dir():
            problems.append(Problem(str(folder), None, "", "not a directory"))
            continue
        for path in sorted(Path(folder).iterdir()):
            # The same folder given twice must not look like every id defined twice.
            if path.suffix in _SUFFIXES and path.is_file() and path.resolve() not in seen:
                seen.add(path.resolve())
                paths.append(path)
    if not paths and not problems:
        where = ", ".join(str(d) for d in dirs) or "(no directories given)"
        problems.append(Problem(where, None, "", "no rule files (*.yaml, *.yml) found"))
    return paths, problems


def _parse(path: Path) -> tuple[_File | None, list[Problem]]:
    """One file on its own: YAML, schema and patterns."""
    try:
        text = path.read_text(encoding="utf-8")
        doc = load_yaml(path, text)
    except (OSError, UnicodeDecodeError):
        text = ""
        try:
            doc = load_yaml(path)  # says why in its own words, with the file's name
        except YamlError as exc:
            return None, list(exc.problems)
    except YamlError as exc:
        return None, list(exc.problems)
    problems = list(doc.duplicates)
    if doc.data is None:
        return None, [*problems, Problem(doc.path, None, "", "the file is empty")]
    if not isinstance(doc.data, dict):
        message = "a rule file is a mapping with actors, demands and cues"
        return None, [*problems, Problem(doc.path, doc.lines.line(()), "", message)]
    try:
        spec = RuleFileSpec.model_validate(doc.data)
    except ValidationError as exc:
        return None, problems + [_tidy(p) for p in problems_from_validation(doc, exc)]
    problems += _phrase_problems(doc, spec)
    return _File(doc, spec, text), problems


def _tidy(problem: Problem) -> Problem:
    """Say pydantic's complaints in ops' words."""
    field = ".".join(p for p in problem.field.split(".") if not p.endswith(TAG_SUFFIX))
    message = problem.message.removeprefix("Value error, ")
    if message.startswith("String should match pattern"):
        message = "an id is lower-case words joined by hyphens, like ukraine-nato-ban"
    return dataclasses.replace(problem, field=field, message=message)


def _field(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(doc: YamlDocument, path: PathKey, message: str) -> Problem:
    return Problem(doc.path, doc.lines.line(path), _field(path), message)


def _phrase_problems(doc: YamlDocument, spec: RuleFileSpec) -> list[Problem]:
    """Phrases without a word, and ``not`` outside ``all``: what the schema cannot see."""
    problems: list[Problem] = []
    for i, actor in enumerate(spec.actors):
        for j, alias in enumerate(actor.aliases):
            if not phrase_terms(_name(alias)):
                problems.append(_problem(doc, ("actors", i, "aliases", j), "alias has no words"))
    for i, demand in enumerate(spec.demands):
        problems += _pattern_problems(doc, demand.match, ("demands", i, "match"), inside_all=False)
        if demand.against is not None:
            path: PathKey = ("demands", i, "against")
            problems += _pattern_problems(doc, demand.against, path, inside_all=False)
    for name, fragment in spec.fragments.items():
        problems += _pattern_problems(doc, fragment, ("fragments", name), inside_all=False)
    if spec.cues is not None:
        for kind in CUE_KINDS:
            for j, phrase in enumerate(getattr(spec.cues, kind)):
                if not phrase_terms(phrase):
                    problems.append(_problem(doc, ("cues", kind, j), "cue has no words"))
    return problems


# " - " inside a plain phrase: a list item indented deeper than the one before it, which YAML
# folds into the phrase above rather than refusing.
_RUN_TOGETHER = re.compile(r"\s-\s")


def _pattern_problems(
    doc: YamlDocument, pattern: Pattern, path: PathKey, *, inside_all: bool
) -> list[Problem]:
    if isinstance(pattern, str):
        if not phrase_terms(pattern):
            return [_problem(doc, path, "phrase has no words")]
        if _RUN_TOGETHER.search(pattern):
            # "- grain deal" indented under "- grain corridor" is YAML for one phrase.
            message = (
                f"{pattern!r} looks like list items run together: indent each '- ' item "
                "like the one above it"
            )
            return [_problem(doc, path, message)]
        return []
    if isinstance(pattern, FragmentPattern):
        return []  # checked once every file is read: see _fragments
    if isinstance(pattern, NotPattern):
        problems = (
            [] if inside_all else [_problem(doc, (*path, "not"), "'not' stands only in 'all'")]
        )
        return problems + _pattern_problems(doc, pattern.not_, (*path, "not"), inside_all=False)
    if isinstance(pattern, AnyPattern):
        parts, key = pattern.any, "any"
    else:
        assert isinstance(pattern, AllPattern)
        parts, key = pattern.all, "all"
    problems = []
    if key == "all" and all(isinstance(p, NotPattern) for p in parts):
        problems.append(_problem(doc, (*path, key), "'all' needs a part that is not 'not'"))
    for j, part in enumerate(parts):
        problems += _pattern_problems(doc, part, (*path, key, j), inside_all=key == "all")
    return problems


def _refs(pattern: Pattern, path: PathKey) -> Iterator[tuple[PathKey, str]]:
    """Every fragment a pattern names, with where it names it."""
    if isinstance(pattern, FragmentPattern):
        yield (*path, "fragment"), pattern.fragment
    elif isinstance(pattern, NotPattern):
        yield from _refs(pattern.not_, (*path, "not"))
    elif isinstance(pattern, AnyPattern | AllPattern):
        key = "any" if isinstance(pattern, AnyPattern) else "all"
        parts = pattern.any if isinstance(pattern, AnyPattern) else pattern.all
        for j, part in enumerate(parts):
            yield from _refs(part, (*path, key, j))


def _unknown_targets(files: list[_File]) -> list[Problem]:
    """A demand's ``targets`` must name actors some rule file defines."""
    actors = {a.id for f in files for a in f.spec.actors}
    return [
        _problem(f.doc, ("demands", i, "targets", j), f"no actor with id '{target}'")
        for f in files
        for i, demand in enumerate(f.spec.demands)
        for j, target in enumerate(demand.targets)
        if target not in actors
    ]


def _fragments(files: list[_File]) -> tuple[dict[str, Pattern], list[Problem]]:
    """The named fragments of all files, and every misuse: a name defined twice, a name that
    no file defines, a fragment that contains itself."""
    fragments: dict[str, Pattern] = {}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    for file in files:
        for name, fragment in file.spec.fragments.items():
            path: PathKey = ("fragments", name)
            if name in fragments:
                message = f"fragment '{name}' is already defined at {where[name]}"
                problems.append(_problem(file.doc, path, message))
                continue
            fragments[name] = fragment
            where[name] = f"{file.doc.path}:{file.doc.lines.line(path)}"
    for file in files:
        uses: list[tuple[PathKey, Pattern]] = [
            (("fragments", n), p) for n, p in file.spec.fragments.items()
        ]
        for i, demand in enumerate(file.spec.demands):
            uses.append((("demands", i, "match"), demand.match))
            if demand.against is not None:
                uses.append((("demands", i, "against"), demand.against))
        for path, pattern in uses:
            for ref_path, name in _refs(pattern, path):
                if name not in fragments:
                    problems.append(_problem(file.doc, ref_path, f"no fragment named '{name}'"))
    for name in fragments:
        if _cycle(name, fragments, ()):
            file_path, _, line = where[name].rpartition(":")
            problems.append(
                Problem(file_path, int(line), f"fragments.{name}", "fragment refers to itself")
            )
    return fragments, problems


def _cycle(name: str, fragments: dict[str, Pattern], stack: tuple[str, ...]) -> bool:
    if name in stack:
        return True
    pattern = fragments.get(name)
    if pattern is None:
        return False
    return any(_cycle(ref, fragments, (*stack, name)) for _, ref in _refs(pattern, ()))


def _resolve(pattern: Pattern, fragments: dict[str, Pattern]) -> Pattern:
    """The pattern with every fragment written out in its place."""
    if isinstance(pattern, FragmentPattern):
        return _resolve(fragments[pattern.fragment], fragments)
    if isinstance(pattern, NotPattern):
        return NotPattern.model_validate({"not": _resolve(pattern.not_, fragments)})
    if isinstance(pattern, AnyPattern):
        return AnyPattern(any=[_resolve(p, fragments) for p in pattern.any])
    if isinstance(pattern, AllPattern):
        return AllPattern(all=[_resolve(p, fragments) for p in pattern.all], near=pattern.near)
    return pattern


def _duplicates(files: list[_File]) -> list[Problem]:
    """Ids defined twice and aliases claimed by two actors, across all files."""
    problems: list[Problem] = []
    seen: dict[tuple[str, str], str] = {}
    aliases: dict[tuple[str, ...], tuple[str, str]] = {}
    for file in files:
        doc = file.doc
        ids = [("actor", a.id) for a in file.spec.actors] + [
            ("demand", d.id) for d in file.spec.demands
        ]
        counts = {"actor": 0, "demand": 0}
        for kind, id_ in ids:
            path: PathKey = (f"{kind}s", counts[kind], "id")
            counts[kind] += 1
            first = seen.get((kind, id_))
            if first is None:
                seen[(kind, id_)] = f"{doc.path}:{doc.lines.line(path)}"
            else:
                message = f"duplicate {kind} id '{id_}' (first defined at {first})"
                problems.append(_problem(doc, path, message))
        for i, actor in enumerate(file.spec.actors):
            for j, alias in enumerate(actor.aliases):
                path = ("actors", i, "aliases", j)
                owner, where = aliases.setdefault(
                    phrase_terms(_name(alias)), (actor.id, f"{doc.path}:{doc.lines.line(path)}")
                )
                if owner != actor.id:
                    message = (
                        f"alias '{_name(alias)}' is already claimed by actor '{owner}' at {where}"
                    )
                    problems.append(_problem(doc, path, message))
    return problems


def _build(files: list[_File], fragments: dict[str, Pattern]) -> RuleSet:
    actors = {
        a.id: Actor(
            a.id,
            a.name,
            tuple(dict.fromkeys(_name(alias) for alias in a.aliases)),
            tuple((x.name, x.from_, x.until) for x in a.aliases if isinstance(x, AliasSpec)),
        )
        for f in files
        for a in f.spec.actors
    }
    demands = {
        d.id: Demand(d.id, d.title, d.description.strip(), d.severity, frozenset(d.targets))
        for f in files
        for d in f.spec.demands
    }
    cues: dict[str, tuple[str, ...]] = {}
    for kind in CUE_KINDS:
        phrases = (p for f in files if f.spec.cues for p in getattr(f.spec.cues, kind))
        cues[kind] = tuple(dict.fromkeys(phrases))
    patterns: dict[str, Pattern] = {}
    for file in files:
        for d in file.spec.demands:
            patterns[d.id] = _resolve(d.match, fragments)
            if d.against is not None:
                patterns[d.id + AGAINST] = _resolve(d.against, fragments)
    windows: dict[str, list[Window]] = {}
    capitalized: set[str] = set()
    for file in files:
        for actor in file.spec.actors:
            for alias in actor.aliases:
                if isinstance(alias, AliasSpec):
                    windows.setdefault(alias.name, []).append((alias.from_, alias.until))
                    if alias.capitalized:
                        capitalized.add(alias.name)
                else:
                    windows.setdefault(alias, []).append((None, None))
    matcher = build_matcher(
        {a.id: a.aliases for a in actors.values()},
        patterns,
        cues,
        windows=windows,
        capitalized=capitalized,
    )
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.text.encode("utf-8") + b"\0")
    # What each rule says, so a reload can tell which rules it added, removed or changed.
    digests = {f"actor:{a.id}": _digest(a) for f in files for a in f.spec.actors}
    digests.update({f"demand:{d.id}": _digest(d) for f in files for d in f.spec.demands})
    digests["cues"] = hashlib.sha256(repr(sorted(cues.items())).encode("utf-8")).hexdigest()[:12]
    return RuleSet(
        actors=actors,
        demands=demands,
        version=digest.hexdigest()[:12],
        files=tuple(f.doc.path for f in files),
        matcher=matcher,
        cues=cues,
        examples=tuple(_examples(files)),
        digests=digests,
    )


def _name(alias: str | AliasSpec) -> str:
    return alias if isinstance(alias, str) else alias.name


def _digest(spec: ActorSpec | DemandSpec) -> str:
    return hashlib.sha256(spec.model_dump_json().encode("utf-8")).hexdigest()[:12]


def _examples(files: list[_File]) -> list[Example]:
    found = []
    for file in files:
        for i, demand in enumerate(file.spec.demands):
            for key, should in (("match", True), ("no_match", False)):
                for j, text in enumerate(getattr(demand.examples, key)):
                    path: PathKey = ("demands", i, "examples", key, j)
                    line = file.doc.lines.line(path)
                    found.append(
                        Example(demand.id, text, should, file.doc.path, line, _field(path))
                    )
    return found
