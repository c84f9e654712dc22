"""Automatic QA checks: pure functions over one conversation's messages and their stored model scores.

Each check answers pass / fail / not applicable (None) with the evidence a reviewer needs to accept or override it
in the replay: the message, the phrase found or missing, the wait against the SLA, the model's score against its
flag line. Phrases come from the lexicons QA leads edit (``data/lexicon/``), thresholds from ``scoring.schema``
— the same ones the replay's badges use — so a proposal never disagrees with what the replay shows.
``propose`` turns a result into a value on a criterion's own scale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields

from qa.program.scorecard import Criterion, Rating
from scoring.lexicon import courtesy_phrases, forbidden_phrases
from scoring.responsiveness import duration_text
from scoring.schema import RELEVANCE_LOW, SENTIMENT_HIGH, TONE_FLAG

__all__ = [
    "CHECKS",
    "CHECK_LABELS",
    "CheckResult",
    "Evidence",
    "Line",
    "evidence_from_json",
    "evidence_to_json",
    "propose",
    "reviewer_passed",
    "run_checks",
]

CHECK_LABELS: dict[str, str] = {
    "greeting": "开场问候", "closing": "结束语", "forbidden": "禁用语", "first_response": "首次响应及时",
    "reply_sla": "后续回复及时", "unanswered_end": "结尾无未回复", "tone": "语气", "relevance": "回答切题",
    "sentiment_end": "结束时顾客情绪", "apology_after_wait": "久等致歉",
}


@dataclass(slots=True)
class Line:
    """One message as the checks see it: text plus the scores stored for it (None where not scored).

    Not frozen, like ``CheckResult``: a scoring run makes one per message (and ten results per conversation), and
    a frozen dataclass's ``__init__`` costs four times a plain one's; nothing changes them once made."""

    id: int | None
    role: str
    text: str
    wait_s: float | None = None
    sla_s: float | None = None
    sla_breach: bool | None = None
    tone_risk: float | None = None
    relevance: float | None = None
    sentiment_neg: float | None = None


@dataclass(frozen=True)
class Evidence:
    """Why a check decided as it did, pointing at one message; ``note`` is what the reviewer reads."""

    message_id: int | None
    note: str
    phrase: str | None = None
    wait_s: float | None = None
    score: float | None = None


@dataclass(slots=True)
class CheckResult:
    """``passed`` None means not applicable; ``count`` is how many times the failing thing happened."""

    check: str
    passed: bool | None
    count: int = 0
    evidence: tuple[Evidence, ...] = ()


def _agent(lines: Sequence[Line]) -> list[Line]:
    return [ln for ln in lines if ln.role == "agent"]


def _phrases(text: str, kind: str) -> list[str]:
    return [h.phrase for h in courtesy_phrases().find(text) if h.category == kind]


def _courtesy(name: str, line: Line | None, kind: str, where: str) -> CheckResult:
    if line is None:
        return CheckResult(name, None)
    found = _phrases(line.text, kind)
    if found:
        return CheckResult(name, True, 0, (Evidence(line.id, f"{where}含“{found[0]}”", phrase=found[0]),))
    return CheckResult(name, False, 1, (Evidence(line.id, f"{where}没有{CHECK_LABELS[name]}"),))


def greeting(lines: Sequence[Line]) -> CheckResult:
    """The first agent message greets the customer (您好, 亲, 在的…)."""
    agent = _agent(lines)
    return _courtesy("greeting", agent[0] if agent else None, "greeting", "首条客服回复")


def closing(lines: Sequence[Line]) -> CheckResult:
    """The last agent message closes politely (还有什么可以帮您, 祝您购物愉快…)."""
    agent = _agent(lines)
    return _courtesy("closing", agent[-1] if agent else None, "closing", "最后一条客服回复")


def forbidden(lines: Sequence[Line]) -> CheckResult:
    """No agent message uses a 禁用语; every hit is evidence and counts once."""
    agent = _agent(lines)
    if not agent:
        return CheckResult("forbidden", None)
    hits = [Evidence(ln.id, f"使用禁用语“{h.phrase}”", phrase=h.phrase)
            for ln in agent for h in forbidden_phrases().find(ln.text)]
    return CheckResult("forbidden", not hits, len(hits), tuple(hits))


def _wait_note(line: Line, what: str) -> str:
    note = f"{what} {duration_text(line.wait_s or 0)}"
    if line.sla_s is not None:
        note += f"（SLA {duration_text(line.sla_s)}{'，超时' if line.sla_breach else ''}）"
    return note


def _timed(lines: Sequence[Line]) -> list[Line]:
    """Agent replies whose wait is known; the first is the first response (as in the replay)."""
    return [ln for ln in lines if ln.role == "agent" and ln.wait_s is not None]


def first_response(lines: Sequence[Line]) -> CheckResult:
    """The first reply came within the platform's first-reply SLA."""
    timed = _timed(lines)
    if not timed:
        return CheckResult("first_response", None)
    first = timed[0]
    late = bool(first.sla_breach)
    return CheckResult("first_response", not late, int(late),
                       (Evidence(first.id, _wait_note(first, "首次响应"), wait_s=first.wait_s),))


def reply_sla(lines: Sequence[Line]) -> CheckResult:
    """Every later reply came within the platform's reply SLA; each late one is evidence."""
    later = _timed(lines)[1:]
    if not later:
        return CheckResult("reply_sla", None)
    late = [Evidence(ln.id, _wait_note(ln, "回复等待"), wait_s=ln.wait_s) for ln in later if ln.sla_breach]
    return CheckResult("reply_sla", not late, len(late), tuple(late))


