"""Rendering deltas for people: headlines, plain text, HTML, Slack payloads, email subjects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.alerts.render import (
    HEADLINE_WIDTH,
    KIND_LABELS,
    headline,
    render_html,
    render_slack,
    render_text,
    subject,
)
from monitor.model import DELTA_KINDS
from tests.alerting import make_delta


def slack_texts(payload: dict[str, Any]) -> str:
    """Every mrkdwn text in a Slack payload, joined, to search in."""
    texts: list[str] = []
    for block in payload["blocks"]:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts.extend(element["text"] for element in block["elements"])
    return "\n".join(texts)


class TestHeadline:
    @pytest.mark.parametrize(
        ("kind", "expected"),
        [
            ("new_condition", "New condition: Russia → Ukraine barred from NATO"),
            ("demand_repeated", "Demand repeated: Russia → Ukraine barred from NATO"),
            ("demand_resurfaced", "Demand resurfaced: Russia → Ukraine barred from NATO"),
            ("demand_dropped", "Demand dropped: Russia → Ukraine barred from NATO"),
            ("demand_rejected", "Demand rejected: Russia → Ukraine barred from NATO"),
            ("unrecognized_condition", "Unrecognized condition: Russia → Ukraine barred from NATO"),
        ],
    )
    def test_wording_per_kind(self, kind: str, expected: str) -> None:
        """Each kind of delta has its own label before actor → demand."""
        assert expected == headline(make_delta(kind=kind))

    def test_every_model_kind_has_a_label(self) -> None:
        """No delta kind of the model falls through to the generic label."""
        assert set(DELTA_KINDS) == set(KIND_LABELS)

    def test_falls_back_to_ids(self) -> None:
        """Without a name and a title, the ids stand in."""
        delta = make_delta(actor_name="", demand_title="")
        assert headline(delta) == "New condition: russia → ukraine-nato-ban"

    def test_unrecognized_without_demand(self) -> None:
        """An unrecognized condition with no demand id names only the actor."""
        delta = make_delta(kind="unrecognized_condition", demand="", demand_title="")
        assert headline(delta) == "Unrecognized condition: Russia"

    def test_historical_suffix(self) -> None:
        """A finding about the past is marked, so nobody mistakes it for news."""
        expected = "New condition: Russia → Ukraine barred from NATO (historical)"
        assert expected == headline(make_delta(historical=True))

    def test_long_title_fits_lock_screen(self) -> None:
        """A very long demand title is shortened; the label, actor and suffix stay."""
        line = headline(make_delta(demand_title="very long " * 30, historical=True))
        assert len(line) <= HEADLINE_WIDTH
        assert line.startswith("New condition: Russia → very long")
        assert line.endswith("… (historical)")

    def test_long_quote_is_cut_after_a_word(self) -> None:
        """A quote over the limit ends after a whole word and an ellipsis, never mid-word."""
        sentence = "Moscow insists on measures " + "including demilitarisation " * 40
        text = render_text([make_delta(sentence=sentence)])
        (quoted,) = [line for line in text.splitlines() if line.endswith("…”")]
        assert quoted.endswith("demilitarisation…”") or quoted.endswith("including…”")

    def test_one_line(self) -> None:
        """Newlines and control characters from a rule or a page never reach the headline."""
        line = headline(make_delta(actor_name="Rus\nsia\x1b[31m", demand_title="a\r\nb"))
        assert line == "New condition: Rus sia[31m → a b"


class TestText:
    def test_contains_sentence_link_date_and_history(self) -> None:
        """Plain text has headline, quoted sentence, source, date, title, link and history."""
        text = render_text([make_delta()])
        assert text.splitlines() == [
            "New condition: Russia → Ukraine barred from NATO",
            "“Moscow insists that Ukraine must never join NATO.”",
            "Example News · 2024-03-01 14:05 UTC · Kremlin sets out its terms",
            "https://news.example.org/kremlin-terms?id=7&lang=en",
            "First seen 2024-02-01 09:00 UTC · last seen 2024-03-01 14:05 UTC · 3 articles",
        ]

    def test_group_lists_every_delta(self) -> None:
        """A group starts with a summary line, then one block per delta."""
        second = make_delta(kind="demand_dropped", actor_name="Belarus", articles=1)
        text = render_text([make_delta(), second])
        assert text.startswith(
            "Demand dropped: Belarus → Ukraine barred from NATO and 1 more (1 new)\n\n"
        )
        assert "Demand dropped: Belarus → Ukraine barred from NATO" in text
        assert "· 1 article" in text

    def test_strips_terminal_escapes(self) -> None:
        """An escape sequence in a hostile title cannot drive the terminal."""
        text = render_text([make_delta(sentence="Moscow \x1b]0;pwned\x07insists.")])
        assert "\x1b" not in text
        assert "\x07" not in text

    def test_nothing_to_render(self) -> None:
        """An empty group is a caller's bug, said loudly."""
        with pytest.raises(ValueError, match="nothing to render"):
            render_text([])


