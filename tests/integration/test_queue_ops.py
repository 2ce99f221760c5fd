"""Queue operations: create, config options, delete, namespace/task labels."""

from __future__ import annotations

from typing import Any

import pytest

from queen import Queen, QueenValidationError
from queen.wire import QUEUE_DEFAULTS


async def test_create_simple_queue(queen: Queen, unique_name: Any) -> None:
    name = unique_name("ops")
    res = await queen.queue(name).create()
    assert res["configured"] is True and res["queue"] == name
    # every guide default is sent (0.15 rejects a configure without options)
    for key, value in QUEUE_DEFAULTS.items():
        assert res["options"][key] == value


async def test_every_guide_option(queen: Queen, unique_name: Any) -> None:
    name = unique_name("ops-all")
    options = {"leaseTime": 120, "retryLimit": 5, "priority": 7, "delayedProcessing": 3,
               "windowBuffer": 4, "maxSize": 500, "retentionSeconds": 7200,
               "completedRetentionSeconds": 3600, "encryptionEnabled": False,
               "dlqAfterMaxRetries": True}
    res = await queen.queue(name).config(options).create()
    for key, value in options.items():
        assert res["options"][key] == value


async def test_snake_case_options(queen: Queen, unique_name: Any) -> None:
    name = unique_name("ops-snake")
    res = await queen.queue(name).config({"lease_time": 45, "retry_limit": 1,
                                          "dlq_after_max_retries": True}).create()
    assert res["options"]["leaseTime"] == 45 and res["options"]["retryLimit"] == 1
    assert res["options"]["dlqAfterMaxRetries"] is True


async def test_reconfigure_sends_full_set(queen: Queen, unique_name: Any) -> None:
    name = unique_name("ops-re")
    await queen.queue(name).config({"priority": 9, "leaseTime": 60}).create()
    res = await queen.queue(name).config({"leaseTime": 30}).create()
    assert res["options"]["leaseTime"] == 30 and res["options"]["priority"] == 0


async def test_delete_reports_existed(queen: Queen, unique_name: Any) -> None:
    name = unique_name("ops-del")
    await queen.queue(name).create()
    assert (await queen.queue(name).delete())["existed"] is True
    again = await queen.queue(name).delete()
    assert again["deleted"] is True and again["existed"] is False


async def test_namespace_and_task_labels(queen: Queen, unique_name: Any) -> None:
    name = unique_name("ops-ns")
    res = await queen.queue(name).namespace("accounting").task("invoices").create()
    assert res["namespace"] == "accounting" and res["task"] == "invoices"


@pytest.mark.parametrize("options", [{"leaseTime": "300"}, {"bogus": 1}, {"priority": -1}])
def test_bad_options_fail_before_sending(queen: Queen, options: Any) -> None:
    with pytest.raises(QueenValidationError):
        queen.queue("x").config(options)


async def test_nameless_queue_cannot_be_created(queen: Queen) -> None:
    with pytest.raises(QueenValidationError):
        await queen.queue().create()
    with pytest.raises(QueenValidationError):
        queen.queue().push([{"data": 1}])
    with pytest.raises(QueenValidationError):
        queen.queue("bad/name")
