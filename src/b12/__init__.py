"""b12: clinical decision support for vitamin B12 deficiency treatment.

The library API is pure: load the knowledge base once, then pass it and ``as_of`` in::

    from datetime import date
    import b12

    kb = b12.load_knowledge_base()
    picture = b12.parse_picture({"age": 68, "cause": "pernicious_anaemia",
                                 "labs": {"serum_b12_ng_l": 110}}, kb)
    result = b12.plan(picture, kb, as_of=date(2026, 3, 2))
"""

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
