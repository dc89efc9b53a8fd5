"""The typed model, the schema's field table and the TUI's labels describe the same keys and defaults."""

from __future__ import annotations

from dataclasses import fields

from wizard import answers as answers_mod
from wizard.answers import SECTION_TYPES, Answers
from wizard.schema import FIELDS, SECTIONS


def test_every_section_type_has_exactly_the_schema_keys_in_order():
    assert list(SECTION_TYPES) == list(SECTIONS)
    for section, kind in SECTION_TYPES.items():
        assert [f.name for f in fields(kind)] == [f.key for f in FIELDS if f.section == section], section


def test_the_typed_defaults_are_the_schema_defaults():
    model = Answers()
    for spec in FIELDS:
        assert model.get(spec.dotted) == spec.default, spec.dotted
        assert type(model.get(spec.dotted)) is type(spec.default), spec.dotted


def test_a_list_default_is_never_shared():
    one, two = Answers(), Answers()
    one.app.packages.append("requests")
    one.site.domains.append("a.example")
    assert two.app.packages == answers_mod.FIELD_BY_KEY["app.packages"].default
    assert two.site.domains == [] and answers_mod.FIELD_BY_KEY["site.domains"].default == []


def test_defaults_round_trip_through_the_saved_file():
    model = Answers()
    model.site.domains = ["pi.example.com"]
    model.https.email, model.https.agree_tos = "me@example.com", True
    assert answers_mod.parse_text(answers_mod.dumps(model), "saved.toml") == model


def test_every_field_has_a_label_and_the_tui_shows_it():
    from screens.draft import LABELS

    assert all(spec.label.strip() for spec in FIELDS)
    assert LABELS == {spec.dotted: spec.label for spec in FIELDS}
    assert len(set(LABELS.values())) == len(LABELS)  # two questions never look alike
