"""Each validator on its own, with values it must take and values it must refuse; then the rules between keys,
the "did you mean" hints and the round trip through dumps().

This imports the installed ``wizard`` package (the one the console script runs).
"""

from __future__ import annotations

import os
import pwd
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import tomli

from wizard import answers as answers_mod
from wizard import validators as v
from wizard.answers import Answers, AnswersError, cross_check, from_mapping
from wizard.validators import Invalid

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "answers.toml"


@pytest.fixture(scope="module", autouse=True)
def user_pi() -> None:
    if subprocess.run(["id", "pi"], capture_output=True).returncode != 0:
        if os.geteuid() != 0:
            pytest.skip("needs the user 'pi' (only root can add it)")
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "pi"], check=True)


def refused(check, value, *fragments: str) -> str:
    with pytest.raises(Invalid) as caught:
        check(value)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- boolean -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [True, False])
def test_boolean_good(value):
    assert v.boolean(value) is value


@pytest.mark.parametrize("value", ["true", "yes", 1, 0, None, [], {}])
def test_boolean_bad(value):
    refused(v.boolean, value, "must be true or false, got")


def test_boolean_shows_toml_spelling():
    assert "got true" in refused(v.workers, True)


# --- domain / domains --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, normal", [
    ("pi.example.com", "pi.example.com"),
    ("PI.Example.COM", "pi.example.com"),
    ("pi.example.com.", "pi.example.com"),
    ("  www.pi.example.com ", "www.pi.example.com"),
    ("a-b.c-d.example", "a-b.c-d.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("a" * 63 + ".example.com", "a" * 63 + ".example.com"),
    ("4chan.example.org", "4chan.example.org"),
])
def test_domain_good(value, normal):
    assert v.domain(value) == normal


@pytest.mark.parametrize("value, fragment", [
    ("pi.example.com;", "may hold only"),
    ("pi.example.com{", "may hold only"),
    ("pi.example.com}", "may hold only"),
    ("pi.example.com\nevil.example", "control characters"),
    ("pi.example.com\revil.example", "control characters"),
    ("pi.example.com\tx", "control characters"),
    ("pi.example.com evil.example", "may hold only"),
    ('pi"x.example.com', "may hold only"),
    ("pi'x.example.com", "may hold only"),
    ("pi.example.com/x", "may hold only"),
    ("pi$x.example.com", "may hold only"),
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    (".", "must not be empty"),
    ("a" * 64 + ".example.com", "at most 63 characters, got 64"),
    ("*.example.com", "wildcards"),
    ("pi.*.example.com", "wildcards"),
    ("192.168.1.10", "IP address"),
    ("127.0.0.1", "IP address"),
    ("::1", "IP address"),
    ("2001:db8::1", "IP address"),
    ("raspberrypi", "fully qualified"),
    ("-pi.example.com", "may hold only"),
    ("pi-.example.com", "may hold only"),
    ("pi..example.com", "may hold only"),
    ("pi_x.example.com", "may hold only"),
    ("pí.example.com", "may hold only"),
    ("example.123", "all digits"),
    (("a" * 60 + ".") * 5 + "com", "at most 253"),
    (42, "must be a string"),
    (None, "must be a string"),
    (["pi.example.com"], "must be a string"),
])
def test_domain_bad(value, fragment):
    refused(v.domain, value, fragment)


def test_domains_good():
    assert v.domains(["PI.example.com", "www.pi.example.com"]) == ["pi.example.com", "www.pi.example.com"]
    assert v.domains("pi.example.com, www.pi.example.com") == ["pi.example.com", "www.pi.example.com"]
    assert v.domains("pi.example.com www.pi.example.com") == ["pi.example.com", "www.pi.example.com"]


@pytest.mark.parametrize("value, fragment", [
    ([], "at least one"),
    ("", "at least one"),
    (42, "must be a list"),
    ({"a": "pi.example.com"}, "must be a list"),
    (True, "must be a list"),
    (["pi.example.com", "PI.example.com"], "[1] 'pi.example.com' is listed twice"),
    (["pi.example.com", "bad;name.example.com"], "[1] may hold only"),
    (["pi.example.com", 7], "[1] must be a string"),
    ([f"n{i}.example.com" for i in range(101)], "at most 100"),
])
def test_domains_bad(value, fragment):
    refused(v.domains, value, fragment)


