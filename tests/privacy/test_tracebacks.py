"""A traceback in a terminal (make run, tada api) shows no local variable: a request handler's
hold passwords, codes, notes and pasted URLs."""

from __future__ import annotations

import logging
import uuid

from tada.adapters.log_setup import configure_logging


def test_a_terminals_traceback_shows_no_local_variable(capsys):
    secret = f"pw-{uuid.uuid4().hex}"  # made at run time: it is in no source line a traceback quotes

    def sign_in(password: str) -> None:
        raise ValueError("the database refused the row")

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging("console")  # as in a terminal
    try:
        try:
            sign_in(secret)
        except ValueError:
            logging.getLogger("tada.test").exception("request failed")
        err = capsys.readouterr().err
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    assert "the database refused the row" in err and "sign_in" in err  # the traceback is there...
    assert secret not in err  # ...without the value of its locals
