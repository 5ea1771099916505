"""Histories written by earlier versions of the link workflow still replay: a worker
upgraded while links are open (``make run`` again) carries on with them.

Each file in ``histories/`` is a whole history recorded with the workflow code of its
version (the name says which change it predates), read back here with today's code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tada.workflows.link import LinkWorkflow
from tada.workflows.notice_batch import NoticeBatchWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_histories_to_replay():
    assert HISTORIES


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_an_earlier_history_replays_with_todays_code(path):
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    replayer = Replayer(workflows=[LinkWorkflow, NoticeBatchWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
