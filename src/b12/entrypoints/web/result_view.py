"""What the top of a result page says: the inputs in one line, and the "Do now" box (issue 15).

Both are built from the request document that made the result (the contract's JSON), the
engine's output and the knowledge base's words (``vocabulary.display``, the vocabulary's
labels): no clinical sentence is written here.  A code the knowledge base has no words for is
shown with its underscores and hyphens as spaces, never as the bare code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from b12.core.course_models import FollowUpResult, OrderCheckResult
from b12.core.knowledge import KnowledgeBase
from b12.core.plan_models import AlertOut, MissingOut, Plan
from b12.entrypoints.web import forms
from b12.entrypoints.web.templating import day, label


@dataclass(frozen=True)
class Words:
    """People words for codes, from the knowledge base (``words(group, code)``)."""

    kb: KnowledgeBase
    guideline: str = "uk"

    def _group(self, group: str) -> Mapping[str, str]:
        display = self.kb.vocabulary.display
        return display.words.get(group, {}) if display else {}

    def __call__(self, group: str, code: str | None) -> str:
        if not code:
            return ""
        return self._group(group).get(code) or label(code).replace("-", " ")

    def text(self, key: str, group: str = "summary", **values: Any) -> str:
        """A phrase of ``group`` with ``{name}`` places filled (dates as "Mon 7 Dec 2026")."""
        template = self._group(group).get(key, label(key))
        shown = {k: day(v) if isinstance(v, date) else v for k, v in values.items()}
        return template.format(**shown)

    def unit(self, unit: str | None) -> str:
        """``umol/L`` → ``µmol/L``."""
        return self("units", unit) if unit else ""

    def amount(self, value: Any, unit: str | None) -> str:
        """``110 ng/L``; for a US plan also ``(110 pg/mL)`` — the same number."""
        number = _number(value)
        shown = f"{number} {self.unit(unit)}".strip()
        display = self.kb.vocabulary.display
        other = display.same_number.get(self.guideline, {}).get(unit or "") if display else None
        return f"{shown} ({number} {other})" if other else shown

    def product(self, code: str | None) -> str:
        term = self.kb.vocabulary.products.get(code or "")
        return term.label if term else label(code)

    def alert(self, code: str) -> str:
        term = self.kb.vocabulary.alert_codes.get(code)
        return term.title if term else label(code)


def phase_words(kb: KnowledgeBase) -> Mapping[str, str]:
    """People words for the regimens' phase names (for the timeline)."""
    display = kb.vocabulary.display
    return display.words.get("phases", {}) if display else {}


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _lower_first(text: str) -> str:
    """``Autoimmune gastritis`` → ``autoimmune gastritis`` (``eGFR``, ``IV`` stay)."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _term(terms: Mapping[str, Any], code: str) -> str:
    term = terms.get(code)
    return _lower_first(term.label) if term is not None else label(code)


# -- the one-line summary ---------------------------------------------------------------------


def picture_summary(picture: Mapping[str, Any], kb: KnowledgeBase, guideline: str) -> list[str]:
    """The clinical picture as short parts: ``["68 F", "autoimmune gastritis", ...]``."""
    words = Words(kb, guideline)
    vocab = kb.vocabulary
    parts: list[str] = []
    who = " ".join(
        p for p in (_number(picture.get("age", "")), words("sex_short", picture.get("sex"))) if p
    )
    if who and picture.get("sex") != "unknown":
        parts.append(who)
    elif "age" in picture:
        parts.append(_number(picture["age"]))
    parts += [words.text(k) for k in ("pregnant", "breastfeeding") if picture.get(k)]
    if deficiency := picture.get("deficiency"):
        parts.append(words("deficiency", deficiency))
    if cause := picture.get("cause"):
        parts.append(_term(vocab.causes, cause))
    parts += [_term(vocab.conditions, c) for c in picture.get("conditions", ())]
    if "ileal_resection_cm" in picture:
        parts.append(words.text("ileal_resection", cm=_number(picture["ileal_resection_cm"])))
    parts += [_term(vocab.medications, m) for m in picture.get("medications", ())]
    if diet := picture.get("diet"):
        parts.append(words("diets", diet))
    parts += _labs(picture.get("labs") or {}, kb, words)
    neuro = [_term(vocab.neuro_symptoms, s) for s in picture.get("neuro_symptoms", ())]
    if picture.get("severe_neuro"):
        neuro.append(words.text("severe_neuro"))
    parts.append(", ".join(neuro) if neuro else words.text("no_neuro"))
    prefs = picture.get("preferences") or {}
    for pref in ("route", "drug"):
        if value := prefs.get(pref):
            shown = words("routes", value) if pref == "route" else words.product(value)
            parts.append(words.text("prefers", what=shown))
    parts.append(words("guidelines", picture.get("guideline") or guideline))
    return parts


def _labs(labs: Mapping[str, Any], kb: KnowledgeBase, words: Words) -> list[str]:
    out = []
    for name, value in labs.items():
        if name == "ifab_positive":
            out.append(words.text("ifab_positive" if value else "ifab_negative"))
            continue
        term = kb.vocabulary.labs.get(name)
        short = words("lab_short", name)
        out.append(f"{short} {words.amount(value, term.unit if term else '')}")
    return out


def history_summary(doc: Mapping[str, Any], kb: KnowledgeBase, guideline: str) -> list[str]:
    """Doses, events and a declared course of an order-check or follow-up request."""
    words = Words(kb, guideline)
    parts: list[str] = []
    history = [d for d in doc.get("history") or () if isinstance(d, Mapping)]
    if history:
        key = "dose_on_record" if len(history) == 1 else "doses_on_record"
        last = max(_date(d.get("date")) or date.min for d in history)
        text = f"{len(history)} {words.text(key)}"
        if last != date.min:
            text += f" ({words.text('last_dose')} {day(last)})"
        parts.append(text)
    elif "history" in doc:
        parts.append(words.text("no_doses"))
    for event in doc.get("events") or ():
        if isinstance(event, Mapping):
            kind = _term(kb.vocabulary.events, str(event.get("kind", "")))
            parts.append(f"{kind} {day(event.get('date'))}".strip())
    if isinstance(course := doc.get("course"), Mapping):
        text = " ".join(
            p
            for p in (
                words("course_stage", str(course.get("stage", ""))),
                words.text("course_since", date=_date(course.get("since")) or course.get("since")),
                words.text("course_every_months", n=course["every_months"])
                if course.get("every_months")
                else "",
            )
            if p
        )
        parts.append(text)
    return parts


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


# -- what was checked (order check) -----------------------------------------------------------


def order_facts(doc: Mapping[str, Any], kb: KnowledgeBase, guideline: str) -> list[tuple[str, str]]:
    """The proposed order restated as (label, words) pairs."""
    words = Words(kb, guideline)
    order = doc.get("order") or {}
    dose = order.get("dose") or {}
    as_of = _date(doc.get("as_of"))
    facts = [
        (words.text("product", "checked"), words.product(order.get("drug"))),
        (
            words.text("dose", "checked"),
            f"{_number(dose.get('value', ''))} {words.unit(dose.get('unit'))}".strip(),
        ),
        (words.text("route", "checked"), words("routes", order.get("route"))),
        (
            words.text("site", "checked"),
            words("sites", order.get("site")) or words.text("not_stated", "checked"),
        ),
        (
            words.text("date", "checked"),
            day(order.get("start")) if order.get("start") else day(as_of),
        ),
    ]
    if order.get("every_days"):
        facts.append(
            (
                words.text("every", "checked"),
                words.text("every_days", "checked", n=order["every_days"]),
            )
        )
    return facts


def history_rows(doc: Mapping[str, Any], kb: KnowledgeBase, guideline: str) -> list[dict[str, str]]:
    """The doses used by the check, one row each, in people words."""
    words = Words(kb, guideline)
    rows = []
    for d in doc.get("history") or ():
        if not isinstance(d, Mapping):
            continue
        dose = d.get("dose") or {}
        rows.append(
            {
                "date": day(d.get("date")),
                "iso": str(d.get("date", "")),
                "product": words.product(d.get("drug")),
                "dose": f"{_number(dose.get('value', ''))} {words.unit(dose.get('unit'))}".strip(),
                "route": words("routes", d.get("route")),
                "site": words("sites", d.get("site")),
            }
        )
    return rows


# -- the Do now box ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DoNowItem:
    """One line of the box: what, when (or the advice), and the alert code for support."""

    what: str
    text: str
    iso: str = ""
    code: str = ""
    urgent: bool = False


@dataclass
class DoNow:
    """The box's lines, urgent first."""

    heading: str
    items: list[DoNowItem] = field(default_factory=list)
    nothing: str = ""


