"""Readable Rich rendering of a Plan for the terminal (``b12 plan`` without ``--json``)."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from b12.core.course_models import (
    CourseReadingOut,
    FollowUpResult,
    NextDue,
    OrderCheckResult,
)
from b12.core.plan_models import AlertOut, DoseOut, PhaseOut, Plan, ReferenceOut, SpanOut

SEVERITY_STYLE = {"stop": "bold white on red", "warning": "bold yellow", "info": "cyan"}


def _refs(refs: tuple[int, ...]) -> str:
    return f" [{', '.join(str(n) for n in refs)}]" if refs else ""


def dose_text(dose: DoseOut | None) -> str:
    """``1 mg`` or ``100–200 mcg``."""
    if dose is None:
        return ""
    value = f"{dose.value:g}" + (f"–{dose.max:g}" if dose.max is not None else "")
    return f"{value} {dose.unit}"


def _span(span: SpanOut, unit: str) -> str:
    return f"{span.min} {unit}" if span.min == span.max else f"{span.min}–{span.max} {unit}"


def _frequency(phase: PhaseOut) -> str:
    if phase.times_per_week:
        days = "/".join(d.capitalize() for d in phase.weekdays or ())
        return f"{phase.times_per_week}× a week ({days})"
    if phase.every_months is not None:
        months = phase.every_months
        return "every " + _span(months, "months" if months.max > 1 else "month")
    assert phase.every_days is not None
    return "daily" if phase.every_days.max == 1 else "every " + _span(phase.every_days, "days")


def _review_line(label: str) -> str:
    """How far the content behind an output was reviewed (every output shows it)."""
    return f"Review level: {label}"


def _header(plan: Plan, console: Console) -> None:
    head = Text()
    head.append(f"Status: {plan.status}", style="bold")
    head.append(f"   Guideline set: {plan.guideline}   As of: {plan.as_of}   Start: {plan.start}\n")
    head.append(f"Content version: {plan.content_version}   Review status: {plan.review_status}\n")
    head.append(_review_line(plan.review_label))
    parts: list[RenderableType] = [head]
    if plan.review_banner:
        parts.append(Text(plan.review_banner, style="bold white on red"))
    console.print(Panel(Group(*parts), title="b12 treatment plan", expand=True))


def _pathway(plan: Plan, console: Console) -> None:
    console.print(f"[bold]Pathway:[/bold] {plan.pathway.title} [dim]({plan.pathway.id})[/dim]")
    for why in plan.pathway.why:
        console.print(f"  • {why.text}{_refs(why.refs)}")
    for alt in plan.pathway.alternatives:
        console.print(f"  [dim]Not chosen: {alt.title} — {alt.why_not}[/dim]")
    if plan.missing:
        console.print("\n[bold]More information needed[/bold]")
        for miss in plan.missing:
            console.print(f"  • {miss.field}: {miss.why}{_refs(miss.refs)}")


def _length(phase: PhaseOut) -> str:
    if phase.count:
        return f"{phase.count} doses"
    if phase.for_days:
        return f"{phase.for_days} days"
    if phase.until:
        return f"until {phase.until.replace('_', ' ')}"
    return "ongoing"


def _regimen(plan: Plan, console: Console) -> None:
    reg = plan.regimen
    if reg is None:
        return
    table = Table(title=f"Regimen: {reg.title}{_refs(reg.refs)}", title_justify="left")
    for col in ("Phase", "Dose", "Route", "Frequency", "Length", "Lifelong"):
        table.add_column(col)
    for ph in reg.phases:
        table.add_row(
            ph.name,
            dose_text(ph.dose),
            reg.route.upper(),
            _frequency(ph),
            _length(ph),
            "yes" if ph.lifelong else "no",
        )
    console.print(table)


def _schedule(plan: Plan, console: Console) -> None:
    if not plan.schedule:
        return
    table = Table(title="Schedule", title_justify="left")
    for col in ("Date", "What", "Dose", "Window", "Notes"):
        table.add_column(col)
    for e in plan.schedule:
        window = f"{e.window.earliest} → {e.window.latest}" if e.window else ""
        what = f"{e.kind} ({e.phase})" if e.phase else e.kind
        note = e.text if e.kind != "dose" else (f"then {e.repeats}" if e.repeats else "")
        if e.repeat is not None:  # a run of doses or reviews (issue 16): say what it stands for
            note = (e.repeats or "") if e.kind == "dose" else f"{e.text} ({e.repeats})"
        table.add_row(str(e.date), what, dose_text(e.dose), window, note + _refs(e.refs))
    console.print(table)
    if plan.schedule_note:
        console.print(f"[italic]{plan.schedule_note}[/italic]")


def _lists(plan: Plan, console: Console) -> None:
    if plan.monitoring:
        console.print("\n[bold]Monitoring[/bold]")
        for m in plan.monitoring:
            when = str(m.date) if m.date else f"when {m.after}"
            console.print(f"  • {when}: {', '.join(m.tests)} — {m.why}{_refs(m.refs)}")
    if plan.alerts:
        console.print("\n[bold]Alerts[/bold]")
        for a in plan.alerts:
            console.print(
                Text(f"  {a.severity.upper():8}", style=SEVERITY_STYLE[a.severity]), end=""
            )
            console.print(f" {a.code}: {a.message}{_refs(a.refs)}")
    if plan.disagreements:
        console.print("\n[bold]Where the sources disagree[/bold]")
        for d in plan.disagreements:
            console.print(f"  [bold]{d.topic}[/bold]")
            for pos in d.positions:
                console.print(f"    – {pos.says}{_refs(pos.refs)}")
    console.print("\n[bold]References[/bold]")
    for r in plan.references:
        console.print(
            f"  {r.n}. {r.citation} — {r.locator} [dim]({r.evidence}; {r.verification})[/dim]"
        )
    console.print(f"\n[dim]{plan.disclaimer}[/dim]")


def render_plan(plan: Plan, console: Console) -> None:
    """Print the whole plan: header, pathway, regimen, schedule, monitoring, alerts, references."""
    _header(plan, console)
    _pathway(plan, console)
    _regimen(plan, console)
    _schedule(plan, console)
    _lists(plan, console)


VERDICT_STYLE = {
    "stop": "bold white on red",
    "warn": "bold black on yellow",
    "ok": "bold white on green",
}


def _alert_lines(alerts: tuple[AlertOut, ...], console: Console) -> None:
    for a in alerts:
        console.print(Text(f"  {a.severity.upper():8}", style=SEVERITY_STYLE[a.severity]), end="")
        console.print(f" {a.code}: {a.message}{_refs(a.refs)}")


def _footer(
    references: tuple[ReferenceOut, ...], disclaimer: str, banner: str | None, console: Console
) -> None:
    if references:
        console.print("\n[bold]References[/bold]")
        for r in references:
            console.print(
                f"  {r.n}. {r.citation} — {r.locator} [dim]({r.evidence}; {r.verification})[/dim]"
            )
    if banner:
        console.print(Text(banner, style="bold white on red"))
    console.print(f"\n[dim]{disclaimer}[/dim]")


def _due_text(due: NextDue | None) -> str:
    if due is None:
        return "not applicable"
    if due.continuous:
        return f"daily, continuing (from {due.date})"
    window = "" if due.earliest == due.latest else f" (window {due.earliest} → {due.latest})"
    return f"{due.date}{window}"


BASIS_TEXT = {
    "declared": "as declared",
    "inferred": "inferred from the spacing of the doses",
    "ambiguous": "UNCLEAR from the record (counted from the first recorded dose)",
}


def course_text(course: CourseReadingOut | None) -> str | None:
    """How the phase was read, in words; ``None`` when simply counted from the first dose."""
    if course is None or course.basis == "recorded":
        return None
    parts = [BASIS_TEXT[course.basis]]
    if course.basis == "declared" and course.pattern != "declared_maintenance":
        parts.append(course.pattern.removeprefix("declared_").replace("_", " "))
    elif course.basis == "inferred":
        plural = "dose" if course.doses_read == 1 else "doses"
        parts.append(f"{course.doses_read} {plural} read")
    else:
        parts.append(course.pattern.replace("_", " "))
    if course.loading_ended:
        parts.append(f"loading ended {course.loading_ended}")
    if course.maintenance_since:
        parts.append(f"maintenance since {course.maintenance_since}")
    if course.every_months:
        parts.append(f"patient's interval every {course.every_months} months")
    return "; ".join(parts)


def render_order_check(result: OrderCheckResult, console: Console) -> None:
    """Print an order check: verdict, timing, alerts, disagreements, references."""
    verdict = Text(f" {result.verdict.upper()} ", style=VERDICT_STYLE[result.verdict])
    head = Text.assemble("Verdict: ", verdict, f"   Product: {result.product}")
    head.append(f"   Guideline set: {result.guideline}   As of: {result.as_of}\n")
    head.append(
        f"Content version: {result.content_version}   Review status: {result.review_status}\n"
    )
    head.append(_review_line(result.review_label))
    console.print(Panel(head, title="b12 order check", expand=True))
    t = result.timing
    console.print(
        f"[bold]Timing:[/bold] {t.status.replace('_', ' ')}"
        + (f" — phase {t.phase}, due {_due_text(t.due)}" if t.due else "")
        + (f" ({t.days_off} days)" if t.days_off else "")
    )
    reading = course_text(result.course)
    if reading:
        console.print(f"[bold]Course:[/bold] {reading}")
    if result.alerts:
        console.print("\n[bold]Alerts[/bold]")
        _alert_lines(result.alerts, console)
    else:
        console.print("\nNo alerts.")
    for d in result.disagreements:
        console.print(f"\n[bold]Sources disagree:[/bold] {d.topic}")
        for pos in d.positions:
            console.print(f"    – {pos.says}{_refs(pos.refs)}")
    _footer(result.references, result.disclaimer, result.review_banner, console)


def render_follow_up(result: FollowUpResult, console: Console) -> None:
    """Print a follow-up: phase, next dose, overdue days, advice, alerts, references."""
    head = Text(f"Status: {result.status}", style="bold")
    head.append(f"   Guideline set: {result.guideline}   As of: {result.as_of}\n")
    head.append(
        f"Content version: {result.content_version}   Review status: {result.review_status}\n"
    )
    head.append(_review_line(result.review_label))
    console.print(Panel(head, title="b12 follow-up", expand=True))
    console.print(f"[bold]Pathway:[/bold] {result.pathway.title} [dim]({result.pathway.id})[/dim]")
    if result.regimen:
        plural = "dose" if result.doses_in_phase == 1 else "doses"
        console.print(f"[bold]Regimen:[/bold] {result.regimen.title}")
        console.print(
            f"[bold]Phase:[/bold] {result.phase} ({result.doses_in_phase} {plural} given in it)"
        )
        reading = course_text(result.course)
        if reading:
            console.print(f"[bold]Course:[/bold] {reading}")
    console.print(f"[bold]Next dose:[/bold] {_due_text(result.next_due)}")
    if result.overdue_days:
        console.print(Text(f"OVERDUE by {result.overdue_days} days", style="bold white on red"))
    for m in result.missing:
        console.print(f"  • needed: {m.field}: {m.why}{_refs(m.refs)}")
    if result.advice:
        console.print("\n[bold]Advice[/bold]")
        for a in result.advice:
            console.print(f"  • {a.text}{_refs(a.refs)} [dim]({a.evidence})[/dim]")
    if result.alerts:
        console.print("\n[bold]Alerts[/bold]")
        _alert_lines(result.alerts, console)
    _footer(result.references, result.disclaimer, result.review_banner, console)
