"""Questions: one screen per section of the answers, built from ``wizard.answers.FIELDS``.

Every keystroke goes into the app's :class:`~screens.draft.Draft` and is checked there by the engine's own
validators; the message appears under the field. Next is refused while a field is wrong; Back keeps what
was typed (the draft, not the widgets, holds it).
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from wizard.answers import SECTIONS, Field

from .draft import CHOICES, LABELS, SECTION_INTROS, SECTION_TITLES, Draft, kind
from .widgets import TitleBar, TypedInput


class YesNo(Checkbox):
    """A checkbox that says what it is without colour: "[x] yes" / "[ ] no" (readable with NO_COLOR)."""

    BUTTON_LEFT = "["
    BUTTON_RIGHT = "]"

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.assemble("[", ("x" if self.value else " ", style), "]")

    def watch_value(self) -> None:
        super().watch_value()
        self.label = "yes" if self.value else "no"


def widget_id(field: Field) -> str:
    return f"f-{field.section}-{field.key}"


def field_widget(field: Field, raw: Any) -> Widget:
    wid = widget_id(field)
    k = kind(field)
    if k == "bool":
        return YesNo("yes" if raw else "no", bool(raw), id=wid, compact=True)
    if k == "choice":
        return Select([(o, o) for o in CHOICES[field.dotted]], value=raw, allow_blank=False, id=wid,
                      compact=True)
    placeholder = "pi.example.com, www.pi.example.com" if field.dotted == "site.domains" else ""
    return TypedInput(str(raw), placeholder=placeholder, id=wid, compact=True, select_on_focus=False)


class FieldRow(Vertical):
    """Label and widget on one line, the help line under it, then the message when the value is wrong."""

    def __init__(self, field: Field, raw: Any) -> None:
        super().__init__(id=f"row-{field.section}-{field.key}", classes="field-row")
        self.field = field
        self.raw = raw

    def compose(self) -> ComposeResult:
        required = " *" if self.field.required else ""
        with Horizontal(classes="field-line"):
            yield Label(LABELS.get(self.field.dotted, self.field.key) + required, classes="field-label")
            yield field_widget(self.field, self.raw)
        yield Static(escape(self.field.help), classes="field-help")
        yield Static("", classes="field-error")

    def show_error(self, message: str | None) -> None:
        error = self.query_one(".field-error", Static)
        error.update(f"✗ {escape(message)}" if message else "")
        error.display = bool(message)
        self.set_class(bool(message), "invalid")


class CredentialRow(Vertical):
    """One setting of the DNS provider's credentials file; a secret one is masked and goes only to that file."""

    def __init__(self, key: str, label: str, secret: bool, value: str) -> None:
        super().__init__(id=f"row-dns-{key}", classes="field-row")
        self.key, self.label, self.secret, self.value = key, label, secret, value

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-line"):
            yield Label(self.label, classes="field-label")
            yield TypedInput(self.value, password=self.secret, id=f"dnsv-{self.key}", compact=True,
                             select_on_focus=False)
        yield Static("written to a file only root can read (0600); never saved, logged or shown"
                     if self.secret else f"for {self.key}", classes="field-help")


