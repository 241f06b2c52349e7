"""The role of a figure in its sentence: `measured` (a result), `target` (a goal) or `threshold`
(a bound such as "dưới 50%"), from the cue phrases of `rules/figure_roles.tsv`. Analysts separate
results from goals; the cues are data, each tested by the rule examples."""

from __future__ import annotations

from dataclasses import dataclass

import regex

from pipeline.normalize import fold
from rules import RuleError, RuleSet

ROLES_FILE = "figure_roles.tsv"
ROLES = ("measured", "target", "threshold")
_CLAUSE_BACK = 200
_CLAUSE_END = regex.compile(r"[;\n]|\.\s")  # a colon keeps its label: "Chỉ tiêu: 100% xã …"


@dataclass(frozen=True, slots=True)
class RoleRules:
    """The cue phrases of `rules/figure_roles.tsv`, compiled."""

    clause: regex.Pattern[str]
    before: regex.Pattern[str]
    after: regex.Pattern[str]


def compile_roles(rules: RuleSet) -> RoleRules:
    """Compile the role cues (the figure rules compile them once, with their own patterns)."""
    cues: dict[str, list[str]] = {"clause": [], "before": [], "after": [], "verb": []}
    for row in rules.table(ROLES_FILE):
        position, cue, role = (row.get("position") or "").strip(), (row.get("cue") or "").strip(), row.get("role")
        if position not in cues or not cue or role not in ROLES:
            raise RuleError(f"rules/{ROLES_FILE}: a row needs role in {ROLES}, position in {tuple(cues)} and a cue")
        cues[position].append(r"\s+".join(regex.escape(w) for w in fold(cue).split()))

    def alternation(position: str) -> str:
        return "(?:" + "|".join(sorted(cues[position], key=len, reverse=True)) + ")"

    edge = r"(?<![\p{L}\d])"
    return RoleRules(
        clause=regex.compile(edge + alternation("clause") + r"(?![\p{L}])", regex.IGNORECASE),
        # The bound right before the number, unless a verb makes it a result ("đạt trên 90%").
        before=regex.compile(
            r"(?:" + edge + r"(?P<verb>" + alternation("verb") + r")\s+)?" + edge + alternation("before")
            + r"(?:\s+mức)?\s*$",
            regex.IGNORECASE,
        ),
        after=regex.compile(r"^[^\n;,.]{0,40}?" + edge + alternation("after") + r"(?![\p{L}])", regex.IGNORECASE),
    )


def figure_role(text: str, start: int, end: int, roles: RoleRules) -> str:
    """The role of the figure at `text[start:end]` of a normalized block."""
    back = max(0, start - _CLAUSE_BACK)
    cut = max((m.end() for m in _CLAUSE_END.finditer(text, back, start)), default=back)
    before = fold(text[cut:start])
    if roles.clause.search(before):
        return "target"
    bound = roles.before.search(before)
    if bound is not None and bound.group("verb") is None:
        return "threshold"
    if roles.after.match(fold(text[end : end + 60])):
        return "threshold"
    return "measured"
