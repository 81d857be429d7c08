"""FHIR R4 adapters: the code table (:mod:`.codes`), reading FHIR (:mod:`.inbound`) and
writing it (``outbound``, ``definitions``)."""

from b12.adapters.fhir.codes import CodeEntry, CodeTable, load_code_table, unverified_codings
from b12.adapters.fhir.inbound import (
    FhirPicture,
    Ignored,
    order_from_medication_request,
    picture_from_fhir,
)

__all__ = [
    "CodeEntry",
    "CodeTable",
    "FhirPicture",
    "Ignored",
    "load_code_table",
    "order_from_medication_request",
    "picture_from_fhir",
    "unverified_codings",
]
