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


def said(check, *args) -> str:
    """The message a refused value gets, whole: what the user reads after "file: section.key: "."""
    with pytest.raises(Invalid) as caught:
        check(*args)
    return str(caught.value)


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


@pytest.mark.parametrize("value, message", [
    ("true", 'must be true or false, written without quotes: true, not "true"'),
    ("yes", 'must be true or false, written without quotes: true, not "yes"'),
    ("no", 'must be true or false, written without quotes: false, not "no"'),
    ("maybe", 'must be true or false (without quotes), not text ("maybe")'),
    (1, "must be true or false (without quotes), not a number (1)"),
    (0, "must be true or false (without quotes), not a number (0)"),
    (None, "must be true or false (without quotes), not nothing"),
    ([], "must be true or false (without quotes), not a list ([])"),
    ({}, "must be true or false (without quotes), not a table"),
])
def test_boolean_bad(value, message):
    assert refused(v.boolean, value) == message


def test_values_are_shown_as_toml_writes_them():
    """true, not True; "text" in double quotes, not 'text'; [] as a list: never a Python repr."""
    assert refused(v.workers, True) == "must be a whole number such as workers = 4, not true"
    assert said(v.choice, "x", ("a", "b")) == 'must be "a" or "b", not "x"'
    assert refused(v.app_name, "it's") == ('"it\'s": a name must start with a lowercase letter and hold only '
                                           'lowercase letters, digits and hyphens, at most 32, such as "it-s"')
    assert refused(v.domain, 'a"b') == ('"a\\"b" needs the rest of its name, with at least one dot, such as '
                                        '"pi.example.com"')


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


ONLY = "may hold only letters, digits, dots and hyphens"


@pytest.mark.parametrize("value, fragment", [
    ("pi.example.com;", "may hold only"),
    ("pi.example.com{", "may hold only"),
    ("pi.example.com}", "may hold only"),
    ("pi.example.com\nevil.example", "must be on one line"),
    ("pi.example.com\revil.example", "must be on one line"),
    ("pi.example.com\tx", "must be on one line"),
    ("pi.example.com evil.example", "may hold only"),
    ('pi"x.example.com', "may hold only"),
    ("pi'x.example.com", "may hold only"),
    ("pi.example.com/x", 'is a web address: write the name alone, without the path: "pi.example.com"'),
    ("pi$x.example.com", "may hold only"),
    ("", "a domain name is empty"),
    ("   ", "a domain name is empty"),
    (".", "a domain name is empty"),
    ("a" * 64 + ".example.com", "each part between dots may be at most 63 characters; one has 64"),
    ("pi.*.example.com", "a name with * cannot get a certificate"),  # *.example.com is one (with dns-01)
    ("192.168.1.10", '"192.168.1.10" is an IP address'),
    ("127.0.0.1", "is an IP address"),
    ("::1", "is an IP address"),
    ("2001:db8::1", "is an IP address"),
    ("127.0.0.1:4000", "is an IP address"),
    ("raspberrypi", '"raspberrypi" needs the rest of its name, with at least one dot'),
    ("-pi.example.com", "may hold only"),
    ("pi-.example.com", "may hold only"),
    ("pi..example.com", "may hold only"),
    ("pi_x.example.com", "may hold only"),
    ("pí.example.com", "may hold only"),
    ("example.123", "must end in a name such as .com or .org, not in digits"),
    (("a" * 60 + ".") * 5 + "com", "at most 253 characters long; this one has 308"),
    (42, "must be text in double quotes, not a number (42)"),
    (None, "must be text in double quotes, not nothing"),
    (["pi.example.com"], 'must be text in double quotes, not a list (["pi.example.com"])'),
])
def test_domain_bad(value, fragment):
    refused(v.domain, value, fragment)


@pytest.mark.parametrize("value, message", [
    ("https://pi.example.com", '"https://pi.example.com" is a web address: write the name alone, without '
                               '"https://": "pi.example.com"'),
    ("http://pi.example.com/blog", '"http://pi.example.com/blog" is a web address: write the name alone, without '
                                   '"http://" and the path: "pi.example.com"'),
    ("pi.example.com:8080", '"pi.example.com:8080" is a web address: write the name alone, without the port: '
                            '"pi.example.com"'),
    ("pi.example.com;", '"pi.example.com;" may hold only letters, digits, dots and hyphens (not at the start or '
                        'end of a part, no spaces), such as "pi.example.com"'),
    ("192.168.1.10", '"192.168.1.10" is an IP address: certificates need a domain name such as "pi.example.com"'),
    ("", 'a domain name is empty: write one such as "pi.example.com"'),
])
def test_domain_words(value, message):
    assert refused(v.domain, value) == message