def _alert_items(alerts: Sequence[AlertOut], kb: KnowledgeBase, words: Words) -> list[DoNowItem]:
    display = kb.vocabulary.display
    urgent = display.do_now.urgent_alerts if display else ()
    return [
        DoNowItem(words.text("urgent", "do_now"), a.message, code=a.code, urgent=True)
        for a in alerts
        if a.code in urgent
    ]


def _potassium_alerts(alerts: Sequence[AlertOut], kb: KnowledgeBase) -> list[AlertOut]:
    display = kb.vocabulary.display
    codes = display.do_now.potassium_alerts if display else ()
    return [a for a in alerts if a.code in codes]


def _outcome_items(
    status: str,
    group: str,
    settled: str,
    missing: Sequence[MissingOut],
    kb: KnowledgeBase,
    words: Words,
) -> list[DoNowItem]:
    """A result that is not a settled plan or assessment says so, with the facts it needs."""
    items = []
    if status != settled and not missing:
        items.append(DoNowItem(words(group, status), "", code=status))
    if missing:
        labels = forms.field_labels(kb)
        needed = ", ".join(labels.get(m.field) or label(m.field) for m in missing)
        items.append(DoNowItem(words(group, "needs_more_data"), needed, code="needs_more_data"))
    return items


def plan_do_now(plan: Plan, kb: KnowledgeBase) -> DoNow:
    """First dose, potassium check (when an alert asks for it), review date, urgent advice;
    for a plan that is not ready, what it needs."""
    words = Words(kb, plan.guideline)
    box = DoNow(words.text("heading", "do_now"), nothing=words.text("nothing", "do_now"))
    box.items += _alert_items(plan.alerts, kb, words)
    box.items += _outcome_items(plan.status, "plan_status", "plan", plan.missing, kb, words)
    doses = [e for e in plan.schedule if e.kind == "dose"]
    if doses:
        first = doses[0]
        what = words.text("first_dose", "do_now")
        detail = day(first.date)
        if first.dose is not None:
            detail += f" · {_number(first.dose.value)} {words.unit(first.dose.unit)}"
            detail += f" {words('routes', first.route)}" if first.route else ""
        box.items.append(DoNowItem(what, detail, iso=first.date.isoformat()))
    potassium = _potassium_alerts(plan.alerts, kb)
    if potassium:
        display = kb.vocabulary.display
        test = display.do_now.potassium_test if display else ""
        dates = sorted({m.date for m in plan.monitoring if m.date and test in m.tests})
        when = ", ".join(day(d) for d in dates) if dates else potassium[0].title
        box.items.append(
            DoNowItem(
                words.text("potassium", "do_now"),
                when,
                iso=dates[0].isoformat() if dates else "",
                code=potassium[0].code,
            )
        )
    reviews = [e.date for e in plan.schedule if e.kind == "review"]
    reviews += [m.date for m in plan.monitoring if m.kind == "review" and m.date]
    if reviews:
        first_review = min(reviews)
        box.items.append(
            DoNowItem(words.text("review", "do_now"), day(first_review), first_review.isoformat())
        )
    return box