# --- app.name, app.user ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["hello", "my-site-2", "a", "a" * 32, "x1"])
def test_app_name_good(value):
    assert v.app_name(value) == value


@pytest.mark.parametrize("value", ["", "Hello", "my app", "a/b", "..", "../etc", "-x", "1app", "a_b", "a.b",
                                   "a" * 33, "hello\n", 5, None])
def test_app_name_bad(value):
    refused(v.app_name, value)


@pytest.mark.parametrize("value", ["default", "systemd", "nginx", "supervisor", "letsencrypt", "journal",
                                   "piserver-wizard", "sshd", "user", "lock"])
def test_app_name_reserved(value):
    refused(v.app_name, value, "already uses", f"got {value!r}")


def test_app_user_good():
    assert v.app_user("pi") == "pi"


@pytest.mark.parametrize("value, fragment", [
    ("root", "must not be root"),
    ("pi; id", "must be a user name"),
    ("Pi", "must be a user name"),
    ("", "must be a user name"),
    ("../pi", "must be a user name"),
    (1001, "must be a string"),
])
def test_app_user_bad(value, fragment):
    refused(v.app_user, value, fragment)


def test_app_user_uid_zero_under_another_name(monkeypatch):
    real = pwd.getpwnam

    def fake(name):
        if name == "toor":
            return pwd.struct_passwd(("toor", "x", 0, 0, "", "/root", "/bin/sh"))
        return real(name)

    monkeypatch.setattr(v.pwd, "getpwnam", fake)
    assert "uid 0" in v.user_problem("toor", may_create=True)


def test_a_missing_user_says_how_to_create_it_unless_the_wizard_may():
    problem = v.user_problem("nosuchuser", may_create=False)
    assert "no such user" in problem and "sudo adduser nosuchuser" in problem and "create_user = true" in problem
    assert v.user_problem("nosuchuser", may_create=True) is None


# --- app.directory -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, normal", [
    ("/home/pi/hello", "/home/pi/hello"),
    ("/home/pi/hello/", "/home/pi/hello"),
    ("/home/pi//hello", "/home/pi/hello"),
    ("/srv/sites/my-site", "/srv/sites/my-site"),
    ("/opt/hello", "/opt/hello"),
    ("/var/www/hello", "/var/www/hello"),
    ("/usr/local/hello", "/usr/local/hello"),
    ("/home/pi/.apps/x_1", "/home/pi/.apps/x_1"),
])
def test_directory_good(value, normal):
    assert v.directory(value) == normal


@pytest.mark.parametrize("value, fragment", [
    ("hello", "absolute"),
    ("./hello", "absolute"),
    ("~/hello", "absolute"),
    ("", "absolute"),
    ("/", "system folder"),
    ("/etc", "system folder"),
    ("/etc/", "system folder"),
    ("/usr", "system folder"),
    ("/var", "system folder"),
    ("/boot", "system folder"),
    ("/home", "system folder"),
    ("/root", "system folder"),
    ("/tmp", "system folder"),
    ("/var/www", "system folder"),
    ("/usr/local", "system folder"),
    ("/etc/nginx/x", "inside a system folder"),
    ("/etc/hello", "inside a system folder"),
    ("/boot/firmware/app", "inside a system folder"),
    ("/usr/bin/app", "inside a system folder"),
    ("/usr/src/app", "inside a system folder"),
    ("/usr/local/bin", "inside a system folder"),
    ("/usr/local/lib/app", "inside a system folder"),
    ("/var/lib/app", "inside a system folder"),
    ("/var/log/app", "inside a system folder"),
    ("/var/spool/cron", "inside a system folder"),
    ("/var/run/hello", "inside a system folder"),
    ("/run/hello", "inside a system folder"),
    ("/root/hello", "inside a system folder"),
    ("/proc/1", "inside a system folder"),
    ("//etc", "system folder"),
    ("//etc/nginx/x", "inside a system folder"),
    ("/home/pi/../../etc", "'..'"),
    ("/home/pi/./hello", "'.'"),
    ("/home/pi/my app", "may hold only"),
    ("/home/pi/hello;rm", "may hold only"),
    ("/home/pi/hello\n", "control characters"),
    ("/home/pi/héllo", "may hold only"),
    (["/home/pi"], "must be a string"),
])
def test_directory_bad(value, fragment):
    refused(v.directory, value, fragment)


