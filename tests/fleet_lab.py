"""A fleet of booted Debian containers, each in a network namespace of its own, joined to the host by a veth.

Why: the issue's fleet test runs the real playbook over SSH against more than one Pi, and each Pi gets its
certificate over HTTP-01 at its own address. container_lab.lab() gives one namespace with only loopback
and a pebble inside it, which a single container needs; a fleet needs the host (Ansible's controller, and
the one ACME server for all) to reach every container. So here each host ``i`` gets:

- a namespace ``pwfleet-i`` and a veth pair, ``10.77.i.1/24`` on the host's side and ``10.77.i.2`` inside,
  with a route to ``10.77.0.0/16`` only (no default route: there is nothing to reach beyond the host, and
  the host does not forward);
- a booted container (systemd-nspawn, the offline layer of container_lab) in that namespace, with sshd
  from the layer's .debs and the test's key, and pebble's CA in a bundle the wizard's run is given.

One pebble and one pebble-challtestsrv run on the host, listening on ``10.77.1.1`` (a host address every
container routes to; not 127.0.0.1's shared pebble ports). The mock DNS answers each host's names with that
host's address and nothing else (no default answer), so pebble validates HTTP-01 over the veth, at the
nginx of the container the name belongs to. Everything is removed afterwards, whatever happens.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from container_lab import ACME_BUNDLE_IN_BOX, offline_roots
from systemd_container import Container, _host_run, booted

CA_ADDRESS = "10.77.1.1"  # the host's side of the first veth: the ACME server's address for every host
ACME_PORT, ACME_MGMT_PORT, DNS_PORT, DNS_MGMT_PORT = 14100, 15100, 8153, 8155
RUN_DIR = Path("/run/piserver-fleet-lab")  # the lock one fleet at a time holds, and pebble's pids
SSH_OPTIONS = "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o ConnectTimeout=20"


@dataclass
class Host:
    """One Pi of the fleet: its release, names, namespace, address and booted container."""

    index: int
    suite: str
    names: list[str]
    box: Container | None = None
    host_key: list[str] = field(default_factory=list)

    @property
    def netns(self) -> str:
        return f"pwfleet-{self.index}"

    @property
    def address(self) -> str:
        return f"10.77.{self.index}.2"

    @property
    def gateway(self) -> str:
        return f"10.77.{self.index}.1"

    @property
    def veth(self) -> tuple[str, str]:
        return f"pwfleet{self.index}h", f"pwfleet{self.index}c"


@dataclass
class Acme:
    """The fleet's pebble: its directory, the CA its own listeners use, and the folder of its files."""

    folder: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def directory(self) -> str:
        return f"https://{CA_ADDRESS}:{ACME_PORT}/dir"

    @property
    def listener_ca(self) -> Path:
        return self.folder / "listener-ca.pem"

    def root(self, dest: Path) -> Path:
        """pebble's issuing root (a new one at every start), to verify the sites' certificates."""
        context = ssl.create_default_context(cafile=str(self.listener_ca))
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                             urllib.request.ProxyHandler({}))
        with opener.open(f"https://{CA_ADDRESS}:{ACME_MGMT_PORT}/roots/0", timeout=10) as response:
            dest.write_bytes(response.read())
        return dest


def _quiet(argv: list[str]) -> None:
    """A removal that may find nothing to remove (a clean machine, or a run that stopped early)."""
    subprocess.run(argv, capture_output=True, timeout=30)


