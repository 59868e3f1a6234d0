"""The rule set in force, and reloading it without ever losing it.

The daemon holds one :class:`RuleBook`. On a file change or SIGHUP it calls
:meth:`RuleBook.reload`: a good edit replaces the rules and says which actors and demands
were added, removed or changed; a bad one leaves the last good rules in force and returns the
problems (file, line, field) for the log and for ops.
"""

from __future__ import annotations

__all__ = ["ReloadResult", "RuleBook"]

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import Problem, RuleError
from monitor.rulebook.load import load_rules
from monitor.rulebook.ruleset import RuleSet


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did. ``ok`` is false when the rules were refused (``problems`` says why)
    and the previous version stays in force; ``version`` is the version in force after it.

    ``added``, ``removed`` and ``changed`` name rules as ``actor:<id>`` or ``demand:<id>``.
    """

    ok: bool
    version: str
    previous: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def unchanged(self) -> bool:
        """Whether the rules in force are the same as before."""
        return self.version == self.previous

    def summary(self) -> str:
        """One line for the log or an ops notice: what changed, or why nothing did."""
        if not self.ok:
            reasons = "; ".join(str(p) for p in self.problems)
            return f"rules refused, version {self.version} stays in force: {reasons}"
        if self.unchanged:
            return f"rules unchanged (version {self.version})"
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
            )
            if names
        ]
        what = "; ".join(parts) or "wording only"
        return f"rules reloaded, version {self.previous} -> {self.version}: {what}"


class RuleBook:
    """The rules loaded from ``dirs``: :attr:`rules` is always a good, compiled set.

    The first load raises :class:`~monitor.errors.RuleError` (there is nothing to fall back
    on); every reload after it returns a :class:`ReloadResult` instead.
    """

    def __init__(self, dirs: Sequence[Path]) -> None:
        self.dirs = tuple(dirs)
        self._rules = load_rules(self.dirs)

    @property
    def rules(self) -> RuleSet:
        """The rule set in force."""
        return self._rules

    def reload(self) -> ReloadResult:
        """Load the rule files again; keep the new set only when every file is valid."""
        old = self._rules
        try:
            new = load_rules(self.dirs)
        except RuleError as exc:
            return ReloadResult(False, old.version, old.version, problems=tuple(exc.problems))
        self._rules = new
        before, after = old.digests, new.digests
        return ReloadResult(
            True,
            new.version,
            old.version,
            added=tuple(sorted(after.keys() - before.keys())),
            removed=tuple(sorted(before.keys() - after.keys())),
            changed=tuple(sorted(k for k in after.keys() & before.keys() if after[k] != before[k])),
        )
