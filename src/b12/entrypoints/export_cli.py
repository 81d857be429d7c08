"""``b12 export fhir``: the knowledge base as FHIR R4 PlanDefinition / ActivityDefinition files.

Writes ``PlanDefinition-<id>.json`` and ``ActivityDefinition-<id>.json`` (one resource each)
and ``bundle.json`` (a ``collection`` Bundle of them all) into ``--out``.  The bytes depend
only on the knowledge base and the code table (sorted keys, two-space indent).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from b12.core.errors import KnowledgeBaseError

if TYPE_CHECKING:  # the FHIR adapters and the knowledge base are imported by the commands
    from b12.adapters.fhir.outbound import Json
    from b12.core.knowledge import KnowledgeBase
    from b12.core.plan_models import Plan

export_app = typer.Typer(no_args_is_help=True, help="Export b12 content in other formats.")


def definition_files(kb: KnowledgeBase) -> dict[str, bytes]:
    """File name → bytes: one file per definition, and ``bundle.json`` with them all."""
    from b12.adapters.fhir.codes import load_code_table
    from b12.adapters.fhir.definitions import knowledge_base_resources
    from b12.adapters.fhir.outbound import to_bytes, with_id

    resources = knowledge_base_resources(kb, load_code_table(kb=kb))
    files = {f"{r['resourceType']}-{r['id']}.json": to_bytes(r) for r in resources}
    bundle: Json = with_id(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": r["url"], "resource": r} for r in resources],
        }
    )
    files["bundle.json"] = to_bytes(bundle)
    return files


def load_knowledge_base(root: Path | None = None) -> KnowledgeBase:
    """The knowledge base at ``root`` (default: the bundled one); imported when used."""
    from b12.adapters import knowledge_files

    return knowledge_files.load_knowledge_base(root)


#: The subject of a ``--fhir-out`` bundle when no Patient id is known.
UNKNOWN_PATIENT = "Patient/unknown"


def patient_reference(fhir_path: Path | None, patient: str | None) -> str:
    """``Patient/<id>``: ``--patient``, else the only Patient of the ``--fhir`` data, else
    :data:`UNKNOWN_PATIENT`."""
    if patient:
        return f"Patient/{patient}"
    if fhir_path is not None:
        from b12.adapters.fhir.inbound import load_fhir_path, patient_ids

        ids = [i for i in patient_ids(load_fhir_path(fhir_path)[0]) if "/" not in i]
        if len(ids) == 1:
            return f"Patient/{ids[0]}"
    return UNKNOWN_PATIENT


def write_plan_bundle(
    plan: Plan, kb: KnowledgeBase, path: Path, *, fhir_path: Path | None, patient: str | None
) -> None:
    """``b12 plan --fhir-out PATH``: the plan as a FHIR CarePlan Bundle file."""
    from b12.adapters.fhir.codes import load_code_table
    from b12.adapters.fhir.outbound import plan_bundle, to_bytes

    table = load_code_table(kb=kb)
    data = to_bytes(plan_bundle(plan, kb, table, patient_ref=patient_reference(fhir_path, patient)))
    try:
        path.write_bytes(data)
    except OSError as exc:
        typer.echo(f"error: {path}: cannot write: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {path}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``export fhir`` to the CLI."""
    app.add_typer(export_app, name="export")


@export_app.command("fhir")
def export_fhir(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write the JSON files into (created).")
    ] = Path("fhir"),
    kb_path: Annotated[
        Path | None, typer.Option("--kb", help="Knowledge-base folder (default: the bundled one).")
    ] = None,
) -> None:
    """Write the knowledge base as FHIR R4 PlanDefinition and ActivityDefinition files."""
    try:
        kb = load_knowledge_base(kb_path)
    except KnowledgeBaseError as err:
        for problem in err.problems:
            typer.echo(f"knowledge base error: {problem.render()}", err=True)
        raise typer.Exit(1) from None
    files = definition_files(kb)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in sorted(files.items()):
            (out / name).write_bytes(data)
    except OSError as exc:
        typer.echo(f"error: cannot write to {out}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {len(files)} files to {out}", err=True)
