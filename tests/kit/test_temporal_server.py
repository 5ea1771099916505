"""The Temporal dev server of ``make run``: search attributes registered, workflows survive a restart."""

from __future__ import annotations

from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from tada.domain.search import SEARCH_ATTRIBUTES
from tada.kit.ports import free_port, port_is_free
from tada.kit.temporal_server import DevTemporalServer


async def test_search_attributes_and_a_restart_that_resumes(tmp_path):
    server = DevTemporalServer(tmp_path / "temporal.db", free_port(), free_port(), tmp_path / "temporal.log")
    await server.start()
    try:
        client = await Client.connect(server.address)
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace="default"))
        assert set(SEARCH_ATTRIBUTES) <= set(listed.custom_attributes)
        # No worker polls this queue: the workflow just stays open.
        await client.start_workflow("Probe", id="devstack-probe", task_queue="devstack-probe")
    finally:
        await server.stop()
    assert not server.is_running()
    assert port_is_free("127.0.0.1", server.port)

    await server.start()
    try:
        client = await Client.connect(server.address)
        description = await client.get_workflow_handle("devstack-probe").describe()
        assert description.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    finally:
        await server.stop()
    assert (tmp_path / "temporal.log").read_text().count("starting:") == 2