@pytest.mark.parametrize("name, private", [
    ("raspberrypi.local", True), ("nas.lan", True), ("pi.home.arpa", True), ("x.test", False),
    ("pi.localhost", True), ("pi.example.com", False), ("local.example.com", False), ("pi.locals", False),
])
def test_private_names(name, private):
    assert v.private_name(name) is private


def test_domains_good():
    assert v.domains(["PI.example.com", "www.pi.example.com"]) == ["pi.example.com", "www.pi.example.com"]
    assert v.domains("pi.example.com, www.pi.example.com") == ["pi.example.com", "www.pi.example.com"]
    assert v.domains("pi.example.com www.pi.example.com") == ["pi.example.com", "www.pi.example.com"]


EMPTY_DOMAINS = 'is empty: name at least one domain this Pi answers to, such as domains = ["pi.example.com"]'


@pytest.mark.parametrize("value, message", [
    ([], EMPTY_DOMAINS),
    ("", EMPTY_DOMAINS),
    (42, 'must be a list of names in brackets, not a number (42): write it as '
         'domains = ["pi.example.com", "www.pi.example.com"]'),
    ({"a": "pi.example.com"}, 'must be a list of names in brackets, not a table: write it as '
                              'domains = ["pi.example.com", "www.pi.example.com"]'),
    (True, 'must be a list of names in brackets, not true: write it as '
           'domains = ["pi.example.com", "www.pi.example.com"]'),
    (["pi.example.com", "PI.example.com"], '"pi.example.com" is listed twice: keep it once'),
    (["pi.example.com", "https://www.pi.example.com/"],
     '"https://www.pi.example.com/" is a web address: write the name alone, without "https://" and the path: '
     '"www.pi.example.com"'),
    (["pi.example.com", 7], 'must be text in double quotes, not a number (7): write it as '
                            'domains = ["pi.example.com"]'),
    ([f"n{i}.example.com" for i in range(101)], "one certificate holds at most 100 names; this list has 101"),
])
def test_domains_bad(value, message):
    """The offending value is named, never its position in the list ("[1] ...")."""
    assert refused(v.domains, value) == message


# --- app.name, app.user ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["hello", "my-site-2", "a", "a" * 32, "x1"])
def test_app_name_good(value):
    assert v.app_name(value) == value


@pytest.mark.parametrize("value", ["", "Hello", "my app", "a/b", "..", "../etc", "-x", "1app", "a_b", "a.b",
                                   "a" * 33, "hello\n", 5, None])
def test_app_name_bad(value):
    assert "[a-z]" not in refused(v.app_name, value)


@pytest.mark.parametrize("value, message", [
    ("My App", '"My App": a name must start with a lowercase letter and hold only lowercase letters, digits and '
               'hyphens, at most 32, such as "my-app"'),
    ("1app", '"1app": a name must start with a lowercase letter and hold only lowercase letters, digits and '
             'hyphens, at most 32, such as "app"'),
    ("..", '"..": a name must start with a lowercase letter and hold only lowercase letters, digits and '
           'hyphens, at most 32, such as "hello" or "my-site"'),
    (5, 'must be text in double quotes, not a number (5): write it as name = "hello"'),
])
def test_app_name_words(value, message):
    assert refused(v.app_name, value) == message


@pytest.mark.parametrize("value", ["default", "systemd", "nginx", "supervisor", "letsencrypt", "journal",
                                   "piserver-wizard", "sshd", "user", "lock"])
def test_app_name_reserved(value):
    assert refused(v.app_name, value) == (f'"{value}" is a name the system already uses (for a log folder, a '
                                          'program or a site): pick another, such as "my-site"')


def test_app_user_good():
    assert v.app_user("pi") == "pi"
    assert v.app_user("nosuchuser") == "nosuchuser"  # its form only: whether it exists is a rule between keys


NOT_A_USER = ' is not a user name: lowercase letters, digits, _ and -, starting with a letter, such as "hello"'


