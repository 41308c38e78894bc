"""Entry point of Bob's process: ``python -m reduction.bob_worker`` (see reduction.bob)."""

import os
import sys

from reduction.bob import serve

if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
    sys.stdout.flush()
    os._exit(0)  # every answer is written: skip the interpreter's teardown (~0.1 s)