def test_directory_through_a_symlink_into_a_system_folder(tmp_path):
    link = tmp_path / "sneaky"
    link.symlink_to("/etc")
    refused(v.directory, str(link / "nginx"), "through a symlink", "/etc/nginx")
    fine = tmp_path / "fine"
    fine.mkdir()
    (tmp_path / "alias").symlink_to(fine)
    assert v.directory(str(tmp_path / "alias" / "app")) == str(tmp_path / "alias" / "app")


# --- app.source, choice ------------------------------------------------------------------------------------

def test_source():
    source = answers_mod.FIELD_BY_KEY["app.source"].check
    assert source("sample") == "sample"
    assert source("existing") == "existing"
    refused(source, "git", "must be one of 'sample', 'existing', got 'git'")
    refused(source, "Sample", "must be one of")
    refused(source, 1, "must be a string")


def test_choice():
    assert v.choice("cron", ("auto", "cron", "timer")) == "cron"
    refused(lambda x: v.choice(x, ("auto", "cron")), "weekly", "must be one of 'auto', 'cron', got 'weekly'")
    refused(lambda x: v.choice(x, ("auto", "cron")), "", "got ''")
    refused(lambda x: v.choice(x, ("auto", "cron")), None, "must be a string")


# --- app.wsgi ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["app:app", "hello.wsgi:application", "pkg.sub.mod:create_app()", "_a:_b"])
def test_wsgi_good(value):
    assert v.wsgi(value) == value


@pytest.mark.parametrize("value", ["app", "app:", ":app", "app:app; rm -rf /", "app:app ", "app::app",
                                   "app:app()()", "/home/pi/app:app", "1app:app", "app:a-b",
                                   "app:app(x)", "app:app\n", "", 3])
def test_wsgi_bad(value):
    refused(v.wsgi, value)


# --- app.workers -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1, 4, 9, 64])
def test_workers_good(value):
    assert v.workers(value) == value


@pytest.mark.parametrize("value, fragment", [
    (0, "got 0"), (-1, "got -1"), (2.5, "got 2.5"), ("4", "got '4'"), (True, "got true"), (False, "got false"),
    (None, "got None"), (4.0, "got 4.0"), (65, "at most 64"), (10 ** 30, "at most 64"),
])
def test_workers_bad(value, fragment):
    refused(v.workers, value, fragment)


# --- app.bind ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["127.0.0.1:4000", "127.0.0.1:1", "127.0.0.1:65535", "127.1.2.3:4000",
                                   "localhost:8000", "[::1]:4000", "unix:/run/hello/gunicorn.sock",
                                   "unix:/run/my-site/app.sock"])
def test_bind_good(value):
    assert v.bind(value) == value