@pytest.mark.parametrize("value, message", [
    ("root", 'must not be "root": the app runs as an ordinary user, such as a user of its own "hello"'),
    ("pi; id", '"pi; id"' + NOT_A_USER),
    ("Pi", '"Pi"' + NOT_A_USER),
    ("", '""' + NOT_A_USER),
    ("../pi", '"../pi"' + NOT_A_USER),
    (1001, 'must be text in double quotes, not a number (1001): write it as user = "hello"'),
])
def test_app_user_bad(value, message):
    assert refused(v.app_user, value) == message


def test_missing_user_says_how_to_create_it():
    assert v.user_problem("pi", may_create=False) is None
    assert v.user_problem("nosuchuser", may_create=True) is None  # create_user = true: the run creates it
    assert v.user_problem("nosuchuser", may_create=False) == (
        'there is no user "nosuchuser" on this machine: set create_user = true and the wizard creates it, or '
        "create it yourself with: sudo adduser --system --group nosuchuser")


def test_app_user_uid_zero_under_another_name(monkeypatch):
    real = pwd.getpwnam

    def fake(name):
        if name == "toor":
            return pwd.struct_passwd(("toor", "x", 0, 0, "", "/root", "/bin/sh"))
        return real(name)

    monkeypatch.setattr(v.pwd, "getpwnam", fake)
    assert v.user_problem("toor", may_create=True) == '"toor" is root under another name (uid 0): the app must not run as root'


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
    ("hello", "write the full path, starting with /"),
    ("./hello", "write the full path, starting with /"),
    ("~/hello", "write the full path, starting with /"),
    ("", "write the full path, starting with /"),
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
    ("/home/pi/../../etc", "without '.' or '..' in the path"),
    ("/home/pi/./hello", "without '.' or '..' in the path"),
    ("/home/pi/my app", "may hold only letters, digits, dots, underscores, hyphens and slashes (no spaces"),
    ("/home/pi/hello;rm", "may hold only letters"),
    ("/home/pi/hello\n", "must be on one line"),
    ("/home/pi/héllo", "may hold only letters"),
    (["/home/pi"], 'must be text in double quotes, not a list (["/home/pi"]): write it as directory = "/srv/hello"'),
])
def test_directory_bad(value, fragment):
    refused(v.directory, value, fragment)


@pytest.mark.parametrize("value, message", [
    ("/etc", '"/etc" is a system folder: pick a folder of the app\'s own, such as "/srv/hello"'),
    ("//etc/nginx/x", '"/etc/nginx/x" is inside a system folder: pick a folder of the app\'s own, such as '
                      '"/srv/hello"'),
    ("hello", '"hello": write the full path, starting with /, such as "/srv/hello"'),
    ("/home/pi/my app", '"/home/pi/my app": a folder may hold only letters, digits, dots, underscores, hyphens '
                        "and slashes (no spaces or accents)"),
])
def test_directory_words(value, message):
    assert refused(v.directory, value) == message


def test_directory_through_a_symlink_into_a_system_folder(tmp_path):
    link = tmp_path / "sneaky"
    link.symlink_to("/etc")
    assert refused(v.directory, str(link / "nginx")) == (
        f'"{link}/nginx" leads into the system folder /etc/nginx through a symlink: pick a folder of the '
        'app\'s own, such as "/srv/hello"')
    fine = tmp_path / "fine"
    fine.mkdir()
    (tmp_path / "alias").symlink_to(fine)
    assert v.directory(str(tmp_path / "alias" / "app")) == str(tmp_path / "alias" / "app")


# --- app.source, choice ------------------------------------------------------------------------------------

def test_source():
    source = answers_mod.FIELD_BY_KEY["app.source"].check
    assert source("sample") == "sample"
    assert source("existing") == "existing"
    assert refused(source, "git") == 'must be "sample" or "existing", not "git"'
    assert refused(source, "Sample") == 'must be "sample" or "existing", not "Sample"'
    assert refused(source, 1) == 'must be "sample" or "existing", in double quotes, not a number (1)'


def test_choice():
    assert v.choice("cron", ("auto", "cron", "timer")) == "cron"
    assert said(v.choice, "weekly", ("auto", "cron", "timer")) == 'must be "auto", "cron" or "timer", not "weekly"'
    assert said(v.choice, "", ("auto", "cron")) == 'must be "auto" or "cron", not ""'
    assert said(v.choice, None, ("auto", "cron")) == 'must be "auto" or "cron", in double quotes, not nothing'


