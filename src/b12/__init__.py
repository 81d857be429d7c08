"""b12: clinical decision support for vitamin B12 deficiency treatment.

The library API is pure: load the knowledge base once, then pass it and ``as_of`` in::

    from datetime import date
    import b12

    kb = b12.load_knowledge_base()
    picture = b12.parse_picture({"age": 68, "cause": "pernicious_anaemia",
                                 "labs": {"serum_b12_ng_l": 110}}, kb)
    result = b12.plan(picture, kb, as_of=date(2026, 3, 2))

The names are imported on first use (module ``__getattr__``), so ``import b12`` and any
``b12.*`` submodule import (the ``b12`` command among them) do not pay for the whole library.
"""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
    from b12.adapters.knowledge_files import load_knowledge_base
    from b12.core.course_input import parse_follow_up, parse_order_check
    from b12.core.course_models import FollowUpResult, OrderCheckResult
    from b12.core.errors import B12Error, FieldProblem, InputError, KnowledgeBaseError
    from b12.core.follow_up import follow_up
    from b12.core.knowledge import KnowledgeBase
    from b12.core.order_check import check_order
    from b12.core.picture import ClinicalPicture, parse_picture
    from b12.core.plan import PlanOptions, plan, select_pathway
    from b12.core.plan_models import Plan
    from b12.core.requests import follow_up_request, order_check_request, plan_request

#: Each public name → the module that defines it (kept in step with the imports above).
_HOMES = {
    "B12Error": "b12.core.errors",
    "ClinicalPicture": "b12.core.picture",
    "FieldProblem": "b12.core.errors",
    "FollowUpResult": "b12.core.course_models",
    "InputError": "b12.core.errors",
    "KnowledgeBase": "b12.core.knowledge",
    "KnowledgeBaseError": "b12.core.errors",
    "OrderCheckResult": "b12.core.course_models",
    "Plan": "b12.core.plan_models",
    "PlanOptions": "b12.core.plan",
    "check_order": "b12.core.order_check",
    "follow_up": "b12.core.follow_up",
    "follow_up_request": "b12.core.requests",
    "load_knowledge_base": "b12.adapters.knowledge_files",
    "order_check_request": "b12.core.requests",
    "parse_follow_up": "b12.core.course_input",
    "parse_order_check": "b12.core.course_input",
    "parse_picture": "b12.core.picture",
    "plan": "b12.core.plan",
    "plan_request": "b12.core.requests",
    "select_pathway": "b12.core.plan",
}

__all__ = [
    "B12Error",
    "ClinicalPicture",
    "FieldProblem",
    "FollowUpResult",
    "InputError",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "OrderCheckResult",
    "Plan",
    "PlanOptions",
    "check_order",
    "follow_up",
    "follow_up_request",
    "load_knowledge_base",
    "order_check_request",
    "parse_follow_up",
    "parse_order_check",
    "parse_picture",
    "plan",
    "plan_request",
    "select_pathway",
]


def __getattr__(name: str) -> _Any:
    """Import a public name on first use and keep it (later lookups are plain attributes)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'b12' has no attribute {name!r}")
    value = getattr(_import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (imported or not yet) and the module's own attributes."""
    return sorted({*globals(), *__all__})