@pytest.mark.parametrize("value, fragment", [
    ("127.0.0.1:0", "from 1 to 65535"),
    ("127.0.0.1:65536", "from 1 to 65535"),
    ("127.0.0.1:abc", "from 1 to 65535"),
    ("127.0.0.1:²", "from 1 to 65535"),
    ("127.0.0.1:٤٠٠٠", "from 1 to 65535"),
    ("127.0.0.1:-1", "from 1 to 65535"),
    ("127.0.0.1:", "must be 127.0.0.1:PORT"),
    ("127.0.0.1", "must be 127.0.0.1:PORT"),
    ("4000", "must be 127.0.0.1:PORT"),
    (":4000", "must be 127.0.0.1:PORT"),
    ("0.0.0.0:4000", "loopback only"),
    ("192.168.1.10:4000", "loopback only"),
    ("[::]:4000", "loopback only"),
    ("[::ffff:127.0.0.1]:4000", "must be"),
    ("127.1:4000", "loopback address"),
    ("999.0.0.1:4000", "loopback address"),
    ("example.com:4000", "must be 127.0.0.1:PORT"),
    ("127.0.0.1:80", "belongs to nginx"),
    ("127.0.0.1:443", "belongs to nginx"),
    ("unix:/tmp/gunicorn.sock", "unix:/run/NAME/gunicorn.sock"),
    ("unix:/run/gunicorn.sock", "unix:/run/NAME/gunicorn.sock"),
    ("unix:/run/../etc/x.sock", "unix:/run/NAME/gunicorn.sock"),
    ("unix:/run/hello/sub/g.sock", "unix:/run/NAME/gunicorn.sock"),
    ("unix:/run/hello/gunicorn", "unix:/run/NAME/gunicorn.sock"),
    ("unix:run/hello/gunicorn.sock", "unix:/run/NAME/gunicorn.sock"),
    ("127.0.0.1:4000\n", "control characters"),
    (4000, "must be a string"),
])
def test_bind_bad(value, fragment):
    refused(v.bind, value, fragment)


# --- app.packages ------------------------------------------------------------------------------------------

def test_packages_good():
    given = ["flask", "gunicorn>=21", "Flask-Login==0.6.3", "requests[socks,security]>=2.0,<3",
             " jinja2 ~= 3.1 ", "zope.interface", "a"]
    assert v.packages(given) == [item.strip() for item in given]
    assert v.packages([]) == []


@pytest.mark.parametrize("value, fragment", [
    (["--index-url=https://x"], "[0] must be a requirement"),
    (["flask", "-e ."], "[1] must be a requirement"),
    (["-r", "requirements.txt"], "[0] must be a requirement"),
    (["flask; rm -rf /"], "[0] must be a requirement"),
    (["flask; python_version<'3.12'"], "[0] must be a requirement"),
    (["git+https://github.com/pallets/flask"], "[0] must be a requirement"),
    (["https://example.com/flask-3.0.tar.gz"], "[0] must be a requirement"),
    (["flask @ https://example.com/f.whl"], "[0] must be a requirement"),
    (["./local/pkg"], "[0] must be a requirement"),
    (["flask gunicorn"], "[0] must be a requirement"),
    (["flask && id"], "[0] must be a requirement"),
    (["$(id)"], "[0] must be a requirement"),
    (["flask\n==\n3.0"], "[0] must not contain control characters"),
    (["flask", "gunicorn\n-e ."], "[1] must not contain control characters"),
    ([""], "[0] must be a requirement"),
    (["flask", 3], "[1] must be a string"),
    ("flask gunicorn", "must be a list"),
    ({"flask": "*"}, "must be a list"),
])
def test_packages_bad(value, fragment):
    refused(v.packages, value, fragment)


# --- https.email, https.acme_server ------------------------------------------------------------------------

@pytest.mark.parametrize("value, normal", [
    ("admin@example.com", "admin@example.com"),
    (" admin+pi@mail.example.co.uk ", "admin+pi@mail.example.co.uk"),
    ("", ""),
])
def test_email_good(value, normal):
    assert v.email(value) == normal


@pytest.mark.parametrize("value", ["admin", "admin at example.com", "admin@example", "@example.com",
                                   "admin@", "admin@example..com", "a..b@example.com", "admin@exa mple.com",
                                   "admin@example.com\nBcc: x@y.z", "a@b@example.com",
                                   "x" * 250 + "@example.com", 5])
def test_email_bad(value):
    refused(v.email, value)


@pytest.mark.parametrize("value", ["letsencrypt", "letsencrypt-staging", "https://acme.example.com/directory",
                                   "https://127.0.0.1:14000/dir", "https://pebble:14000/dir"])
def test_acme_server_good(value):
    assert v.acme_server(value) == value