# --- app.wsgi ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["app:app", "hello.wsgi:application", "pkg.sub.mod:create_app()", "_a:_b"])
def test_wsgi_good(value):
    assert v.wsgi(value) == value


@pytest.mark.parametrize("value", ["app", "app:", ":app", "app:app; rm -rf /", "app:app ", "app::app",
                                   "app:app()()", "/home/pi/app:app", "1app:app", "app:a-b",
                                   "app:app(x)", "app:app\n", "", 3])
def test_wsgi_bad(value):
    assert "module:callable" not in refused(v.wsgi, value)


WSGI_RULE = ('write the file gunicorn loads, without .py, then a colon and the Flask object in it: "app:app" is '
             "the object app in app.py")


@pytest.mark.parametrize("value, message", [
    ("app.py", f'"app.py": {WSGI_RULE}; here perhaps "app:app"'),
    ("app", f'"app": {WSGI_RULE}; here perhaps "app:app"'),
    ("mysite/wsgi.py:application", f'"mysite/wsgi.py:application": {WSGI_RULE}; here perhaps '
                                   '"mysite.wsgi:application"'),
    ("app:app; rm -rf /", f'"app:app; rm -rf /": {WSGI_RULE}'),
    (3, 'must be text in double quotes, not a number (3): write it as wsgi = "app:app"'),
])
def test_wsgi_words(value, message):
    assert refused(v.wsgi, value) == message


# --- app.workers -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1, 4, 9, 64])
def test_workers_good(value):
    assert v.workers(value) == value


@pytest.mark.parametrize("value, message", [
    (0, "must be a whole number of at least 1, got 0"),
    (-1, "must be a whole number of at least 1, got -1"),
    (2.5, "must be a whole number such as workers = 4, not a number (2.5)"),
    (4.0, "must be a whole number such as workers = 4, not a number (4.0)"),
    ("4", 'is text ("4"): write the number without quotes, workers = 4'),
    (" 9 ", 'is text (" 9 "): write the number without quotes, workers = 9'),
    ("four", 'must be a whole number such as workers = 4, not text ("four")'),
    (True, "must be a whole number such as workers = 4, not true"),
    (False, "must be a whole number such as workers = 4, not false"),
    (None, "must be a whole number such as workers = 4, not nothing"),
    (65, "must be at most 64 (a Pi has 4 cores; about 25 MB of memory each), got 65"),
    (10 ** 30, f"must be at most 64 (a Pi has 4 cores; about 25 MB of memory each), got {10 ** 30}"),
])
def test_workers_bad(value, message):
    assert refused(v.workers, value) == message


@pytest.mark.parametrize("cores, memory_mb, expected", [
    (4, 0, 9),          # memory unknown: 2 x cores + 1
    (4, 427, 4),        # Pi Zero 2 W: 512 MB, about 427 MB for Linux: not 9
    (1, 427, 3),        # Pi Zero W
    (4, 906, 9),        # Pi 3 B+ / Pi 4 1 GB
    (4, 7800, 9),       # Pi 4/5 8 GB: cores decide
    (1, 60, 1),         # never fewer than one
    (64, 10 ** 6, 64),  # never more than the validator takes
])
def test_default_workers_fits_cores_and_memory(cores, memory_mb, expected):
    from wizard.schema import default_workers

    assert default_workers(cores, memory_mb * 1024 * 1024) == expected


# --- app.bind ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["127.0.0.1:4000", "127.0.0.1:1", "127.0.0.1:65535", "127.1.2.3:4000",
                                   "localhost:8000", "[::1]:4000", "unix:/run/hello/gunicorn.sock",
                                   "unix:/run/my-site/app.sock"])
def test_bind_good(value):
    assert v.bind(value) == value


