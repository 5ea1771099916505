"""The ``tada`` command line: one module per noun, one shared runtime."""
