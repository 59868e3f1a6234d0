"""Reloading config and rules together: all valid or nothing swapped, and what changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ConfigError, RuleError
from monitor.match import match
from monitor.reload import Changes, load_everything
from tests.test_rulebook import ACTORS, DEMAND, write


def setup(tmp_path: Path, rules: str, feeds: str = "[https://a.example/feed]") -> Path:
    write(tmp_path / "rules", "r.yaml", rules)
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"rules: [rules]\nfeeds: {feeds}\n")
    return config


class TestLoadEverything:
    def test_config_and_rules_load_together(self, tmp_path: Path) -> None:
        """A config names its rule directory; both come back validated."""
        loaded = load_everything(str(setup(tmp_path, ACTORS + DEMAND)))
        assert list(loaded.rules.demands) == ["ceasefire"]
        assert [f.url for f in loaded.config.feeds] == ["https://a.example/feed"]
        assert [f.actor for f in match("Moscow wants a truce.", loaded.rules)] == ["russia"]

    def test_a_broken_rule_is_refused_with_file_and_line(self, tmp_path: Path) -> None:
        """A bad edit raises with the file, line and field: the caller keeps what it had."""
        config = setup(tmp_path, ACTORS + DEMAND.replace("severity: medium", "severity: urgent"))
        with pytest.raises(RuleError) as caught:
            load_everything(str(config))
        (problem,) = caught.value.problems
        assert (problem.line, problem.field) == (11, "demands[0].severity")
        assert problem.file.endswith("r.yaml")

    def test_a_broken_config_is_refused(self, tmp_path: Path) -> None:
        """A bad config raises before any rule is looked at."""
        config = setup(tmp_path, ACTORS + DEMAND, feeds="[ftp://a.example/feed]")
        with pytest.raises(ConfigError):
            load_everything(str(config))

    def test_database_from_the_command_line_stays(self, tmp_path: Path) -> None:
        """A --db given at start-up survives a reload of a config that names none."""
        loaded = load_everything(str(setup(tmp_path, ACTORS + DEMAND)), database="/x/n.db")
        assert loaded.config.database == "/x/n.db"


class TestChanges:
    def test_rules_added_removed_and_changed(self, tmp_path: Path) -> None:
        """Renamed demand: one added, one removed; a new alias: that actor changed."""
        config = setup(tmp_path, ACTORS + DEMAND)
        old = load_everything(str(config))
        edited = ACTORS.replace("[Ukraine, Kyiv]", "[Ukraine, Kyiv, Kiev]") + DEMAND.replace(
            "id: ceasefire", "id: truce"
        )
        write(tmp_path / "rules", "r.yaml", edited)
        changes = Changes.between(old, load_everything(str(config)))
        assert changes.rules_added == ("demand:truce",)
        assert changes.rules_removed == ("demand:ceasefire",)
        assert changes.rules_changed == ("actor:ukraine",)

    def test_a_pattern_change_is_a_change(self, tmp_path: Path) -> None:
        """Same id and title, other words to match: the demand changed."""
        config = setup(tmp_path, ACTORS + DEMAND)
        old = load_everything(str(config))
        write(tmp_path / "rules", "r.yaml", ACTORS + DEMAND.replace("truce]", "truce, armistice]"))
        assert Changes.between(old, load_everything(str(config))).rules_changed == (
            "demand:ceasefire",
        )

    def test_feeds_added_and_removed(self, tmp_path: Path) -> None:
        """Feeds are compared by location."""
        config = setup(tmp_path, ACTORS + DEMAND)
        old = load_everything(str(config))
        config.write_text("rules: [rules]\nfeeds: [https://b.example/feed]\nworkers: 4\n")
        changes = Changes.between(old, load_everything(str(config)))
        assert changes.feeds_added == ("https://b.example/feed",)
        assert changes.feeds_removed == ("https://a.example/feed",)
        assert changes.restart_needed == ("workers",)

    def test_what_only_a_restart_applies_is_measured_from_the_start(self, tmp_path: Path) -> None:
        """A key a reload cannot apply is reported against the config the process started
        with, so that the next reload still reports it; new rule folders are loaded, but
        watched only after a restart."""
        config = setup(tmp_path, ACTORS + DEMAND)
        started = load_everything(str(config))
        (tmp_path / "more").mkdir()
        config.write_text(
            "rules: [rules, more]\nfeeds: [https://a.example/feed]\n"
            "endpoint: {port: 9999}\npolling: {failures_before_alert: 2}\n"
        )
        first = load_everything(str(config))
        assert Changes.between(started, first, started.config).restart_needed == (
            "endpoint",
            "rules",
        )
        again = load_everything(str(config))
        assert Changes.between(first, again, started.config).restart_needed == (
            "endpoint",
            "rules",
        )
        assert Changes.between(first, again).restart_needed == ()  # what it used to say

    def test_nothing_changed(self, tmp_path: Path) -> None:
        """Reloading the same files changes nothing."""
        config = str(setup(tmp_path, ACTORS + DEMAND))
        assert Changes.between(load_everything(config), load_everything(config)) == Changes()