@pytest.mark.parametrize("value, fragment", [
    ("127.0.0.1:0", "from 1 to 65535"),
    ("0.0.0.0", "write an address and a port"),
    ("127.0.0.1:65536", "from 1 to 65535"),
    ("127.0.0.1:abc", "from 1 to 65535"),
    ("127.0.0.1:²", "from 1 to 65535"),
    ("127.0.0.1:٤٠٠٠", "from 1 to 65535"),
    ("127.0.0.1:-1", "from 1 to 65535"),
    ("127.0.0.1:", "write an address and a port"),
    ("127.0.0.1", "write an address and a port"),
    ("4000", "write an address and a port"),
    (":4000", "write an address and a port"),
    ("0.0.0.0:4000", "would open the app to the network"),
    ("192.168.1.10:4000", "would open the app to the network"),
    ("[::]:4000", "would open the app to the network"),
    ("[::ffff:127.0.0.1]:4000", "write an address and a port"),
    ("127.1:4000", "is not an address; use 127.0.0.1"),
    ("999.0.0.1:4000", "is not an address; use 127.0.0.1"),
    ("example.com:4000", "write an address and a port"),
    ("127.0.0.1:80", "is nginx's; pick another"),
    ("127.0.0.1:443", "is nginx's; pick another"),
    ("unix:/tmp/gunicorn.sock", "a socket must be a .sock file in a folder of /run named after the app"),
    ("unix:/run/gunicorn.sock", "a socket must be a .sock file in a folder of /run named after the app"),
    ("unix:/run/../etc/x.sock", "a socket must be a .sock file in a folder of /run named after the app"),
    ("unix:/run/hello/sub/g.sock", "a socket must be a .sock file in a folder of /run named after the app"),
    ("unix:/run/hello/gunicorn", "a socket must be a .sock file in a folder of /run named after the app"),
    ("unix:run/hello/gunicorn.sock", "a socket must be a .sock file in a folder of /run named after the app"),
    ("127.0.0.1:4000\n", "must be on one line"),
    (4000, 'not a number: write it as bind = "127.0.0.1:4000"'),
    (True, 'must be text in double quotes, not true: write it as bind = "127.0.0.1:4000"'),
])
def test_bind_bad(value, fragment):
    refused(v.bind, value, fragment)


@pytest.mark.parametrize("value, message", [
    (4000, 'must be text in double quotes with the address, not a number: write it as bind = "127.0.0.1:4000"'),
    (8080, 'must be text in double quotes with the address, not a number: write it as bind = "127.0.0.1:8080"'),
    ("0.0.0.0:4000", '"0.0.0.0:4000" would open the app to the network; only nginx faces it, so the app listens '
                     'on 127.0.0.1 (this machine only), such as "127.0.0.1:4000"'),
    ("127.0.0.1:80", '"127.0.0.1:80": port 80 is nginx\'s; pick another, such as "127.0.0.1:4000"'),
    ("0.0.0.0:80", '"0.0.0.0:80" would open the app to the network; only nginx faces it, so the app listens '
                   'on 127.0.0.1 (this machine only), such as "127.0.0.1:4000"'),
    ("4000", '"4000": write an address and a port, such as "127.0.0.1:4000" or "unix:/run/hello/gunicorn.sock"'),
])
def test_bind_words(value, message):
    assert refused(v.bind, value) == message


# --- app.packages ------------------------------------------------------------------------------------------

def test_packages_good():
    given = ["flask", "gunicorn>=21", "Flask-Login==0.6.3", "requests[socks,security]>=2.0,<3",
             " jinja2 ~= 3.1 ", "zope.interface", "a"]
    assert v.packages(given) == [item.strip() for item in given]
    assert v.packages([]) == []


OPTIONS = "pip options are not allowed here; put anything else in a requirements.txt in the app folder"
ADDRESSES = "addresses and paths are not allowed here; put anything else in a requirements.txt in the app folder"
CONDITIONS = ("conditions after ';' are not allowed here; put anything else in a requirements.txt in the app "
              "folder")
ONE_NAME = 'write one package name with an optional version, such as "flask" or "gunicorn>=21"'


