"""A reduced `make chaos` (chaos/run.py): 40 links through a worker SIGKILL, a Temporal
dev server restart, an SMTP outage and a PostgreSQL outage that begins while a notice is
between the SMTP server's 250 and being marked sent, all shortened; every check of the
full run must pass (nothing lost, nothing sent twice, nothing stuck)."""

import pytest

from chaos.run import Options, main_async

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]


async def test_reduced_chaos_run_loses_and_duplicates_nothing(capsys):
    # timeout: a notice whose sending was under way when the worker was SIGKILLed is tried again
    # only when its start-to-close timeout (2 minutes, workflows/options.py NOTICE) has passed;
    # on a loaded machine the kill can land mid-send, so the run may wait that long to settle.
    options = Options(
        links=40, cases=4, spread=20, worker_down=2, temporal_down=3, smtp_down=5, postgres_down=6, timeout=150
    )
    status = await main_async(options)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "all checks passed" in out