@contextlib.contextmanager
def network(hosts: list[Host]) -> Iterator[None]:
    """The namespaces and veth pairs of `hosts`; removed afterwards (also those a killed run left)."""
    def remove() -> None:
        for host in hosts:
            _quiet(["ip", "link", "del", host.veth[0]])
            _quiet(["ip", "netns", "del", host.netns])

    remove()
    try:
        for host in hosts:
            outside, inside = host.veth
            _host_run(["ip", "netns", "add", host.netns], timeout=30)
            _host_run(["ip", "link", "add", outside, "type", "veth", "peer", "name", inside], timeout=30)
            _host_run(["ip", "link", "set", inside, "netns", host.netns], timeout=30)
            _host_run(["ip", "addr", "add", f"{host.gateway}/24", "dev", outside], timeout=30)
            _host_run(["ip", "link", "set", outside, "up"], timeout=30)
            for argv in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", f"{host.address}/24", "dev", inside],
                         ["ip", "link", "set", inside, "up"],
                         ["ip", "route", "add", "10.77.0.0/16", "via", host.gateway]):
                _host_run(["ip", "netns", "exec", host.netns, *argv], timeout=30)
        yield
    finally:
        remove()


def _make_listener_certs(folder: Path) -> None:
    """A CA and a certificate for pebble's own HTTPS listeners, naming the address the containers use."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _host_run(["openssl", "req", "-x509", *key, "-keyout", str(folder / "listener-ca.key"),
               "-out", str(folder / "listener-ca.pem"), "-days", "2", "-subj", "/CN=piserver-wizard fleet pebble CA",
               "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
              timeout=60)
    _host_run(["openssl", "req", *key, "-keyout", str(folder / "key.pem"), "-out", str(folder / "leaf.csr"),
               "-subj", "/CN=pebble"], timeout=60)
    (folder / "leaf.ext").write_text("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
                                     f"subjectAltName=IP:{CA_ADDRESS}\n")
    _host_run(["openssl", "x509", "-req", "-in", str(folder / "leaf.csr"), "-CA", str(folder / "listener-ca.pem"),
               "-CAkey", str(folder / "listener-ca.key"), "-CAcreateserial", "-days", "2",
               "-extfile", str(folder / "leaf.ext"), "-out", str(folder / "cert.pem")], timeout=60)


def _start(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **(env or {})},
                                start_new_session=True)


def _wait_until_answering(acme: Acme, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            acme.root(acme.folder / "root-probe.pem")
            return
        except OSError as error:
            for process in acme.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited; see {acme.folder}") from error
            if time.monotonic() > deadline:
                raise RuntimeError(f"pebble did not answer on {CA_ADDRESS}:{ACME_MGMT_PORT}; see {acme.folder}") \
                    from error
            time.sleep(0.2)


@contextlib.contextmanager
def pebble(folder: Path, hosts: list[Host]) -> Iterator[Acme]:
    """pebble and its mock DNS on the host's veth address; each host's names answered with its address."""
    acme = Acme(folder)
    _stop_left_over()
    _make_listener_certs(folder)
    config = {"pebble": {"listenAddress": f"{CA_ADDRESS}:{ACME_PORT}",
                         "managementListenAddress": f"{CA_ADDRESS}:{ACME_MGMT_PORT}",
                         "certificate": str(folder / "cert.pem"), "privateKey": str(folder / "key.pem"),
                         "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "",
                         "certificateValidityPeriod": 7776000, "externalAccountBindingRequired": False}}
    (folder / "pebble.json").write_text(json.dumps(config))
    dns = f"{CA_ADDRESS}:{DNS_PORT}"
    try:
        # No default answers: a name the test did not give a host resolves nowhere.
        acme.processes.append(_start(["pebble-challtestsrv", "-dns01", dns, "-management",
                                      f"{CA_ADDRESS}:{DNS_MGMT_PORT}", "-http01", "", "-https01", "",
                                      "-tlsalpn01", "", "-defaultIPv4", "", "-defaultIPv6", ""],
                                     folder / "challtestsrv.log"))
        acme.processes.append(_start(["pebble", "-config", str(folder / "pebble.json"), "-dnsserver", dns],
                                     folder / "pebble.log",
                                     {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
                                      "PEBBLE_AUTHZREUSE": "0"}))
        for process in acme.processes:
            (RUN_DIR / f"{Path(process.args[0]).name}.pid").write_text(f"{process.pid}\n")
        _wait_until_answering(acme)
        for host in hosts:
            for name in host.names:
                _add_a(name, host.address)
        yield acme
    finally:
        for process in acme.processes:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            (RUN_DIR / f"{Path(process.args[0]).name}.pid").unlink(missing_ok=True)


def _stop_left_over() -> None:
    """A run killed before its teardown left its pebble listening on the lab's address: stop that one (by
    the pid it wrote, and only if that pid still runs the same program), so the new one can listen."""
    for pidfile in RUN_DIR.glob("*.pid"):
        try:
            pid = int(pidfile.read_text())
            if Path(f"/proc/{pid}/exe").resolve().name == pidfile.stem:
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass
        pidfile.unlink(missing_ok=True)


def _add_a(name: str, address: str) -> None:
    body = json.dumps({"host": f"{name}.", "addresses": [address]}).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(urllib.request.Request(f"http://{CA_ADDRESS}:{DNS_MGMT_PORT}/add-a", data=body,
                                            method="POST"), timeout=10) as response:
        assert response.status == 200


def make_key(folder: Path) -> Path:
    """The SSH key the controller logs in with, made for this run only."""
    key = folder / "id_ed25519"
    _host_run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "piserver-wizard fleet test", "-f", str(key)],
              timeout=60)
    return key


def prepare(host: Host, key: Path, acme: Acme) -> None:
    """What a Pi has before the playbook: sshd taking the key, and (here) trust in the test's ACME server."""
    box = host.box
    assert box is not None
    box.run(["apt-get", "install", "-y", "-q", "openssh-server"], timeout=600)  # offline: the layer's .debs
    box.run(["install", "-d", "-m", "0700", "/root/.ssh"], timeout=30)
    box.copy_in(key.with_suffix(".pub"), "/root/.ssh/authorized_keys", mode=0o600)
    box.run(["systemctl", "enable", "--now", "ssh"], timeout=120)
    box.copy_in(acme.listener_ca, "/root/pebble-ca.pem")
    box.run(["sh", "-c", f"cat /etc/ssl/certs/ca-certificates.crt /root/pebble-ca.pem > {ACME_BUNDLE_IN_BOX}"],
            timeout=30)
    host.host_key = box.path("/etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2]


def known_hosts(hosts: list[Host], dest: Path) -> Path:
    """The containers' own host keys, so SSH checks them strictly (no trust on first use)."""
    dest.write_text("".join(f"{host.address} {' '.join(host.host_key)}\n" for host in hosts))
    return dest


@contextlib.contextmanager
def fleet(hosts: list[Host], folder: Path) -> Iterator[tuple[Acme, Path]]:
    """The whole lab: network, pebble, the booted containers with sshd; yields pebble and the SSH key."""
    roots = {host.suite: offline_roots(host.suite) for host in hosts}
    RUN_DIR.mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        lock = stack.enter_context(open(RUN_DIR / "lock", "w"))
        fcntl.flock(lock, fcntl.LOCK_EX)  # one fleet at a time: the namespaces and addresses are fixed
        stack.enter_context(network(hosts))
        acme = stack.enter_context(pebble(folder / "pebble", hosts))
        key = make_key(folder)
        for host in hosts:
            base, layer = roots[host.suite]
            host.box = stack.enter_context(booted(base, f"pwfleet-{host.suite}", layers=(layer,), netns=host.netns))
            prepare(host, key, acme)
        yield acme, key


def https_get_at(address: str, domain: str, root: Path) -> tuple[int, str]:
    """A visitor's request to `address` with `domain` as SNI and Host, verified against pebble's root."""
    context = ssl.create_default_context(cafile=str(root))
    with socket.create_connection((address, 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=domain) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {domain}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    text = data.decode("utf-8", "replace")
    return int(text.split(" ", 2)[1]), text


def stamp(box: Container, folders: str) -> str:
    """Every file under `folders` with size, mode and mtime: equal stamps mean nothing was written."""
    return box.run(["sh", "-c", f"find {folders} -printf '%p %s %m %T@\\n' 2>/dev/null | sort"], timeout=60).stdout

