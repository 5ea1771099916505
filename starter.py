"""The starter: the ``tada`` command line, from which cases are opened and link workflows started.

Installed as the ``tada`` command; ``python starter.py …`` in a checkout is the same program.
The commands live in ``tada/cli/``, one module per noun (docs/architecture.md).
"""

from tada.cli.main import main

if __name__ == "__main__":
    main()
