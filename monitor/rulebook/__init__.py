"""Rule files: load, validate and compile the actors, demands and cues that matching uses.

``load_rules`` turns a set of YAML files into a :class:`RuleSet` (or a
:class:`~monitor.errors.RuleError` that lists every problem with file, line and field);
``check_rules`` also runs each demand's examples; ``bundled_rules_dir`` is the shipped pack.
Reloading (rules together with the config, keeping the last good set) is
:mod:`monitor.reload`'s.
"""

from __future__ import annotations

__all__ = [
    "Actor",
    "Demand",
    "Example",
    "RuleSet",
    "bundled_rules_dir",
    "check_rules",
    "load_rules",
]

from monitor.rulebook.check import check_rules
from monitor.rulebook.load import bundled_rules_dir, load_rules
from monitor.rulebook.ruleset import Actor, Demand, Example, RuleSet
