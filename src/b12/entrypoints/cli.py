"""The ``b12`` command line.  Thin: read input, call the core, print; map errors to exit codes.

Exit codes: 0 success; 1 the knowledge base is invalid or an internal error; 2 bad input;
3 refused; 4 not found; 5 database unavailable; 6 conflict (see ``cli_common``).  Shared helpers
(reading documents, errors, the clock) live in :mod:`b12.entrypoints.cli_common`.

Start-up (issue 16): a command imports only what it uses.  This module imports Typer and the
light shared helpers; each command imports the core, Rich or the database inside its body.
The command groups of the other ``*_cli`` modules are loaded by :class:`LazyGroup` when one of
their commands is asked for (``b12 --help`` and an unknown command load them all), so
``b12 plan`` neither imports nor builds the registry, account or server commands.
"""

from __future__ import annotations

import gc
import importlib
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from b12.core.errors import FieldProblem, InputError, KnowledgeBaseError
from b12.entrypoints import cli_common
from b12.entrypoints.cli_common import fail_input, parse_day, read_document, today

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console
    from typer import _click as click  # Typer vendors Click; its types, for annotations

    from b12.core.knowledge import KnowledgeBase
    from b12.core.plan_models import Plan

    CourseCompute = Callable[..., BaseModel]

#: Commands defined by the other command modules: name → module (in ``b12 --help`` order).
LAZY_COMMANDS = {
    "recall": "registry_cli",
    "serve": "serve_cli",
    "ask": "ask_cli",
    "db": "registry_cli",
    "patient": "registry_cli",
    "dose": "registry_cli",
    "event": "registry_cli",
    "registry": "register_cli",
    "user": "accounts_cli",
    "token": "accounts_cli",
    "export": "export_cli",
    "cds": "cds_cli",
}
#: The order of ``b12 --help``: this module's commands first, then the loaded ones.
HELP_ORDER = ("plan", "check", "next", "schema", "recall", "serve", "ask", "kb")


