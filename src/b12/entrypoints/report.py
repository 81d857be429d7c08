"""Readable Rich rendering of a Plan for the terminal (``b12 plan`` without ``--json``)."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from b12.core.plan_models import DoseOut, Plan, SpanOut

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


def _frequency(phase: object) -> str:
    every_days = getattr(phase, "every_days", None)
    every_months = getattr(phase, "every_months", None)
    tpw = getattr(phase, "times_per_week", None)
    if tpw:
        days = "/".join(d.capitalize() for d in getattr(phase, "weekdays", None) or ())
        return f"{tpw}× a week ({days})"
    if every_months is not None:
        return "every " + _span(every_months, "months" if every_months.max > 1 else "month")
    assert every_days is not None
    return "daily" if every_days.max == 1 else "every " + _span(every_days, "days")


def render_plan(plan: Plan, console: Console) -> None:
    """Print the whole plan."""
    head = Text()
    head.append(f"Status: {plan.status}", style="bold")
    head.append(f"   Guideline set: {plan.guideline}   As of: {plan.as_of}   Start: {plan.start}\n")
    head.append(f"Content version: {plan.content_version}   Review status: {plan.review_status}")
    parts: list[RenderableType] = [head]
    if plan.review_banner:
        parts.append(Text(plan.review_banner, style="bold white on red"))
    console.print(Panel(Group(*parts), title="b12 treatment plan", expand=True))

    console.print(f"[bold]Pathway:[/bold] {plan.pathway.title} [dim]({plan.pathway.id})[/dim]")
    for why in plan.pathway.why:
        console.print(f"  • {why.text}{_refs(why.refs)}")
    for alt in plan.pathway.alternatives:
        console.print(f"  [dim]Not chosen: {alt.title} — {alt.why_not}[/dim]")

    if plan.missing:
        console.print("\n[bold]More information needed[/bold]")
        for miss in plan.missing:
            console.print(f"  • {miss.field}: {miss.why}{_refs(miss.refs)}")

    if plan.regimen is not None:
        reg = plan.regimen
        table = Table(title=f"Regimen: {reg.title}{_refs(reg.refs)}", title_justify="left")
        for col in ("Phase", "Dose", "Route", "Frequency", "Length", "Lifelong"):
            table.add_column(col)
        for ph in reg.phases:
            length = (
                f"{ph.count} doses"
                if ph.count
                else f"{ph.for_days} days"
                if ph.for_days
                else f"until {ph.until.replace('_', ' ')}"
                if ph.until
                else "ongoing"
            )
            table.add_row(
                ph.name,
                dose_text(ph.dose),
                reg.route.upper(),
                _frequency(ph),
                length,
                "yes" if ph.lifelong else "no",
            )
        console.print(table)

    if plan.schedule:
        table = Table(title="Schedule", title_justify="left")
        for col in ("Date", "What", "Dose", "Window", "Notes"):
            table.add_column(col)
        for e in plan.schedule:
            window = f"{e.window.earliest} → {e.window.latest}" if e.window else ""
            what = f"{e.kind} ({e.phase})" if e.phase else e.kind
            note = e.text if e.kind != "dose" else (f"then {e.repeats}" if e.repeats else "")
            table.add_row(str(e.date), what, dose_text(e.dose), window, note + _refs(e.refs))
        console.print(table)
        if plan.schedule_note:
            console.print(f"[italic]{plan.schedule_note}[/italic]")

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
