"""An apt-like flood: N lines of "Get:..." written in bursts, the way apt and dpkg flush their output.

    python bench/flood.py LINES [PATH]     # to stdout, or appended to PATH (/dev/null: the baseline)

Prints its own wall time and CPU time on stderr as "child-wall SECONDS child-cpu SECONDS" (and appends
that line to the file that $FLOOD_REPORT names, if set), so the benchmark measures what the child
experienced, whatever sits at the other end of its output. Its CPU time (user and system, page-cache
work included) is far less noisy than its wall time on a shared machine: it says whether storing the
bytes under the wizard costs the child more work, apart from waiting for a core.
"""

import os
import resource
import sys
import time

started = time.monotonic()
before = resource.getrusage(resource.RUSAGE_SELF)  # the interpreter's start-up is not the flood's
count = int(sys.argv[1])
out = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if len(sys.argv) > 2 else 1
batch: list[str] = []
for i in range(count):
    batch.append(f"Get:{i} http://deb.debian.org/debian bookworm/main arm64 libexample{i % 977} arm64 "
                 f"1.2.{i % 13}-1 [{i % 900} kB]\n")
    if len(batch) == 500 or i == count - 1:
        data = "".join(batch).encode()
        batch.clear()
        while data:
            data = data[os.write(out, data):]
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
report = f"child-wall {time.monotonic() - started:.4f} child-cpu {cpu:.4f}\n".encode()
os.write(2, report)
if os.environ.get("FLOOD_REPORT"):
    with open(os.environ["FLOOD_REPORT"], "ab") as handle:
        handle.write(report)
