"""Which scorecard a conversation is reviewed on: an ordered rule list, first match wins.

A rule names a scorecard and any of team, category and platform; an empty field matches anything, so a rule
with no fields is the fallback and belongs last. Order is the precedence a QA manager sets — explicit, rather
than a specificity score nobody can predict.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

__all__ = ["SelectionRule", "choose"]


@dataclass(frozen=True)
class SelectionRule:
    """Review conversations matching every given field on ``scorecard`` (a scorecard name)."""

    scorecard: str
    team: str | None = None
    category: str | None = None
    platform: str | None = None

    def matches(self, team: str | None, category: str | None, platform: str | None) -> bool:
        """Whether a conversation with these values falls under the rule."""
        wanted = ((self.team, team), (self.category, category), (self.platform, platform))
        return all(rule_value is None or rule_value == value for rule_value, value in wanted)


def choose(rules: Sequence[SelectionRule], team: str | None, category: str | None, platform: str | None,
           available: Collection[str] | None = None) -> str | None:
    """The scorecard of the first matching rule whose scorecard is ``available`` (active); None if none."""
    for rule in rules:
        if (available is None or rule.scorecard in available) and rule.matches(team, category, platform):
            return rule.scorecard
    return None