@pytest.mark.parametrize("value, message", [
    (["--index-url=https://x"], f'"--index-url=https://x": {OPTIONS}'),
    (["flask", "-e ."], f'"-e .": {OPTIONS}'),
    (["-r", "requirements.txt"], f'"-r": {OPTIONS}'),
    (["flask; rm -rf /"], f'"flask; rm -rf /": {CONDITIONS}'),
    (["flask; python_version<'3.12'"], f'"flask; python_version<\'3.12\'": {CONDITIONS}'),
    (["git+https://github.com/pallets/flask"], f'"git+https://github.com/pallets/flask": {ADDRESSES}'),
    (["https://example.com/flask-3.0.tar.gz"], f'"https://example.com/flask-3.0.tar.gz": {ADDRESSES}'),
    (["flask @ https://example.com/f.whl"], f'"flask @ https://example.com/f.whl": {ADDRESSES}'),
    (["./local/pkg"], f'"./local/pkg": {ADDRESSES}'),
    (["flask gunicorn"], f'"flask gunicorn": {ONE_NAME}'),
    (["flask && id"], f'"flask && id": {ONE_NAME}'),
    (["$(id)"], f'"$(id)": {ONE_NAME}'),
    (["flask\n==\n3.0"], '"flask\\n==\\n3.0" must be on one line, without tabs or other control characters'),
    (["flask", "gunicorn\n-e ."], '"gunicorn\\n-e ." must be on one line, without tabs or other control characters'),
    ([""], '"": is empty: remove it'),
    (["flask", 3], '3 is not a package name: write names in double quotes, such as "flask"'),
    ("flask gunicorn", 'must be a list in brackets, not text ("flask gunicorn"): write it as '
                       'packages = ["flask", "gunicorn"]'),
    ({"flask": "*"}, 'must be a list in brackets, not a table: write it as packages = ["flask", "gunicorn"]'),
])
def test_packages_bad(value, message):
    """The offending item is named, never its position in the list ("[1] ...")."""
    assert refused(v.packages, value) == message


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
    message = refused(v.email, value)
    assert "e-mail address" in message or "on one line" in message or "in double quotes" in message, message


def test_email_words():
    assert refused(v.email, "admin at example.com") == ('"admin at example.com" is not an e-mail address such as '
                                                        '"you@example.com"; or leave it empty: it is optional')


@pytest.mark.parametrize("value", ["letsencrypt", "letsencrypt-staging", "https://acme.example.com/directory",
                                   "https://127.0.0.1:14000/dir", "https://pebble:14000/dir"])
def test_acme_server_good(value):
    assert v.acme_server(value) == value


@pytest.mark.parametrize("value", ["http://acme.example.com/directory", "ftp://acme.example.com/directory",
                                   "lets encrypt please", "", "https://", "https://acme.example.com/dir?x=1",
                                   "https://user@acme.example.com/", "https://acme.example.com/a b",
                                   "file:///etc/passwd", "LETSENCRYPT", 1])
def test_acme_server_bad(value):
    message = refused(v.acme_server, value)
    assert message.startswith('must be "letsencrypt", "letsencrypt-staging" or the https:// address') or \
        message.startswith("must be text in double quotes"), message


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


FIVE = 'write five fields, minute hour day month weekday, such as "17 3,15 * * *" (every day at 03:17 and 15:17)'


@pytest.mark.parametrize("value, message", [
    ("61 * * * *", '"61 * * * *": the minute must be from 0 to 59, not 61'),
    ("* 24 * * *", '"* 24 * * *": the hour must be from 0 to 23, not 24'),
    ("* * 0 * *", '"* * 0 * *": the day of the month must be from 1 to 31, not 0'),
    ("* * * 13 *", '"* * * 13 *": the month must be from 1 to 12, not 13'),
    ("* * * * 8", '"* * * * 8": the weekday must be from 0 to 7, not 8'),
    ("30 4 1 *", f'"30 4 1 *": {FIVE}'),
    ("30 4 1 * * *", f'"30 4 1 * * *": {FIVE}'),
    ("", f'"": {FIVE}'),
    ("@daily", f'"@daily": {FIVE}'),
    ("every day at noon", f'"every day at noon": {FIVE}'),
    ("a b c d e", '"a b c d e": the minute must be * or a number from 0 to 59, not "a"'),
    ("mon * * * *", '"mon * * * *": the minute must be * or a number from 0 to 59, not "mon"'),
    ("30 4 1 * *\n* * * * * root rm -rf /", 'must be on one line, without tabs or other control characters: '
                                            '"30 4 1 * *\\n* * * * * root rm -rf /"'),
    ("*/0 * * * *", '"*/0 * * * *": the minute has "*/0": after / comes a number of 1 or more'),
    ("1/ * * * *", '"1/ * * * *": the minute has "1/": after / comes a number of 1 or more'),
    ("*/x * * * *", '"*/x * * * *": the minute has "*/x": after / comes a number of 1 or more'),
    ("*/² * * * *", '"*/² * * * *": the minute has "*/²": after / comes a number of 1 or more'),
    ("² * * * *", '"² * * * *": the minute must be * or a number from 0 to 59, not "²"'),
    ("1- * * * *", '"1- * * * *": the minute must be * or a number from 0 to 59, not ""'),
    ("-5 * * * *", '"-5 * * * *": the minute must be * or a number from 0 to 59, not ""'),
    ("1,,2 * * * *", '"1,,2 * * * *": the minute must be * or a number from 0 to 59, not ""'),
    ("10-5 * * * *", '"10-5 * * * *": the minute has the range "10-5" backwards: write the smaller number first'),
    ("* * * * fri-mon", '"* * * * fri-mon": the weekday has the range "fri-mon" backwards: write the smaller '
                        "number first"),
    (30, 'must be text in double quotes, not a number (30): write it as cron_schedule = "17 3,15 * * *"'),
])
def test_cron_bad(value, message):
    assert refused(v.cron_schedule, value) == message