def unanswered_end(lines: Sequence[Line]) -> CheckResult:
    """No customer message is left without a human reply at the end (bot and system lines do not answer)."""
    people = [ln for ln in lines if ln.role in ("customer", "agent")]
    if not any(ln.role == "customer" for ln in people):
        return CheckResult("unanswered_end", None)
    trailing: list[Line] = []
    for ln in reversed(people):
        if ln.role == "agent":
            break
        trailing.append(ln)
    if not trailing:
        return CheckResult("unanswered_end", True)
    first = trailing[-1]
    return CheckResult("unanswered_end", False, len(trailing),
                       (Evidence(first.id, f"结尾有 {len(trailing)} 条顾客消息未回复"),))


def tone(lines: Sequence[Line]) -> CheckResult:
    """No agent reply reaches the tone model's flag line."""
    scored = [ln for ln in _agent(lines) if ln.tone_risk is not None]
    if not scored:
        return CheckResult("tone", None)
    bad = [Evidence(ln.id, f"语气风险 {ln.tone_risk:.2f}（预警线 {TONE_FLAG}）", score=ln.tone_risk)
           for ln in scored if (ln.tone_risk or 0) >= TONE_FLAG]
    return CheckResult("tone", not bad, len(bad), tuple(bad))


def relevance(lines: Sequence[Line]) -> CheckResult:
    """No agent reply falls below the relevance line (templates have no relevance and are not judged)."""
    scored = [ln for ln in _agent(lines) if ln.relevance is not None]
    if not scored:
        return CheckResult("relevance", None)
    bad = [Evidence(ln.id, f"相关度 {ln.relevance:.2f}，低于 {RELEVANCE_LOW}（答非所问）", score=ln.relevance)
           for ln in scored if (ln.relevance or 0) < RELEVANCE_LOW]
    return CheckResult("relevance", not bad, len(bad), tuple(bad))


def sentiment_end(lines: Sequence[Line]) -> CheckResult:
    """The customer's last scored message is not negative."""
    last = next((ln for ln in reversed(lines) if ln.role == "customer" and ln.sentiment_neg is not None), None)
    if last is None:
        return CheckResult("sentiment_end", None)
    upset = (last.sentiment_neg or 0) >= SENTIMENT_HIGH
    note = f"顾客最后的情绪 {last.sentiment_neg:.2f}（{'负面' if upset else '未见负面'}，线 {SENTIMENT_HIGH}）"
    return CheckResult("sentiment_end", not upset, int(upset), (Evidence(last.id, note, score=last.sentiment_neg),))


def apology_after_wait(lines: Sequence[Line]) -> CheckResult:
    """Each reply that came after the SLA ran out apologises (抱歉, 久等了, 不好意思…)."""
    late = [ln for ln in _agent(lines) if ln.sla_breach]
    if not late:
        return CheckResult("apology_after_wait", None)
    evidence, missing = [], 0
    for ln in late:
        found = _phrases(ln.text, "apology")
        missing += not found
        said = f"，已致歉“{found[0]}”" if found else "，未致歉"
        evidence.append(Evidence(ln.id, _wait_note(ln, "顾客等待") + said, phrase=found[0] if found else None,
                                 wait_s=ln.wait_s))
    return CheckResult("apology_after_wait", missing == 0, missing, tuple(evidence))


# the same names, in the same order, as ``qa.program.scorecard.AUTO_CHECK_NAMES`` (a test holds them equal)
CHECKS: dict[str, Callable[[Sequence[Line]], CheckResult]] = {
    "greeting": greeting, "closing": closing, "forbidden": forbidden, "first_response": first_response,
    "reply_sla": reply_sla, "unanswered_end": unanswered_end, "tone": tone, "relevance": relevance,
    "sentiment_end": sentiment_end, "apology_after_wait": apology_after_wait,
}


def run_checks(lines: Sequence[Line], rejected_rows: int = 0) -> dict[str, CheckResult]:
    """Every check on one conversation; with rows rejected at import its end may lack a reply that was there, so
    "unanswered at the end" does not apply (issue #13.4; the waits are already unjudged in its scores)."""
    results = {name: check(lines) for name, check in CHECKS.items()}
    if rejected_rows:
        results["unanswered_end"] = CheckResult("unanswered_end", None)
    return results


def propose(criterion: Criterion, result: CheckResult | None) -> Rating | None:
    """The value auto-QA proposes for ``criterion``: pass → top of the scale, fail → bottom; for a deduction,
    the number of occurrences (up to its maximum); N/A when the check does not apply and the item allows it."""
    if result is None:
        return None
    if result.passed is None:
        return Rating(na=True) if criterion.allow_na else None
    if criterion.kind == "adjust":
        if criterion.points < 0:
            return Rating(float(min(result.count, criterion.max_times)))
        return Rating(1.0 if result.passed else 0.0)
    lo, hi = criterion.bounds
    return Rating(hi if result.passed else lo)


def reviewer_passed(criterion: Criterion, value: float) -> bool:
    """Whether a reviewer's value means the checked thing was fine (to compare with a check's pass/fail):
    no occurrence of a deduction, an addition given, or the upper half of a scale."""
    if criterion.kind == "adjust":
        return value == 0 if criterion.points < 0 else value >= 1
    return criterion.normalised(value) >= 50


_EVIDENCE_FIELDS = tuple(f.name for f in fields(Evidence))


def evidence_to_json(evidence: Sequence[Evidence]) -> list[dict]:
    """Evidence as stored (JSON-ready dicts; not ``asdict``, whose deep copies cost a third of a run)."""
    return [{name: getattr(e, name) for name in _EVIDENCE_FIELDS} for e in evidence]


def evidence_from_json(items: Sequence[Mapping]) -> tuple[Evidence, ...]:
    """Evidence read back from storage."""
    return tuple(Evidence(**item) for item in items)
