"""Why a certificate request failed, in plain words with the way out, from certbot's and the CA's errors.

Run as a command around certbot (``python -m wizard.diagnose certbot certonly ...``): it passes certbot's
output through unchanged and, when certbot fails, ends with one ``Error:`` line the engine shows as the
step's reason (and more lines under it). The TUI's failure panel reads the :data:`SWITCH_MARK` to offer
DNS-01 or the local CA. It knows what the machine knows (its own addresses), never asks the internet.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from dataclasses import dataclass

SWITCH_MARK = "use https.challenge = \"dns-01\" or https.mode = \"local-ca\""


@dataclass(frozen=True)
class Problem:
    domain: str
    kind: str  # the CA's error type: dns, connection, unauthorized, rateLimited...
    detail: str


@dataclass(frozen=True)
class Diagnosis:
    code: str  # no-dns, aaaa-elsewhere, port80, elsewhere, rate-limited, other
    text: str


_BLOCK = re.compile(r"Domain:\s*(\S+)\s*\n\s*Type:\s*(\S+)\s*\n\s*Detail:\s*(.+)")
_ADDRESS = re.compile(r"^\s*(\[?[0-9a-fA-F:.]+\]?):\s")
_RETRY = re.compile(r"retry after ([0-9TZ:. -]+(?:UTC)?)", re.IGNORECASE)


def problems_in(output: str) -> list[Problem]:
    """certbot's summary lists each name the CA refused as Domain / Type / Detail."""
    return [Problem(d.rstrip(":"), t, detail.strip()) for d, t, detail in _BLOCK.findall(output)]


def _address(detail: str) -> str | None:
    """The address the CA connected to, which Let's Encrypt puts first ("203.0.113.5: Fetching ...")."""
    match = _ADDRESS.match(detail) or re.search(r"dial tcp (\[?[0-9a-fA-F:.]+\]?):\d+", detail)
    if not match:
        return None
    text = match.group(1).strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _rate_limited(output: str) -> Diagnosis | None:
    if not re.search(r"rateLimited|too many (certificates|failed authorizations|new orders|registrations)",
                     output, re.IGNORECASE):
        return None
    when = _RETRY.search(output)
    retry = f"retry after {when.group(1).strip()}" if when else "wait an hour (failed validations) or a week (" \
                                                                  "five certificates for the same names)"
    return Diagnosis("rate-limited", f"the certificate authority's rate limit was reached: {retry}; the wizard "
                                     "tests against the staging server first so a failing setup costs none")


def classify(problem: Problem, local: list[str]) -> Diagnosis:
    """One refused name: what it means, and what to do."""
    name, detail, address = problem.domain, problem.detail, _address(problem.detail)
    lowered = detail.lower()
    if problem.kind == "dns" or any(w in lowered for w in ("nxdomain", "could not resolve", "no valid ip",
                                                          "servfail", "no such host")):
        return Diagnosis("no-dns", f"{name} does not resolve: the CA found no address for it. Create its A "
                                   "record (your public address) at your DNS provider, wait a few minutes, run again")
    if address and ":" in address and address not in local:
        return Diagnosis("aaaa-elsewhere", f"{name} has an IPv6 (AAAA) record, {address}, that is not this Pi; "
                                           "the CA tries IPv6 first: delete that record or point it here")
    if problem.kind == "connection" or any(w in lowered for w in ("timeout during connect", "connection refused",
                                                                 "no route to host", "network unreachable")):
        where = f" ({address})" if address else ""
        return Diagnosis("port80", f"the certificate authority could not connect to port 80 of {name}{where}: "
                                   "the router does not forward port 80 to this Pi, the ISP blocks it, or the "
                                   f"line is behind CGNAT. Forward port 80, or {SWITCH_MARK}")
    if problem.kind == "unauthorized" or "invalid response" in lowered:
        where = f" at {address}" if address else ""
        return Diagnosis("elsewhere", f"{name} leads to another web server{where}, not this Pi's nginx: point "
                                      "its A record at your public address and forward port 80 to this Pi")
    return Diagnosis("other", f"the certificate authority refused {name}: {detail}")


def diagnose(output: str, local: list[str]) -> list[Diagnosis]:
    limited = _rate_limited(output)
    found = [limited] if limited else []
    found += [classify(p, local) for p in problems_in(output)]
    return found


def explain(output: str, local: list[str]) -> str:
    """The lines printed after a failed certbot: ``Error:`` with the first finding, the others under it."""
    found = diagnose(output, local)
    if not found:
        return ""
    lines = [f"Error: {found[0].text}"] + [f"  also: {d.text}" for d in found[1:] if d != found[0]]
    return "\n".join(lines) + "\n"


def _local_addresses() -> list[str]:
    from .facts import _ip_addresses

    return [str(ipaddress.ip_address(a.split("%")[0])) for a in _ip_addresses()] + ["127.0.0.1", "::1"]


def main(argv: list[str]) -> int:
    """Run certbot, pass its output on as it comes, and explain a failure."""
    if not argv or argv[0] != "certbot":
        print("usage: python -m wizard.diagnose certbot ARGS...", file=sys.stderr)
        return 2
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    assert child.stdout is not None
    seen = []
    for raw in iter(child.stdout.readline, b""):
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
        seen.append(raw.decode("utf-8", "replace"))
    code = child.wait()
    if code != 0:
        sys.stdout.write("\n" + explain("".join(seen), _local_addresses()))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