@pytest.mark.parametrize("schedule, rare", [
    ("17 3,15 * * *", False), ("0 * * * *", False), ("*/15 * * * *", False), ("0 4 1-31 * *", False),
    ("0 4 * 1-12 0-6", False), ("0 4 * * 0-7", False),
    ("30 4 1 * *", True), ("0 3 * * 1", True), ("0 0 */2 * *", True), ("0 0 * 1-6 *", True),
])
def test_less_than_daily(schedule, rare):
    assert v.less_than_daily(schedule) is rare


# --- rules between keys ------------------------------------------------------------------------------------

def good(**changes) -> Answers:
    """The example answers with some keys changed, e.g. good(https__enabled=False)."""
    base = answers_mod.load(EXAMPLE)
    sections = {}
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        sections.setdefault(section, {})[key] = value
    return replace(base, **{s: replace(getattr(base, s), **kv) for s, kv in sections.items()})


AS_PI = {"app__user": "pi", "app__create_user": False}  # the example's user is one the wizard creates


def keys(problems):
    return [key for key, _ in problems]


def test_cross_check_example_is_clean():
    assert cross_check(good()) == []


def test_cross_check_https_needs_the_terms_not_an_email():
    """No "got false" (it was also said when the key is simply missing); an empty e-mail is fine."""
    problems = cross_check(good(https__agree_tos=False, https__email=""))
    assert problems == [
        ("https.agree_tos", "HTTPS needs it: write agree_tos = true to accept Let's Encrypt's subscriber "
                            "agreement, or enabled = false for a site without HTTPS")]
    assert cross_check(good(https__email="")) == []


def test_cross_check_local_names_with_a_public_ca():
    problems = cross_check(good(site__domains=["pi.example.com", "raspberrypi.local"]))
    assert problems == [("site.domains", "raspberrypi.local is a name only your home network knows: Let's "
                                         "Encrypt cannot give it a certificate. Use a real domain (a free "
                                         "dynamic-DNS name works), mode = \"local-ca\" for your home network "
                                         "only, or set [https] enabled = false for a site without HTTPS")]
    assert cross_check(good(site__domains=["raspberrypi.local"], https__acme_server="letsencrypt-staging")) \
        == [("site.domains", problems[0][1])]
    assert cross_check(good(site__domains=["raspberrypi.local"], https__enabled=False)) == []
    assert cross_check(good(site__domains=["pi.test"], https__acme_server="https://127.0.0.1:14000/dir")) == []


def test_cross_check_missing_user():
    problems = cross_check(good(app__user="nosuchuser", app__create_user=False, app__directory="/srv/x"))
    assert problems == [("app.user", 'there is no user "nosuchuser" on this machine: set create_user = true and '
                                     "the wizard creates it, or create it yourself with: "
                                     "sudo adduser --system --group nosuchuser")]
    assert cross_check(good(app__user="nosuchuser", app__create_user=True, app__directory="/srv/x")) == []


def test_cross_check_without_https_terms_and_email_do_not_matter():
    assert cross_check(good(https__enabled=False, https__agree_tos=False, https__email="")) == []


def test_cross_check_timer_needs_systemd():
    answers = good(https__renewal="timer")
    assert cross_check(answers, has_systemd=False) == [
        ("https.renewal", '"timer" needs systemd, which this machine does not run: write renewal = "auto" or "cron"')]
    assert cross_check(answers, has_systemd=True) == []
    assert cross_check(answers, has_systemd=None) == []
    assert cross_check(good(https__renewal="cron"), has_systemd=False) == []


