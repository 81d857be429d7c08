"""What a browser would submit: the controls of a form, found in a page's HTML.

Enough of HTML form submission for the registry pages: ``input`` (text, date, hidden),
``select`` (the selected option, else the first), ``textarea`` and the submit button pressed.
A control belongs to the form given by its ``form`` attribute, else to the ``<form>`` around it
(the HTML form-owner rule), so a test cannot be fooled by a button that submits another form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Control:
    """One named control: its form owner, kind and current value."""

    name: str
    owner: str | None
    kind: str
    value: str
    element_id: str | None = None


@dataclass
class _Select:
    name: str
    owner: str | None
    element_id: str | None
    options: list[tuple[str, bool]] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: list[Control] = []
        self.form: str | None = None
        self.select: _Select | None = None
        self.textarea: Control | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        owner = a.get("form") or self.form
        if tag == "form":
            self.form = a.get("id") or "?"
        elif tag in ("input", "button") and (a.get("name") or a.get("id")):
            kind = a.get("type", "submit" if tag == "button" else "text")
            self.controls.append(
                Control(a.get("name", ""), owner, kind, a.get("value", ""), a.get("id"))
            )
        elif tag == "select" and a.get("name"):
            self.select = _Select(a["name"], owner, a.get("id"))
        elif tag == "option" and self.select is not None:
            self.select.options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self.textarea = Control(a["name"], owner, "textarea", "", a.get("id"))

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag == "select" and self.select is not None:
            chosen = [v for v, sel in self.select.options if sel] or [
                v for v, _ in self.select.options[:1]
            ]
            s = self.select
            value = chosen[0] if chosen else ""
            self.controls.append(Control(s.name, s.owner, "select", value, s.element_id))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.controls.append(self.textarea)
            self.textarea = None


def controls(page: str) -> list[Control]:
    """Every named control of ``page``, with its form owner."""
    parser = _Parser()
    parser.feed(page)
    return parser.controls


def submission(page: str, button_id: str, edits: dict[str, str] | None = None) -> dict[str, str]:
    """What pressing the button ``button_id`` submits after the user typed ``edits``.

    Like a user, ``edits`` change the first visible control of each name on the page (a user
    cannot type into a hidden input), wherever it is; what is submitted is then every control
    whose form owner is the button's, as a browser does.
    """
    found = controls(page)
    for name, value in (edits or {}).items():
        visible = [c for c in found if c.name == name and c.kind not in ("hidden", "submit")]
        assert visible, f"the page has no visible {name!r} control to edit"
        visible[0].value = value
    buttons = [c for c in found if c.element_id == button_id]
    assert buttons, f"no button #{button_id} on the page"
    button = buttons[0]
    data: dict[str, str] = {}
    for c in found:
        if c.owner == button.owner and c.name and c.kind not in ("submit", "button", "reset"):
            data.setdefault(c.name, c.value)
    if button.kind == "submit" and button.name:
        data[button.name] = button.value
    return data