class LazyGroup(TyperGroup):
    """The root command group: other modules' commands are imported and built on first use."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: set[str] = set()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            self._load(LAZY_COMMANDS[cmd_name])
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_all()
        names = list(self.commands)
        rank = {name: i for i, name in enumerate(HELP_ORDER)}
        return sorted(names, key=lambda n: (rank.get(n, len(rank)), names.index(n)))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and args[0] not in LAZY_COMMANDS:
            self._load_all()  # an unknown name: suggest among every command
        return super().resolve_command(ctx, args)

    def _load_all(self) -> None:
        for module in dict.fromkeys(LAZY_COMMANDS.values()):
            self._load(module)

    def _load(self, module: str) -> None:
        if module in self._loaded:
            return
        self._loaded.add(module)
        holder = typer.Typer(rich_markup_mode=self.rich_markup_mode)
        register = importlib.import_module(f"b12.entrypoints.{module}").register
        if module == "ask_cli":
            register(holder, _load_kb)
        else:
            register(holder)
        for name, command in typer.main.get_group(holder).commands.items():
            self.commands.setdefault(name, command)


app = typer.Typer(
    cls=LazyGroup,
    add_completion=False,
    no_args_is_help=True,
    help="b12: clinical decision support for vitamin B12 deficiency treatment.",
    pretty_exceptions_enable=False,
    # Plain (Click) help and usage errors: Typer's Rich help alone costs ~12x `python -c pass`
    # in imports (rich.markdown, markdown-it), more than the whole --help budget (issue 16).
    rich_markup_mode=None,
)
kb_app = typer.Typer(no_args_is_help=True, help="Inspect and check the knowledge base.")
app.add_typer(kb_app, name="kb")

KbOption = Annotated[
    Path | None, typer.Option("--kb", help="Knowledge-base folder (default: the bundled one).")
]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print the contract JSON instead of a report.")
]


def _fail_input(err: InputError) -> NoReturn:
    fail_input(err)


def load_knowledge_base(root: Path | None = None) -> KnowledgeBase:
    """The knowledge base at ``root`` (default: the bundled one), from the compiled cache when
    the content is unchanged; the loader is imported by the commands that need it."""
    from b12.adapters import knowledge_files

    return knowledge_files.load_knowledge_base(root)


def _load_kb(path: Path | None, *, check: bool = False) -> KnowledgeBase:
    """The knowledge base, or exit 1 listing its problems.  ``check``: parse and validate the
    files now, never the compiled copy (``kb check``)."""
    try:
        if check:
            from b12.adapters.knowledge_files import check_knowledge_base

            return check_knowledge_base(path)
        return load_knowledge_base(path)
    except KnowledgeBaseError as err:
        for problem in err.problems:
            typer.echo(f"knowledge base error: {problem.render()}", err=True)
        raise typer.Exit(1) from None


@app.command("plan")
def plan_command(
    source: Annotated[
        str | None,
        typer.Argument(metavar="FILE|-", help="ClinicalPicture JSON (or - for stdin)."),
    ] = None,
    as_json: JsonFlag = False,
    guideline: Annotated[
        str | None, typer.Option(help="Guideline set: uk or us (overrides the input).")
    ] = None,
    horizon: Annotated[
        str | None,
        typer.Option(help="How far ahead to date the schedule, e.g. 12m (default: the KB's)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Today's date for the plan (default: the input's as_of, else today)."
        ),
    ] = None,
    allow_draft: Annotated[
        bool,
        typer.Option(
            "--allow-draft",
            help="Also use content not yet approved (marks the output pending review).",
        ),
    ] = False,
    ics_path: Annotated[
        Path | None,
        typer.Option("--ics", help="Also write the dated schedule as an iCalendar file."),
    ] = None,
    ics_each_dose: Annotated[
        bool,
        typer.Option(
            "--ics-each-dose",
            help="With --ics: one event per dose and review, not one repeating event per run.",
        ),
    ] = False,
    pdf_path: Annotated[
        Path | None,
        typer.Option("--pdf", help="Also write the printable patient plan as a PDF file."),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option(help="Who the .ics / .pdf is for (printed on them; no patient data needed)."),
    ] = None,
    kb_path: KbOption = None,
    fhir_path: Annotated[
        Path | None,
        typer.Option(
            "--fhir",
            help="Plan from FHIR R4 instead: a Bundle .json, an .ndjson file or a folder of them.",
        ),
    ] = None,
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="With --fhir: the Patient id when there are several."),
    ] = None,
    fhir_out: Annotated[
        Path | None,
        typer.Option("--fhir-out", help="Also write the plan as a FHIR R4 CarePlan Bundle."),
    ] = None,
) -> None:
    """Print the treatment plan for a clinical picture (or for FHIR data with --fhir)."""
    from b12.core.plan import PlanOptions
    from b12.core.requests import parse_horizon, plan_request

    kb = _load_kb(kb_path)
    try:
        months = parse_horizon(horizon) if horizon is not None else None
        default_as_of = parse_day(as_of, "as_of") if as_of is not None else today()
        if (source is None) == (fhir_path is None):
            raise InputError([FieldProblem("input", "give a FILE (or -) or --fhir, not both")])
        if fhir_path is not None:
            raw: Any = _picture_from_fhir(fhir_path, patient, default_as_of, kb)
        else:
            assert source is not None
            raw = read_document(source)
        if as_of is not None and isinstance(raw, dict):
            raw = {**raw, "as_of": as_of}
        _, result = plan_request(
            raw,
            kb,
            default_as_of=default_as_of,
            guideline=guideline,
            options=PlanOptions(horizon_months=months, allow_draft=allow_draft),
        )
    except InputError as err:
        _fail_input(err)
    if ics_path is not None or pdf_path is not None:
        _write_plan_exports(result, kb, ics_path, pdf_path, label, each_dose=ics_each_dose)
    if fhir_out is not None:
        from b12.entrypoints import export_cli

        export_cli.write_plan_bundle(result, kb, fhir_out, fhir_path=fhir_path, patient=patient)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        from rich.console import Console

        from b12.entrypoints.report import render_plan

        render_plan(result, Console())


def _picture_from_fhir(
    path: Path, patient: str | None, as_of: date, kb: KnowledgeBase
) -> dict[str, Any]:
    """Read FHIR data into a picture; print what was ignored (and notes) on stderr."""
    from b12.adapters.fhir.codes import load_code_table
    from b12.adapters.fhir.inbound import load_fhir_path, picture_from_fhir

    if not path.exists():
        raise InputError([FieldProblem("fhir", f"no such file or folder: {path}")])
    items, skipped = load_fhir_path(path)
    result = picture_from_fhir(items, load_code_table(kb=kb), as_of=as_of, patient=patient)
    for item in (*skipped, *result.ignored):
        typer.echo(f"ignored: {item.render()}", err=True)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if result.findings:
        recorded = ", ".join(result.findings)
        typer.echo(f"note: also recorded (not used by the plan): {recorded}", err=True)
    return result.picture


def _write_plan_exports(
    result: Plan,
    kb: KnowledgeBase,
    ics: Path | None,
    pdf: Path | None,
    label: str | None,
    *,
    each_dose: bool = False,
) -> None:
    """Write the ``--ics`` / ``--pdf`` files; exit 2 when the plan has no dated schedule."""
    if result.status != "plan" or not result.schedule:
        _fail_input(
            InputError(
                [
                    FieldProblem(
                        "--ics/--pdf",
                        f"nothing to export: the plan status is {result.status!r} "
                        "with no dated schedule",
                    )
                ]
            )
        )
    from b12.adapters.exports import plan_to_ics, plan_to_pdf
    from b12.core.patient_view import patient_view

    outputs: list[tuple[Path, bytes]] = []
    if ics is not None:
        outputs.append((ics, plan_to_ics(result, label=label, expand=each_dose)))
    if pdf is not None:
        outputs.append((pdf, plan_to_pdf(result, patient_view(result, kb), label=label)))
    for path, data in outputs:
        try:
            path.write_bytes(data)
        except OSError as exc:
            _fail_input(InputError([FieldProblem(str(path), f"cannot write: {exc.strerror}")]))
        typer.echo(f"wrote {path}", err=True)


def _course_input(source: str, as_of: str | None) -> tuple[Any, date]:
    default_as_of = parse_day(as_of, "as_of") if as_of is not None else today()
    raw = read_document(source)
    if as_of is not None and isinstance(raw, dict):
        raw = {**raw, "as_of": as_of}
    return raw, default_as_of


AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Today's date (default: the input's as_of, else today)."),
]
DraftFlag = Annotated[
    bool,
    typer.Option("--allow-draft", help="Also use content not yet approved (marks the output)."),
]


def _course_command(
    source: str,
    as_of: str | None,
    allow_draft: bool,
    kb_path: Path | None,
    compute: CourseCompute,
    render: Callable[[Any, Console], None],
    as_json: bool,
) -> None:
    """Shared body of ``check`` and ``next``: read, validate, compute, print."""
    from rich.console import Console

    from b12.core.plan import PlanOptions

    kb = _load_kb(kb_path)
    try:
        raw, default_as_of = _course_input(source, as_of)
        options = PlanOptions(allow_draft=allow_draft)
        result = compute(raw, kb, default_as_of=default_as_of, options=options)
    except InputError as err:
        _fail_input(err)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        render(result, Console())


@app.command("check")
def check_command(
    source: Annotated[
        str, typer.Argument(metavar="FILE|-", help="OrderCheck JSON (or - for stdin).")
    ],
    as_json: JsonFlag = False,
    as_of: AsOfOption = None,
    allow_draft: DraftFlag = False,
    kb_path: KbOption = None,
) -> None:
    """Check a proposed order: verdict ok / warn / stop, with cited alerts."""
    from b12.core.requests import order_check_request
    from b12.entrypoints.report import render_order_check

    _course_command(
        source, as_of, allow_draft, kb_path, order_check_request, render_order_check, as_json
    )


@app.command("next")
def next_command(
    source: Annotated[
        str, typer.Argument(metavar="FILE|-", help="FollowUp JSON (or - for stdin).")
    ],
    as_json: JsonFlag = False,
    as_of: AsOfOption = None,
    allow_draft: DraftFlag = False,
    kb_path: KbOption = None,
) -> None:
    """Say when the next dose is due, whether it is overdue, and what to change."""
    from b12.core.requests import follow_up_request
    from b12.entrypoints.report import render_follow_up

    _course_command(
        source, as_of, allow_draft, kb_path, follow_up_request, render_follow_up, as_json
    )


@app.command("schema")
def schema_command(
    name: Annotated[str, typer.Argument(help="Contract name, e.g. ClinicalPicture or Plan.")],
) -> None:
    """Print the JSON Schema of a public contract type."""
    from b12.core.schemas import json_schema, schema_names

    if name not in schema_names():
        _fail_input(
            InputError(
                [
                    FieldProblem(
                        "name", f"unknown schema {name!r}; known: {', '.join(schema_names())}"
                    )
                ]
            )
        )
    typer.echo(json.dumps(json_schema(name), indent=2, sort_keys=True))


@kb_app.command("check")
def kb_check(
    kb_path: KbOption = None,
    vignettes: Annotated[
        Path | None,
        typer.Option(
            help="Vignette folder for the coverage check (default: tests/vignettes/cases)."
        ),
    ] = None,
) -> None:
    """Validate the knowledge base; with vignettes, check every approved item is exercised."""
    from b12.adapters.knowledge_files import cached_coverage

    kb = _load_kb(kb_path, check=True)
    folder = vignettes or Path("tests/vignettes/cases")
    problems: list[str] = []
    cached = False

    def run_every_vignette() -> list[str]:
        from b12.adapters.vignettes import coverage_problems, load_vignettes

        return coverage_problems(kb, load_vignettes(folder))

    if folder.is_dir():
        try:
            problems, cached = cached_coverage(kb_path, folder, run_every_vignette)
        except InputError as err:
            _fail_input(err)
    elif vignettes is not None:
        _fail_input(InputError([FieldProblem("vignettes", f"no such folder {str(vignettes)!r}")]))
    else:
        typer.echo(f"note: no vignette folder at {folder}; coverage not checked", err=True)
    now = today()
    overdue = [
        r.id
        for r in kb.recommendations.values()
        if r.status == "approved" and r.review.next_review_due < now
    ]
    counts = {
        s: sum(1 for r in kb.recommendations.values() if r.status == s)
        for s in ("approved", "draft", "submitted", "in-review", "retired")
    }
    levels = {
        v: sum(1 for r in kb.recommendations.values() if r.review.level == v)
        for v in ("none", "engineering", "clinical")
    }
    typer.echo(
        f"knowledge base OK: {len(kb.recommendations)} recommendations {counts}, "
        f"{len(kb.regimens)} regimens, {len(kb.sources)} sources; "
        f"content version {kb.content_version}"
    )
    typer.echo(f"review levels: {levels}")
    for rid in overdue:
        typer.echo(f"warning: {rid} is past its next review date", err=True)
    if folder.is_dir():
        for line in problems:
            typer.echo(f"coverage: {line}", err=True)
        if problems:
            raise typer.Exit(1)
        how = "; verdict of an earlier run on these exact files and code" if cached else ""
        typer.echo(f"vignette coverage OK ({folder}{how})")


@kb_app.command("list")
def kb_list(kb_path: KbOption = None) -> None:
    """List recommendations with status, review level, evidence and jurisdiction."""
    from rich.console import Console
    from rich.table import Table

    kb = _load_kb(kb_path)
    table = Table()
    for col in ("id", "status", "review", "evidence", "jurisdiction", "kind", "title"):
        table.add_column(col)
    for r in kb.recommendations.values():
        row = (r.id, r.status, r.review.level, r.evidence, "+".join(r.jurisdiction))
        table.add_row(*row, r.action.type, r.title)
    Console(width=200).print(table)


def _bundled_kb() -> KnowledgeBase:
    return _load_kb(None)


cli_common.use_knowledge_base(_bundled_kb)


def main() -> None:
    """Console entry point.

    On the way out every live object is moved to the collector's permanent generation
    (``gc.freeze``), so the interpreter's final collections do not walk the imported models
    and the knowledge base only to free memory the process is giving back anyway: about an
    eighth of a short command's CPU time (issue 16; ``bench/cli_start.py``).  Objects are still
    released by reference counting; files are written and closed inside the commands.
    """
    try:
        app()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
