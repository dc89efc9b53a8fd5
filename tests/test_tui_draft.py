"""The question screens' model: defaults from the facts, the engine's validators, raw text kept."""

from __future__ import annotations

import pytest

from screens.draft import CHOICES, Draft, defaults_for, kind, parse
from screens.output import StepOutput, clean, cut_to_last_lines, last_lines
from wizard.answers import FIELD_BY_KEY, FIELDS
from wizard.validators import Invalid

from tui_helpers import fixed_facts, sample_answers


@pytest.mark.parametrize("dotted", sorted(CHOICES))
def test_every_listed_choice_is_one_the_validator_accepts(dotted):
    field = FIELD_BY_KEY[dotted]
    for option in CHOICES[dotted]:
        assert field.check(option) == option
    with pytest.raises(Invalid):
        field.check("not-an-option")


def test_every_field_has_a_widget_kind():
    kinds = {f.dotted: kind(f) for f in FIELDS}
    assert kinds["system.update_packages"] == "bool"
    assert kinds["app.workers"] == "int"
    assert kinds["site.domains"] == "list"
    assert kinds["https.mode"] == "choice"
    assert kinds["app.name"] == "text"


def test_defaults_come_from_the_facts():
    answers = defaults_for(fixed_facts(cores=4, default_user="pi"))
    assert answers.app.user == "hello" and answers.app.create_user  # a dedicated user, not the login user
    assert answers.app.workers == 9
    assert answers.app.directory == "/srv/hello"
    assert defaults_for(fixed_facts(cores=64)).app.workers == 64  # the validator's ceiling


def test_the_folder_follows_user_and_name_until_edited():
    draft = Draft(fixed_facts())
    assert draft.set("app.name", "blog") == {"app.directory", "app.user"}
    assert draft.raw["app.directory"] == "/srv/blog" and draft.raw["app.user"] == "blog"
    draft.set("app.create_user", False)
    draft.set("app.user", "pi")
    assert draft.raw["app.directory"] == "/home/pi/blog"
    draft.set("app.directory", "/srv/www/blog")
    assert draft.set("app.name", "shop") == set()
    assert draft.raw["app.directory"] == "/srv/www/blog"


def test_apache_removal_is_asked_only_when_apache_is_installed():
    asked = [f.key for f in Draft(fixed_facts()).fields("system")]
    assert "remove_apache" not in asked
    with_apache = Draft(fixed_facts(installed={"apache2": "2.4.57-2"}))
    assert "remove_apache" in [f.key for f in with_apache.fields("system")]


def test_errors_are_the_validators_and_cross_check_messages():
    draft = Draft(fixed_facts())
    draft.set("app.workers", "lots")
    assert draft.errors("app")["app.workers"] == 'must be a whole number such as workers = 4, not text ("lots")'
    draft.set("app.workers", "0")
    assert draft.errors("app")["app.workers"] == "must be a whole number of at least 1, got 0"
    assert "https.agree_tos" in draft.errors("https")  # cross_check: HTTPS on, terms not agreed
    assert "site.domains" in draft.errors("site")
    assert draft.shown_errors("site") == {}  # an untouched empty field is not scolded before Next


def test_a_complete_draft_gives_the_same_answers_back():
    answers = sample_answers()
    draft = Draft(fixed_facts(), answers)
    assert draft.errors() == {}
    assert draft.answers() == answers


def test_list_fields_parse_like_a_person_types_them():
    packages = FIELD_BY_KEY["app.packages"]
    assert packages.check(parse(packages, "flask, gunicorn>=21,<23  requests")) == [
        "flask", "gunicorn>=21,<23", "requests"]
    domains = FIELD_BY_KEY["site.domains"]
    assert domains.check(parse(domains, "Pi.Example.com, www.pi.example.com")) == [
        "pi.example.com", "www.pi.example.com"]


def test_output_is_cleaned_and_bounded():
    assert clean("\x1b[1mbold\x1b[0m\r\n") == "bold\n"
    assert clean("10%\r50%\r100%\nnext\n") == "100%\nnext\n"
    out = StepOutput(max_lines=3)
    out.feed("a\nb\nc\nd\npart")
    assert list(out.lines) == ["b", "c", "d"] and out.partial == "part"
    assert out.feed("ial\n") == ["partial"]
    assert out.tail(2) == ["d", "partial"]
    assert last_lines("\n".join(str(i) for i in range(10)), 3) == "6\n7\n8\n9"
    assert cut_to_last_lines("a\nb\nc\nd\n", 2) == ("c\nd\n", True)
    assert cut_to_last_lines("a\nb\n", 2) == ("a\nb\n", False)
