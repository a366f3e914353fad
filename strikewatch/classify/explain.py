"""What tagging yields: the tags, and for `classify --explain` the steps that led to them.

The engine records a `Step` for each thing the rules did, in words a rules editor can follow;
these classes only hold and word them, so the renderers and scripts need nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tags:
    """What the rules say about one item: sorted guild ids and sorted event ids."""

    guilds: tuple[str, ...] = ()
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One thing the rules did, in words a rules editor can follow.

    `subject` is what the step is about (an event or guild id, "ignored", or "" for a
    note); `status` one of matched, counted, found (a name in the summary, which counts only
    if the summary's part in the item says so), suppressed, not counted, ignored, note; `words`
    the words of the text concerned; `rule` where in the rule files it comes from; `why` the
    reason in plain English; `where` "headline" or "summary".
    """

    subject: str
    status: str
    words: str = ""
    rule: str = ""
    why: str = ""
    where: str = "headline"

    def __str__(self) -> str:
        where = " in the summary" if self.where == "summary" else ""
        words = f"'{self.words}'" if self.words else ""
        if self.status == "matched":
            text = f"{self.subject}: matched {words}{where}"
        elif self.status in ("counted", "found"):
            verb = "from" if self.status == "counted" else "named as"
            text = f"{self.subject}: {verb} {words}{where}"
            if self.why:
                text += f" ({self.why})"
        elif self.status == "ignored":
            text = f"ignored {words}{where}: {self.why}"
        elif self.status == "note":
            text = f"{self.subject}: {self.why}" if self.subject else self.why
        else:  # suppressed / not counted
            text = f"{self.subject}: {self.status}{where} \u2014 {self.why}"
        if self.rule:
            text += f" (rule {self.rule})"
        return text

    def to_dict(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "status": self.status,
            "words": self.words,
            "rule": self.rule,
            "why": self.why,
            "where": self.where,
            "text": str(self),
        }


@dataclass
class Explanation:
    """The tags plus, in order, the steps that led to them."""

    tags: Tags
    steps: list[Step] = field(default_factory=list)
    version: str = ""
    read_as: dict[str, str] = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return [str(step) for step in self.steps]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for `classify --explain --json` and scripts."""
        return {
            "guilds": list(self.tags.guilds),
            "events": list(self.tags.events),
            "steps": [step.to_dict() for step in self.steps],
            "read_as": dict(self.read_as),
            "rules_version": self.version,
        }

    def __str__(self) -> str:
        head = [
            f"guilds: {', '.join(self.tags.guilds) or '(none)'}",
            f"events: {', '.join(self.tags.events) or '(none)'}",
        ]
        return "\n".join(head + self.lines)
