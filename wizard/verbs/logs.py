"""`piserver-wizard logs APP [-f] [-n N]`: the app's output and nginx's logs for its site, in time order.

Four files, four timestamp formats: gunicorn's access lines (on stdout) and nginx's access log say
``[01/Dec/2026:21:34:57 +0000]``, gunicorn's own messages ``[2026-12-01 21:34:08 +0000]``, nginx's error
log ``2026/12/01 21:34:08`` in local time. A line without a stamp (a traceback) keeps its predecessor's.
"""

from __future__ import annotations

import argparse
import heapq
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

from .. import EXIT_OK, EXIT_USAGE
from .apps import ManagedApp, NoSuchApp, managed_apps

STAMPS = [
    (re.compile(r"\[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]"), "%d/%b/%Y:%H:%M:%S %z"),
    (re.compile(r"^\[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4})\]"), "%Y-%m-%d %H:%M:%S %z"),
    (re.compile(r"^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) "), "%Y/%m/%d %H:%M:%S"),
]
TAIL_BYTES = 1 << 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app whose logs to show")
    parser.add_argument("-n", "--lines", type=int, default=40, metavar="N", help="the last N lines (default 40)")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines as they come")


def stamp_of(line: str) -> float | None:
    for pattern, layout in STAMPS:
        found = pattern.search(line)
        if found:
            try:
                parsed = datetime.strptime(found.group(1), layout)
            except ValueError:
                return None
            return parsed.timestamp()  # naive (nginx's error log) is local time, as nginx writes it
    return None


@dataclass
class Source:
    label: str
    path: Path
    offset: int = 0
    inode: int = 0
    last_stamp: float = 0.0
    partial: str = field(default="", repr=False)

    def stamped(self, lines: list[str]) -> list[tuple[float, str, str]]:
        out = []
        for line in lines:
            self.last_stamp = stamp_of(line) or self.last_stamp
            out.append((self.last_stamp, self.label, line))
        return out

    def read_new(self, tail_bytes: int | None = None) -> list[tuple[float, str, str]]:
        """Lines added since the last read (from the end when ``tail_bytes``); a rotated file starts over."""
        try:
            st = self.path.stat()
            if st.st_ino != self.inode or st.st_size < self.offset:
                self.inode, self.offset, self.partial = st.st_ino, 0, ""
            start = max(self.offset, st.st_size - tail_bytes) if tail_bytes else self.offset
            with self.path.open("rb") as handle:
                handle.seek(start)
                data = handle.read()
        except OSError:
            return []
        self.offset = start + len(data)
        text = self.partial + data.decode("utf-8", "replace")
        *lines, self.partial = text.split("\n")
        if tail_bytes and start > 0 and lines:
            lines = lines[1:]  # the first line was cut by the seek
        return self.stamped([line for line in lines if line])


def sources_of(app: ManagedApp) -> list[Source]:
    p = app.paths
    return [Source("app", Path(p.out_log)), Source("app:err", Path(p.err_log)),
            Source("nginx", Path(p.nginx_access_log)), Source("nginx:err", Path(p.nginx_error_log))]


def merged(batches: list[list[tuple[float, str, str]]]) -> Iterator[tuple[float, str, str]]:
    """Each file is in time order already: a heap merge keeps a file's own order for equal stamps."""
    return heapq.merge(*batches, key=lambda item: item[0])


def render(entry: tuple[float, str, str]) -> str:
    return f"{entry[1]:9} {entry[2]}"


def run(args: argparse.Namespace, out=sys.stdout) -> int:  # noqa: ANN001 - a text stream
    try:
        (app,) = managed_apps(args.app)
    except NoSuchApp as error:
        print(f"piserver-wizard: {error}", file=sys.stderr)
        return EXIT_USAGE
    sources = sources_of(app)
    entries = list(merged([s.read_new(TAIL_BYTES) for s in sources]))
    for entry in entries[-args.lines:] if args.lines > 0 else []:
        print(render(entry), file=out)
    out.flush()
    try:
        while args.follow:
            time.sleep(0.5)
            for entry in merged([s.read_new() for s in sources]):
                print(render(entry), file=out)
            out.flush()
    except KeyboardInterrupt:
        pass
    return EXIT_OK
