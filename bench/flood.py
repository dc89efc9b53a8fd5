"""An apt-like flood: N lines of "Get:..." written in bursts, the way apt and dpkg flush their output.

Prints its own wall time on stderr as "child-wall SECONDS", so the benchmark measures what the child
experienced, whatever sits at the other end of its stdout.
"""

import os
import sys
import time

started = time.monotonic()
count = int(sys.argv[1])
batch: list[str] = []
for i in range(count):
    batch.append(f"Get:{i} http://deb.debian.org/debian bookworm/main arm64 libexample{i % 977} arm64 "
                 f"1.2.{i % 13}-1 [{i % 900} kB]\n")
    if len(batch) == 500 or i == count - 1:
        data = "".join(batch).encode()
        batch.clear()
        while data:
            data = data[os.write(1, data):]
os.write(2, f"child-wall {time.monotonic() - started:.4f}\n".encode())
