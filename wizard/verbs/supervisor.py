"""Talking to supervisord over its socket (XML-RPC), as supervisorctl does, without a Python start each.

A status call for five apps through supervisorctl would start five interpreters; one connection answers
all of them, with the pid and start time that give the uptime.
"""

from __future__ import annotations

import http.client
import xmlrpc.client
from typing import Any

from ..verify import SUPERVISOR_SOCKET, _UnixConnection


class SupervisorDown(Exception):
    """supervisord does not answer on its socket."""


def proxy(path: str = SUPERVISOR_SOCKET) -> Any:
    class Transport(xmlrpc.client.Transport):
        def make_connection(self, host: object) -> http.client.HTTPConnection:
            return _UnixConnection(path, 15)

    return xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=Transport())


def process_info(program: str) -> dict[str, Any] | None:
    """supervisor's getProcessInfo (statename, pid, start, now, spawnerr...); None for no such program."""
    try:
        return dict(proxy().supervisor.getProcessInfo(program))
    except xmlrpc.client.Fault:
        return None
    except (OSError, http.client.HTTPException) as error:
        raise SupervisorDown(f"supervisord does not answer on {SUPERVISOR_SOCKET}: {error}") from error


def signal(program: str, name: str) -> None:
    """Send a signal to the program's main process (gunicorn's arbiter), as `supervisorctl signal`."""
    try:
        proxy().supervisor.signalProcess(program, name)
    except xmlrpc.client.Fault as fault:
        raise SupervisorDown(f"supervisor could not signal {program}: {fault.faultString}") from fault
    except (OSError, http.client.HTTPException) as error:
        raise SupervisorDown(f"supervisord does not answer on {SUPERVISOR_SOCKET}: {error}") from error


def uptime(info: dict[str, Any]) -> int | None:
    """Seconds since the program started, when it runs."""
    if info.get("statename") != "RUNNING" or not info.get("start"):
        return None
    return max(0, int(info["now"]) - int(info["start"]))
