"""The worker: runs the link workflows and their activities against Temporal.

Installed as the ``tada-worker`` command; ``python worker.py`` in a checkout is the same
program. How it is assembled lives in ``tada/worker.py`` (docs/architecture.md).
"""

from tada.worker import main

if __name__ == "__main__":
    main()
