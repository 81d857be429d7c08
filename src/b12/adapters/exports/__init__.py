"""Plan exports: iCalendar (``ics``), printable patient plan (``pdf``), SVG timeline
(``timeline``).  Each takes a finished :class:`~b12.core.plan_models.Plan` and returns bytes or
text; the same plan always gives byte-identical output (no clock, no random ids).
"""

from b12.adapters.exports.ics import plan_to_ics
from b12.adapters.exports.pdf import plan_to_pdf
from b12.adapters.exports.timeline import plan_timeline_svg

__all__ = ["plan_timeline_svg", "plan_to_ics", "plan_to_pdf"]