@pytest.mark.parametrize("value", ["http://acme.example.com/directory", "ftp://acme.example.com/directory",
                                   "lets encrypt please", "", "https://", "https://acme.example.com/dir?x=1",
                                   "https://user@acme.example.com/", "https://acme.example.com/a b",
                                   "file:///etc/passwd", "LETSENCRYPT", 1])
def test_acme_server_bad(value):
    refused(v.acme_server, value)


def test_directory_url():
    https = answers_mod.HttpsAnswers(acme_server="letsencrypt-staging")
    assert https.directory_url == v.ACME_SERVERS["letsencrypt-staging"]
    assert answers_mod.HttpsAnswers(acme_server="https://x.example/dir").directory_url == "https://x.example/dir"


# --- https.cron_schedule -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, normal", [
    ("30 4 1 * *", "30 4 1 * *"),
    ("  0   3  *  *  1 ", "0 3 * * 1"),
    ("*/15 * * * *", "*/15 * * * *"),
    ("0 0-23/6 1,15 jan-dec mon-fri", "0 0-23/6 1,15 jan-dec mon-fri"),
    ("59 23 31 12 7", "59 23 31 12 7"),
    ("0 0 * * SUN", "0 0 * * SUN"),
])
def test_cron_good(value, normal):
    assert v.cron_schedule(value) == normal


@pytest.mark.parametrize("value, fragment", [
    ("61 * * * *", "field 1 must be within 0-59, got 61"),
    ("* 24 * * *", "field 2 must be within 0-23"),
    ("* * 0 * *", "field 3 must be within 1-31"),
    ("* * * 13 *", "field 4 must be within 1-12"),
    ("* * * * 8", "field 5 must be within 0-7"),
    ("30 4 1 *", "five fields"),
    ("30 4 1 * * *", "five fields"),
    ("", "five fields"),
    ("@daily", "five fields"),
    ("every day at noon", "five fields"),
    ("a b c d e", "not a number"),
    ("mon * * * *", "not a number"),
    ("30 4 1 * *\n* * * * * root rm -rf /", "control characters"),
    ("*/0 * * * *", "bad step"),
    ("1/ * * * *", "bad step"),
    ("*/x * * * *", "bad step"),
    ("*/² * * * *", "bad step"),
    ("² * * * *", "not a number"),
    ("1- * * * *", "not a number"),
    ("-5 * * * *", "not a number"),
    ("1,,2 * * * *", "not a number"),
    ("10-5 * * * *", "backwards range"),
    ("* * * * fri-mon", "backwards range"),
    (30, "must be a string"),
])
def test_cron_bad(value, fragment):
    refused(v.cron_schedule, value, fragment)


# --- rules between keys ------------------------------------------------------------------------------------

def good(**changes) -> Answers:
    """The example answers with some keys changed, e.g. good(https__enabled=False)."""
    base = answers_mod.load(EXAMPLE)
    sections = {}
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        sections.setdefault(section, {})[key] = value
    return replace(base, **{s: replace(getattr(base, s), **kv) for s, kv in sections.items()})


def keys(problems):
    return [key for key, _ in problems]


def test_cross_check_example_is_clean():
    assert cross_check(good()) == []


def test_cross_check_https_needs_terms_and_email():
    problems = cross_check(good(https__agree_tos=False, https__email=""))
    assert keys(problems) == ["https.agree_tos", "https.email"]
    assert "got false" in problems[0][1] and "got ''" in problems[1][1]


def test_cross_check_without_https_terms_and_email_do_not_matter():
    assert cross_check(good(https__enabled=False, https__agree_tos=False, https__email="")) == []


def test_cross_check_timer_needs_systemd():
    answers = good(https__renewal="timer")
    assert keys(cross_check(answers, has_systemd=False)) == ["https.renewal"]
    assert cross_check(answers, has_systemd=True) == []
    assert cross_check(answers, has_systemd=None) == []
    assert cross_check(good(https__renewal="cron"), has_systemd=False) == []


def test_cross_check_socket_must_be_under_run_name():
    problems = cross_check(good(app__bind="unix:/run/other/gunicorn.sock"))
    assert keys(problems) == ["app.bind"]
    assert "/run/hello/" in problems[0][1]
    assert cross_check(good(app__name="site-x", app__bind="unix:/run/site-x/gunicorn.sock")) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a folder in /run")
