"""The shape of a rule file, as pydantic models that refuse unknown keys.

A rule file may hold ``actors``, ``demands``, ``cues`` and ``fragments``; every key is
optional, and several files add up. A pattern is a phrase, or a mapping with exactly one of
``any``, ``all``, ``not`` (``all`` may add ``near``) or ``fragment`` (a named pattern from the
``fragments`` of any file).
"""

from __future__ import annotations

__all__ = [
    "TAG_SUFFIX",
    "ActorSpec",
    "Alias",
    "AliasSpec",
    "AllPattern",
    "AnyPattern",
    "CuesSpec",
    "DemandSpec",
    "ExamplesSpec",
    "FragmentPattern",
    "NotPattern",
    "Pattern",
    "RuleFileSpec",
]

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


Text = Annotated[str, AfterValidator(_not_blank)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# pydantic puts the tag into an error's location; a tag no document can contain lets the
# loader drop it again ("match.any-pattern.any[1]" is "match.any[1]").
TAG_SUFFIX = "-pattern"


def _pattern_kind(value: Any) -> str | None:
    """Which kind of pattern a raw value is: the tag of the union below."""
    if isinstance(value, str):
        return "phrase" + TAG_SUFFIX
    if isinstance(value, dict):
        kind = next((key for key in ("any", "all", "not", "fragment") if key in value), None)
        return None if kind is None else kind + TAG_SUFFIX
    if isinstance(value, AnyPattern | AllPattern | NotPattern | FragmentPattern):
        return type(value).__name__.removesuffix("Pattern").lower() + TAG_SUFFIX
    return None


class AnyPattern(_Strict):
    """Matches where at least one of its parts matches."""

    any: list[Pattern] = Field(min_length=1)


class AllPattern(_Strict):
    """Matches where every part matches (within ``near`` words of each other, if given)."""

    all: list[Pattern] = Field(min_length=1)
    near: Annotated[int, Field(strict=True, gt=0)] | None = None


class NotPattern(_Strict):
    """Inside ``all`` only: the sentence must not contain this pattern."""

    not_: Pattern = Field(alias="not")


class FragmentPattern(_Strict):
    """A named pattern from a ``fragments`` section, shared across files."""

    fragment: Slug


Pattern = Annotated[
    Annotated[Text, Tag("phrase" + TAG_SUFFIX)]
    | Annotated[AnyPattern, Tag("any" + TAG_SUFFIX)]
    | Annotated[AllPattern, Tag("all" + TAG_SUFFIX)]
    | Annotated[NotPattern, Tag("not" + TAG_SUFFIX)]
    | Annotated[FragmentPattern, Tag("fragment" + TAG_SUFFIX)],
    Discriminator(
        _pattern_kind,
        custom_error_type="pattern",
        custom_error_message="a pattern is a phrase, or a mapping with any, all, not or fragment",
    ),
]


class AliasSpec(_Strict):
    """A name that stands for the actor only between two dates (an official's term), or only
    where the text capitalizes it (``capitalized``: Turkey the country, not turkey the bird)."""

    name: Text
    from_: dt.date | None = Field(default=None, alias="from")
    until: dt.date | None = None
    capitalized: bool = False

    @model_validator(mode="after")
    def _in_order(self) -> AliasSpec:
        if self.from_ and self.until and self.until < self.from_:
            raise ValueError("'until' comes before 'from'")
        return self


def _alias_kind(value: Any) -> str:
    return "alias" + TAG_SUFFIX if isinstance(value, dict | AliasSpec) else "phrase" + TAG_SUFFIX


Alias = Annotated[
    Annotated[Text, Tag("phrase" + TAG_SUFFIX)] | Annotated[AliasSpec, Tag("alias" + TAG_SUFFIX)],
    Discriminator(_alias_kind),
]


class ActorSpec(_Strict):
    """Someone who voices demands, and the names the press uses for them."""

    id: Slug
    name: Text
    aliases: list[Alias] = Field(min_length=1)


class ExamplesSpec(_Strict):
    """Sentences that must (``match``) and must not (``no_match``) yield the demand."""

    match: list[Text] = []
    no_match: list[Text] = []


class DemandSpec(_Strict):
    """A condition an actor can set, and the pattern that finds it in a sentence."""

    id: Slug
    title: Text
    description: str = ""
    severity: Literal["low", "medium", "high"]
    match: Pattern
    # What the demand opposes ("NATO expansion" for nato-non-expansion): an actor who rejects
    # it voices the demand, and one who wants it rejects the demand.
    against: Pattern | None = None
    # Actors the demand is made of ("ukraine" for demilitarization): named in a sentence, they
    # may reject or drop it but never voice it, so the voice is looked for elsewhere.
    targets: list[Slug] = []
    examples: ExamplesSpec = ExamplesSpec()


class CuesSpec(_Strict):
    """Words that show a stance, a speaker or the past; phrases like any other."""

    demand: list[Text] = []
    obligation: list[Text] = []
    reject: list[Text] = []
    drop: list[Text] = []
    warn: list[Text] = []
    speech: list[Text] = []
    historical: list[Text] = []


class RuleFileSpec(_Strict):
    """One rule file."""

    actors: list[ActorSpec] = []
    demands: list[DemandSpec] = []
    cues: CuesSpec | None = None
    fragments: dict[Slug, Pattern] = {}


for _model in (AnyPattern, AllPattern, NotPattern, FragmentPattern, DemandSpec, RuleFileSpec):
    _model.model_rebuild()