def follow_up_do_now(result: FollowUpResult, kb: KnowledgeBase) -> DoNow:
    """Next dose due (with its window, or overdue), potassium and urgent advice."""
    words = Words(kb, result.guideline)
    box = DoNow(words.text("heading", "do_now"), nothing=words.text("nothing", "do_now"))
    box.items += _alert_items(result.alerts, kb, words)
    box.items += _outcome_items(result.status, "follow_up_status", "ok", result.missing, kb, words)
    due = result.next_due
    if due is not None:
        if due.continuous:
            text = words.text("continuous", "do_now")
        else:
            text = day(due.date)
            if due.earliest != due.latest:
                text += " · " + words.text(
                    "window", "do_now", earliest=due.earliest, latest=due.latest
                )
        box.items.append(DoNowItem(words.text("next_due", "do_now"), text, due.date.isoformat()))
    if result.overdue_days:
        key = "overdue_one" if result.overdue_days == 1 else "overdue"
        box.items.append(
            DoNowItem(
                words.text("next_due", "do_now"), words.text(key, "do_now", n=result.overdue_days)
            )
        )
    for alert in _potassium_alerts(result.alerts, kb):
        box.items.append(DoNowItem(words.text("potassium", "do_now"), alert.title, code=alert.code))
    return box


def check_do_now(result: OrderCheckResult, doc: Mapping[str, Any], kb: KnowledgeBase) -> DoNow:
    """The verdict with the alerts behind it, the dose's date and timing, potassium and urgent
    advice (an alert is named once: urgent and potassium alerts have their own lines)."""
    words = Words(kb, result.guideline)
    box = DoNow(words.text("heading", "do_now"), nothing=words.text("nothing", "do_now"))
    box.items += _alert_items(result.alerts, kb, words)
    display = kb.vocabulary.display
    own_lines = (
        set(display.do_now.urgent_alerts + display.do_now.potassium_alerts) if display else set()
    )
    reasons = [
        a.title
        for a in result.alerts
        if a.severity in ("stop", "warning") and a.code not in own_lines
    ]
    verdict = words("verdicts", result.verdict)
    box.items.append(DoNowItem(verdict, "; ".join(reasons), code=result.verdict))
    order = doc.get("order") or {}
    when = _date(order.get("start")) or result.as_of
    box.items.append(DoNowItem(words.text("dose_date", "do_now"), day(when), when.isoformat()))
    timing = result.timing
    text = words("timing", timing.status)
    if timing.days_off:
        text += " " + words.text("days_off", "do_now", n=timing.days_off)
    due = timing.due
    if due is not None:
        text += " · " + words.text("due_on", "do_now", date=due.date)
        if due.earliest != due.latest:
            text += " · " + words.text("window", "do_now", earliest=due.earliest, latest=due.latest)
    box.items.append(
        DoNowItem(words.text("timing", "do_now"), text, due.date.isoformat() if due else "")
    )
    for alert in _potassium_alerts(result.alerts, kb):
        box.items.append(DoNowItem(words.text("potassium", "do_now"), alert.title, code=alert.code))
    return box
