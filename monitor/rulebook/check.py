"""Run every demand's examples, like unit tests for the rules (``newsmon check``)."""

from __future__ import annotations

__all__ = ["check_rules"]

from collections.abc import Sequence
from pathlib import Path

from monitor.errors import Problem, RuleError
from monitor.rulebook.load import load_rules
from monitor.rulebook.patterns import find
from monitor.rulebook.ruleset import RuleSet


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
            message = (
                f"example gives no finding for '{example.demand}': {example.text!r}: "
                + _why_not(example.text, example.demand, rules)
            )
        elif found and not example.should_match:
            got = ", ".join(f"{f.actor} {f.stance}" for f in found)
            message = f"example must not match '{example.demand}' but gives {got}: {example.text!r}"
        else:
            continue
        problems.append(Problem(example.file, example.line, example.field, message))
    return problems


def _why_not(text: str, demand: str, rules: RuleSet) -> str:
    """What a sentence lacks for a finding, so that ops know whether to fix the pattern, the
    cues or the actors: the demand's words, a cue word, a named actor, or the voice."""
    from monitor.match import STANCE_KINDS  # here, as above: an import cycle otherwise

    scan = rules.matcher.scan(text)
    pattern = rules.matcher.patterns[demand]
    holding = [s for s in scan.sentences if find(pattern, s.hits)]
    if not holding:
        return "its pattern does not hold here (no way to match it is complete)"
    if not any(STANCE_KINDS & s.kinds for s in holding):
        return "its words are here, but no cue word (demand, insist, reject, drop, ...) is"
    if not any(s.mentions for s in holding):
        return "its words and a cue are here, but no actor of the rules is named"
    return (
        "its words, a cue and an actor are here, but the actor does not voice it (a target, "
        "the object of a preposition, or in another clause)"
    )
