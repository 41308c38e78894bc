"""Entry point of Bob's process: ``python -m reduction.bob_worker`` (see reduction.bob)."""

import sys

from reduction.bob import serve

if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