def test_cross_check_socket_folder_owned_by_someone_else():
    name = "pwtest-" + uuid.uuid4().hex[:8]
    folder = Path("/run") / name
    folder.mkdir()
    try:
        answers = good(app__name=name, app__bind=f"unix:/run/{name}/gunicorn.sock")
        problems = cross_check(answers)  # owned by root: some other program's
        assert keys(problems) == ["app.bind"] and "belongs to another program" in problems[0][1]
        os.chown(folder, pwd.getpwnam("pi").pw_uid, -1)  # what the wizard leaves behind: a re-run is fine
        assert cross_check(answers) == []
    finally:
        folder.rmdir()


def test_cross_check_directory_in_another_users_home(monkeypatch):
    entries = [pwd.struct_passwd(("pi", "x", 1001, 1001, "", "/home/pi", "/bin/bash")),
               pwd.struct_passwd(("bob", "x", 1002, 1002, "", "/home/bob", "/bin/bash")),
               pwd.struct_passwd(("www-data", "x", 33, 33, "", "/var/www", "/usr/sbin/nologin"))]
    monkeypatch.setattr(pwd, "getpwall", lambda: entries)  # the module every caller shares
    for directory in ("/home/bob", "/home/bob/app"):
        problems = cross_check(good(app__directory=directory))
        assert keys(problems) == ["app.directory"] and "bob's home" in problems[0][1]
    assert cross_check(good(app__directory="/home/bobby/app")) == []
    assert cross_check(good(app__directory="/home/pi/app")) == []
    assert cross_check(good(app__directory="/var/www/app")) == []  # www-data's home is not under /home


def test_from_mapping_raises_the_first_cross_check_problem():
    data = tomli.loads(EXAMPLE.read_text())
    data["https"]["agree_tos"] = False
    with pytest.raises(AnswersError) as caught:
        from_mapping(data, "x.toml")
    assert caught.value.where == "https.agree_tos"
    assert str(caught.value).startswith("x.toml: https.agree_tos: must be true")


# --- unknown keys and sections: "did you mean" --------------------------------------------------------------

def example_data() -> dict:
    return tomli.loads(EXAMPLE.read_text())


@pytest.mark.parametrize("section, wrong, hint", [
    ("app", "worker", "did you mean app.workers?"),
    ("app", "wokers", "did you mean app.workers?"),
    ("app", "dirctory", "did you mean app.directory?"),
    ("site", "domain", "did you mean site.domains?"),
    ("https", "agree_tos_", "did you mean https.agree_tos?"),
    ("https", "cron", "did you mean https.cron_schedule?"),
    ("https", "agree", "did you mean https.agree_tos?"),
    ("app", "email", "did you mean https.email? it belongs under [https]"),
    ("system", "bind", "did you mean app.bind? it belongs under [app]"),
])
def test_unknown_key_hint(section, wrong, hint):
    data = example_data()
    data[section][wrong] = 1
    with pytest.raises(AnswersError) as caught:
        from_mapping(data, "f.toml")
    assert caught.value.where == f"{section}.{wrong}"
    assert str(caught.value) == f"f.toml: {section}.{wrong}: unknown key ({hint})"


def test_unknown_key_without_hint():
    data = example_data()
    data["system"]["colour"] = "red"
    with pytest.raises(AnswersError) as caught:
        from_mapping(data, "f.toml")
    assert str(caught.value) == "f.toml: system.colour: unknown key"


@pytest.mark.parametrize("wrong, hint", [
    ("htps", "did you mean [https]?"),
    ("ap", "did you mean [app]?"),
    ("sites", "did you mean [site]?"),
    ("systems", "did you mean [system]?"),
    ("workers", "did you mean app.workers? it belongs under [app]"),
    ("zzz", "known: system, site, app, https"),
])
def test_unknown_section_hint(wrong, hint):
    data = example_data()
    data[wrong] = {}
    with pytest.raises(AnswersError) as caught:
        from_mapping(data, "f.toml")
    assert caught.value.where == wrong
    assert str(caught.value) == f"f.toml: {wrong}: unknown section ({hint})"