def test_cross_check_socket_must_be_under_run_name():
    problems = cross_check(good(app__bind="unix:/run/other/gunicorn.sock"))
    assert problems == [("app.bind", 'the socket must be in /run/hello/, the app\'s name: write '
                                     'bind = "unix:/run/hello/gunicorn.sock"')]
    assert cross_check(good(app__name="site-x", app__bind="unix:/run/site-x/gunicorn.sock")) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a folder in /run")
def test_cross_check_socket_folder_owned_by_someone_else():
    name = "pwtest-" + uuid.uuid4().hex[:8]
    folder = Path("/run") / name
    folder.mkdir()
    try:
        answers = good(app__name=name, app__bind=f"unix:/run/{name}/gunicorn.sock", **AS_PI)
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
        problems = cross_check(good(app__directory=directory, **AS_PI))
        assert problems == [("app.directory", f"{directory} is in bob's home folder, and the wizard would give it "
                                              "to pi: pick a folder of the app's own, such as /srv/hello")]
    assert cross_check(good(app__directory="/home/bobby/app", **AS_PI)) == []
    assert cross_check(good(app__directory="/home/pi/app", **AS_PI)) == []
    assert cross_check(good(app__directory="/var/www/app", **AS_PI)) == []  # www-data's home is not under /home


def test_from_mapping_raises_the_first_cross_check_problem():
    data = tomli.loads(EXAMPLE.read_text())
    data["https"]["agree_tos"] = False
    with pytest.raises(AnswersError) as caught:
        from_mapping(data, "x.toml")
    assert caught.value.where == "https.agree_tos"
    assert str(caught.value).startswith("x.toml: https.agree_tos: HTTPS needs it: write agree_tos = true")


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
    assert str(caught.value) == "f.toml: app: must be a table: a line [app], then its keys below it, not text"


def test_required_and_defaults():
    with pytest.raises(AnswersError) as caught:
        from_mapping({}, "f.toml")
    assert str(caught.value) == ('f.toml: site.domains: is missing: name the domains this Pi answers to, such as '
                                 'domains = ["pi.example.com"] under [site]')
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
                                 f"(at line 5, column 9): workers 4. Remember: in TOML, true and false are "
                                 f'written bare and text goes in double quotes: enabled = true, name = "hello"')


def test_load_syntax_error_shows_the_line_and_the_rule(tmp_path):
    path = tmp_path / "answers.toml"
    path.write_text('[site]\ndomains = ["pi.example.com"]\n\n[https]\nenabled = yes # HTTPS\n')
    with pytest.raises(AnswersError) as caught:
        answers_mod.load(path)
    assert str(caught.value) == (f"{path}: not valid TOML: Invalid value (at line 5, column 11): enabled = yes. "
                                 "Remember: in TOML, true and false are written bare and text goes in double "
                                 'quotes: enabled = true, name = "hello"')


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


# --- advice: accepted, but warned about -------------------------------------------------------------------

MONTHLY = ('"30 4 1 * *" tries to renew less often than daily: a failed renewal then waits days for its next '
           'try. certbot renews only when due, so trying twice a day costs nothing: "17 3,15 * * *"')


def test_a_monthly_cron_schedule_is_accepted_with_a_warning():
    from wizard.schema import advice

    monthly = good(https__renewal="cron", https__cron_schedule="30 4 1 * *")
    assert cross_check(monthly) == []  # the setup guide's line, written explicitly, stays accepted
    assert advice(monthly) == [("https.cron_schedule", MONTHLY)]
    assert advice(good(https__renewal="cron")) == []  # the default: twice a day
    assert advice(good(https__renewal="timer", https__cron_schedule="30 4 1 * *"), has_systemd=True) == []
    assert advice(good(https__cron_schedule="30 4 1 * *"), has_systemd=False) == [("https.cron_schedule", MONTHLY)]
    assert advice(good(https__cron_schedule="30 4 1 * *"), has_systemd=True) == []  # auto: certbot.timer


def test_check_prints_the_warning_and_passes(wizard_bin, tmp_path):
    text = EXAMPLE.read_text().replace('renewal = "auto"', 'renewal = "cron"').replace(
        'cron_schedule = "17 3,15 * * *"', 'cron_schedule = "30 4 1 * *"')
    path = tmp_path / "answers.toml"
    path.write_text(text)
    done = subprocess.run([wizard_bin, "--answers", str(path), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"piserver-wizard: warning: {path}: https.cron_schedule: {MONTHLY}\n"
    assert done.stdout == f"{path}: the answers are valid\n"
