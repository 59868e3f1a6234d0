"""Run every demand's examples, like unit tests for the rules (``newsmon check``)."""

from __future__ import annotations

__all__ = ["check_rules"]

from collections.abc import Sequence
from pathlib import Path

from monitor.errors import Problem, RuleError
from monitor.rulebook.load import load_rules


def check_rules(dirs: Sequence[Path]) -> list[Problem]:
    """Load the rules in ``dirs`` and run each demand's examples; every problem, or none."""
    try:
        rules = load_rules(dirs)
    except RuleError as exc:
        return list(exc.problems)
    # Imported here: monitor.match imports this package, so a top-level import would be a cycle.
    from monitor.match import match

    problems = []
    for example in rules.examples:
        found = [f for f in match(example.text, rules) if f.demand == example.demand]
        if example.should_match and not found:
            message = f"example gives no finding for '{example.demand}': {example.text!r}"
        elif found and not example.should_match:
            got = ", ".join(f"{f.actor} {f.stance}" for f in found)
            message = f"example must not match '{example.demand}' but gives {got}: {example.text!r}"
        else:
            continue
        problems.append(Problem(example.file, example.line, example.field, message))
    return problems