def test_section_that_is_not_a_table():
    data = example_data()
    data["app"] = "hello"
    with pytest.raises(AnswersError) as caught:
        from_mapping(data, "f.toml")
    assert str(caught.value) == "f.toml: app: must be a table [app], got a string"


def test_required_and_defaults():
    with pytest.raises(AnswersError) as caught:
        from_mapping({}, "f.toml")
    assert str(caught.value) == "f.toml: site.domains: is required"
    answers = from_mapping({"site": {"domains": ["pi.example.com"]}, "https": {"enabled": False}}, "f.toml")
    assert answers.app == answers_mod.AppAnswers()
    assert answers.site.domains == ["pi.example.com"]


# --- loading files -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, fragment", [
    (b"", "is empty"),
    (b"  \n\t\n", "is empty"),
    (b"\xff\xfe\x00garbage", "is not UTF-8 text (byte 0)"),
    (b"[site]\x00\n", "holds NUL bytes"),
    (b"[site]\ndomains = \n", "not valid TOML: "),
    (b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n", "nested too deeply"),
])
def test_load_file_level_problems(tmp_path, content, fragment):
    path = tmp_path / "answers.toml"
    path.write_bytes(content)
    with pytest.raises(AnswersError) as caught:
        answers_mod.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert fragment in str(caught.value)


def test_load_syntax_error_position(tmp_path):
    path = tmp_path / "answers.toml"
    path.write_text('[site]\ndomains = ["pi.example.com"]\n\n[app]\nworkers 4\n')
    with pytest.raises(AnswersError) as caught:
        answers_mod.load(path)
    assert str(caught.value) == (f"{path}: not valid TOML: Expected '=' after a key in a key/value pair "
                                 f"(at line 5, column 9)")


def test_load_missing_and_directory(tmp_path):
    with pytest.raises(AnswersError, match="no such file"):
        answers_mod.load(tmp_path / "missing.toml")
    with pytest.raises(AnswersError, match="is a directory"):
        answers_mod.load(tmp_path)


# --- round trip --------------------------------------------------------------------------------------------

def test_dumps_of_the_example_is_the_example_byte_for_byte():
    assert answers_mod.dumps(answers_mod.load(EXAMPLE)).encode() == EXAMPLE.read_bytes()


@pytest.mark.parametrize("changes", [
    {},
    {"https__enabled": False, "https__agree_tos": False, "https__email": ""},
    {"app__name": "my-site-2", "app__directory": "/srv/sites/my-site-2", "app__workers": 9,
     "app__bind": "unix:/run/my-site-2/gunicorn.sock", "app__source": "existing",
     "app__wsgi": "mysite.wsgi:create_app()", "app__packages": ["flask>=3", "gunicorn==22.0.0", "requests[socks]"]},
    {"site__domains": ["a.example.org", "b.example.org", "c.example.org"], "site__disable_default_site": False,
     "system__update_packages": False, "system__remove_apache": False},
    {"https__mode": "certbot-nginx", "https__acme_server": "https://127.0.0.1:14000/dir",
     "https__redirect": False, "https__renewal": "cron", "https__cron_schedule": "*/30 1-5 * jan-jun mon-fri"},
])
def test_load_dumps_parse_round_trip(tmp_path, changes):
    original = good(**changes)
    path = tmp_path / "answers.toml"
    path.write_text(answers_mod.dumps(original))
    loaded = answers_mod.load(path)
    assert loaded == original
    text = answers_mod.dumps(loaded)
    again = answers_mod.parse_text(text, "again.toml")
    assert again == original
    assert answers_mod.dumps(again) == text


def test_every_field_has_a_validator_that_takes_its_default():
    for spec in answers_mod.FIELDS:
        if spec.required:
            with pytest.raises(Invalid):
                spec.check(spec.default)
        else:
            assert spec.check(spec.default) == spec.default, spec.dotted
