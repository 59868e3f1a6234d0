"""Near-duplicate fingerprints: copies score above the threshold, other stories below."""

from __future__ import annotations

import subprocess
import sys

from monitor.deltas import NEAR_DUPLICATE
from monitor.fingerprint import SIZE, similarity, sketch

STORY = (
    "Moscow demands that Ukraine never join NATO, the Kremlin said on Monday. The statement "
    "came after talks in Geneva ended without progress. Diplomats said the two sides would meet "
    "again next week to discuss security arrangements in Europe, and officials in Kyiv declined "
    "to comment on the prospects."
)
OTHER = (
    "Ukraine's president said on Tuesday that Kyiv would not give up its hope of joining NATO, "
    "speaking to parliament as air-raid sirens sounded across the capital and the government "
    "prepared a new package of support for families displaced by the fighting in the east."
)


class TestSketch:
    def test_identical_texts_are_identical(self) -> None:
        """The same text twice scores 1."""
        assert similarity(sketch(STORY), sketch(STORY)) == 1.0

    def test_a_re_headlined_copy_is_a_near_duplicate(self) -> None:
        """A dateline and a credit line added keep a copy above the threshold."""
        copy = "GENEVA (Wire) - " + STORY + " Reporting by Jane Doe; editing by John Roe."
        assert similarity(sketch(STORY), sketch(copy)) >= NEAR_DUPLICATE

    def test_another_story_on_the_same_topic_is_not(self) -> None:
        """Shared names (Ukraine, NATO, Kyiv) do not make a copy."""
        assert similarity(sketch(STORY), sketch(OTHER)) < NEAR_DUPLICATE

    def test_sketch_is_bounded(self) -> None:
        """At most SIZE hashes, whatever the length of the text."""
        assert len(sketch(STORY * 50 + OTHER)) <= SIZE
        assert similarity(sketch(""), sketch(STORY)) == 0.0

    def test_sketch_is_the_same_in_another_process(self) -> None:
        """No salted hash: a sketch stored by one run compares with the next run's."""
        code = (
            "import sys; from monitor.fingerprint import sketch; "
            "print(list(sketch(sys.stdin.read())))"
        )
        other = subprocess.run(
            [sys.executable, "-c", code],
            input=STORY,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": "12345"},
        )
        assert other.stdout.strip() == str(list(sketch(STORY)))
