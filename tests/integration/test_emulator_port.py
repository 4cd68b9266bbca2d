"""The embedded emulator's port is held from the moment it is planned (local/aws/emulator.py): the
stack names the endpoint to its workers before the server starts, and nothing may take it meanwhile."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from local.aws.credentials import fake_session
from local.aws.emulator import MotoEmulator


def test_the_planned_port_is_held_until_the_start_and_a_call_made_before_it_is_answered():
    emulator = MotoEmulator()
    try:
        # GIVEN the planned port: no other socket can bind it before the server starts
        with socket.socket() as other, pytest.raises(OSError):
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            other.bind((emulator.host, emulator.port))
        # WHEN a worker calls it before the server runs
        answers: list[list[str]] = []
        sqs = fake_session("us-east-1", emulator.planned_endpoint).client("sqs")
        caller = threading.Thread(target=lambda: answers.append(sqs.list_queues().get("QueueUrls", [])))
        caller.start()
        time.sleep(0.2)
        assert emulator.start() == emulator.planned_endpoint
        caller.join(timeout=30)
        # THEN the call waited for the server and was answered
        assert answers == [[]]
    finally:
        emulator.stop()


def test_an_emulator_never_started_lets_its_port_go():
    emulator = MotoEmulator()
    emulator.stop()
    with socket.socket() as other:
        other.bind((emulator.host, emulator.port))