class QuestionsScreen(Screen):
    CSS_PATH = "questions.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+n", "next", "Next", priority=True),
    ]

    def __init__(self, section: str) -> None:
        super().__init__(name=section)
        self.section = section
        index = SECTIONS.index(section) + 1
        self.sub_title = f"Questions {index}/{len(SECTIONS)}: {SECTION_TITLES[section]}"

    @property
    def draft(self) -> Draft:
        assert self.app.draft is not None
        return self.app.draft

    def compose(self) -> ComposeResult:
        yield TitleBar(self.sub_title)
        self._composed = self._shape()
        with VerticalScroll(id="form"):
            yield Static(f"[b]{SECTION_TITLES[self.section]}[/b]: {escape(SECTION_INTROS[self.section])}",
                         classes="intro")
            for field in self.draft.fields(self.section):
                yield FieldRow(field, self.draft.raw[field.dotted])
                if field.dotted == "https.dns_provider":
                    for key, label, secret in self.draft.dns_settings():
                        yield CredentialRow(key, label, secret, self.draft.dns_values.get(key, ""))
        with Horizontal(classes="buttons"):
            yield Button("Back", id="back", compact=True)
            last = self.section == SECTIONS[-1]
            yield Button("Review" if last else "Next", id="next", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.show_errors()
        rows = list(self.query(FieldRow))
        if rows:
            self._widget(rows[0].field).focus()

    def _widget(self, field: Field) -> Widget:
        return self.query_one(f"#{widget_id(field)}")

    def _row(self, dotted: str) -> FieldRow | None:
        section, key = dotted.split(".")
        rows = self.query(f"#row-{section}-{key}")
        return rows.first(FieldRow) if rows else None  # type: ignore[return-value]

    def show_errors(self) -> dict[str, str]:
        shown = self.draft.shown_errors(self.section)
        for row in self.query(FieldRow):
            row.show_error(shown.get(row.field.dotted))
        return shown

    def _changed(self, widget: Widget, value: Any) -> None:
        credential = next((a for a in widget.ancestors if isinstance(a, CredentialRow)), None)
        if credential is not None:
            self.draft.dns_values[credential.key] = str(value)
            self.show_errors()
            return
        row = next((a for a in widget.ancestors if isinstance(a, FieldRow)), None)
        if row is None:
            return
        for dotted in self.draft.set(row.field.dotted, value):
            other = self._row(dotted)
            if other is not None:
                widget_of = self._widget(other.field)
                if isinstance(widget_of, Input):
                    # Our own update must not come back as Input.Changed: arriving late, with an older
                    # value, it would read as the user editing the folder and stop it following the name.
                    with widget_of.prevent(Input.Changed):
                        widget_of.value = str(self.draft.raw[dotted])
                    widget_of.cursor_position = len(widget_of.value)
        if self._shape() != self._composed:
            self._composed = self._shape()
            self.call_later(self._rebuild, row.field)  # a choice that brings or hides questions (dns-01)
        self.show_errors()

    def _shape(self) -> tuple[list[Field], tuple[tuple[str, str, bool], ...]]:
        """The questions the answers so far call for: when a choice changes them, the form is rebuilt."""
        return self.draft.fields(self.section), self.draft.dns_settings()

    async def _rebuild(self, keep: Field) -> None:
        """Compose the form again for the questions the new choice asks; the focus stays on that choice."""
        await self.recompose()
        self.show_errors()
        self._widget(keep).focus()

    def _write_credentials(self) -> bool:
        """The DNS token typed here goes into its root-only file now, and out of the form."""
        try:
            path = self.draft.write_credentials()
        except OSError as error:
            self.notify(f"The DNS credentials could not be written: {error}", severity="error", timeout=6)
            return False
        if path is not None:
            for row in list(self.query(CredentialRow)):
                box = row.query_one(Input)
                with box.prevent(Input.Changed):
                    box.value = ""
            field_row = self._row("https.dns_credentials")
            if field_row is not None:
                widget = self._widget(field_row.field)
                with widget.prevent(Input.Changed):
                    widget.value = path  # type: ignore[attr-defined]
            self.notify(f"DNS credentials written to {path} (root only, 0600).", timeout=4)
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        self._changed(event.input, event.value)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._changed(event.checkbox, event.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._changed(event.select, event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves on: to the next field, or from the last one to the next screen."""
        rows = list(self.query(".field-row"))
        current = next((i for i, r in enumerate(rows) if event.input in r.query(Input)), None)
        if current is None or current + 1 >= len(rows):
            self.action_next()
        else:
            rows[current + 1].query("Input, Select, Checkbox").first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            self.action_back()
        elif event.button.id == "next":
            self.action_next()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_next(self) -> None:
        self.draft.attempted.add(self.section)
        if not self._write_credentials():
            return
        errors = self.show_errors()
        if errors:
            first = next(r for r in self.query(FieldRow) if r.field.dotted in errors)
            self._widget(first.field).focus()
            first.scroll_visible()
            count = len(errors)
            self.notify(f"{count} answer{'s' if count > 1 else ''} on this page need{'s' if count == 1 else ''} "
                        "fixing first.", severity="error", timeout=4)
            self.app.bell()
            return
        self.app.after_section(self.section)