class TestHtml:
    def test_escapes_hostile_values(self) -> None:
        """Markup in a title, sentence or source is shown as text, never run."""
        delta = make_delta(
            title="<script>alert('t')</script>",
            sentence='He said <script>alert("s")</script> & left.',
            source="<img src=x onerror=alert(1)>",
            phrases=(),
        )
        page = render_html([delta])
        assert "<script>" not in page
        assert "<img" not in page
        assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in page
        assert "&lt;script&gt;alert(&quot;s&quot;)&lt;/script&gt; &amp; left." in page

    def test_escapes_link(self) -> None:
        """The link's query string is escaped inside the href attribute."""
        page = render_html([make_delta()])
        expected = '<a href="https://news.example.org/kremlin-terms?id=7&amp;lang=en">'
        assert expected in page

    def test_no_javascript_link(self) -> None:
        """A javascript: URL from a feed is not made clickable."""
        page = render_html([make_delta(url="javascript:alert(1)")])
        assert "<a " not in page
        assert "href" not in page

    def test_matched_phrases_bold(self) -> None:
        """Matched phrases are bold, whatever their case in the sentence."""
        page = render_html([make_delta(phrases=("INSISTS", "never join nato"))])
        assert "Moscow <b>insists</b> that Ukraine must <b>never join NATO</b>." in page

    def test_inflected_phrase_bold_as_word(self) -> None:
        """A phrase matched inside a longer word makes the whole word bold."""
        page = render_html([make_delta(phrases=("insist",))])
        assert "<b>insists</b>" in page

    def test_contains_text_content(self) -> None:
        """The HTML carries the same facts as the plain text."""
        page = render_html([make_delta()])
        for fact in (
            "New condition: Russia → Ukraine barred from NATO",
            "Example News · 2024-03-01 14:05 UTC",
            "Kremlin sets out its terms",
            "First seen 2024-02-01 09:00 UTC · last seen 2024-03-01 14:05 UTC · 3 articles",
        ):
            assert fact in page


class TestSlack:
    def test_payload_shape(self) -> None:
        """Text fallback is the headline; blocks hold header, quote and context."""
        payload = render_slack([make_delta()])
        assert payload["text"] == "New condition: Russia → Ukraine barred from NATO"
        assert [b["type"] for b in payload["blocks"]] == ["header", "section", "context"]
        header = payload["blocks"][0]["text"]
        assert {"type": "plain_text", "text": payload["text"]} == header
        json.dumps(payload)  # what the webhook will be sent

    def test_quote_with_bold_phrases(self) -> None:
        """The sentence is a quote, with matched phrases in *bold*."""
        section = render_slack([make_delta()])["blocks"][1]["text"]
        expected = ">Moscow *insists* that Ukraine must *never join NATO*."
        assert section == {"type": "mrkdwn", "text": expected}

    def test_context_has_source_date_and_link(self) -> None:
        """Context names source and date and links the title, with & escaped in the URL."""
        context = render_slack([make_delta()])["blocks"][2]["elements"]
        assert [element["text"] for element in context] == [
            "Example News · 2024-03-01 14:05 UTC · "
            "<https://news.example.org/kremlin-terms?id=7&amp;lang=en|Kremlin sets out its terms>",
            "First seen 2024-02-01 09:00 UTC · last seen 2024-03-01 14:05 UTC · 3 articles",
        ]

    def test_escapes_control_characters(self) -> None:
        """&, < and > in page text are escaped, so they cannot forge links or mentions."""
        delta = make_delta(
            title="Q&A <b>",
            sentence="Tom & Jerry <!channel> said >no<.",
            phrases=(),
            source="A&B",
        )
        texts = slack_texts(render_slack([delta]))
        assert ">Tom &amp; Jerry &lt;!channel&gt; said &gt;no&lt;." in texts
        assert "|Q&amp;A &lt;b&gt;>" in texts
        assert "A&amp;B · " in texts
        assert "<!channel>" not in texts

    def test_link_cannot_break_out(self) -> None:
        """A "|" or ">" in the URL is percent-encoded so the link stays one link."""
        texts = slack_texts(render_slack([make_delta(url="https://x.example/a|b>c")]))
        assert "<https://x.example/a%7Cb%3Ec|Kremlin sets out its terms>" in texts

    def test_group(self) -> None:
        """A group has a header saying how many, then each delta with its headline."""
        deltas = [make_delta(), make_delta(kind="demand_repeated", actor_name="Belarus")]
        payload = render_slack(deltas)
        assert payload["text"] == (
            "New condition: Russia → Ukraine barred from NATO and 1 more (1 repeated)"
        )
        assert "*Demand repeated: Belarus → Ukraine barred from NATO*" in slack_texts(payload)

    def test_large_group_stays_within_block_limit(self) -> None:
        """Slack refuses more than 50 blocks; the rest of a big group is counted."""
        payload = render_slack([make_delta()] * 40)
        assert len(payload["blocks"]) <= 50
        assert "…and 30 more not shown" in slack_texts(payload)


class TestSubject:
    def test_single(self) -> None:
        """The subject is the headline behind a [newsmon] tag."""
        expected = "[newsmon] New condition: Russia → Ukraine barred from NATO"
        assert expected == subject([make_delta()])

    def test_group(self) -> None:
        """A group's subject counts the other deltas, by kind."""
        expected = "[newsmon] New condition: Russia → Ukraine barred from NATO and 2 more (2 new)"
        assert expected == subject([make_delta()] * 3)

    def test_group_leads_with_the_change_that_matters(self) -> None:
        """A pair's new condition, then its drop ten seconds later, in one message: the
        notification says the demand was dropped, not that it is new; a rejection by
        another actor does not hide a new condition either."""
        new, dropped = make_delta(), make_delta(kind="demand_dropped")
        assert subject([new, dropped]) == (
            "[newsmon] Demand dropped: Russia → Ukraine barred from NATO and 1 more (1 new)"
        )
        rejected = make_delta(kind="demand_rejected", actor_name="Ukraine")
        assert render_slack([rejected, new, rejected])["text"] == (
            "New condition: Russia → Ukraine barred from NATO and 2 more (2 rejected)"
        )
