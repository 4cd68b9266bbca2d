"""How the stack starts: workers warm on planned resource ids, and are restarted if the plan was wrong."""

import dataclasses

from local import topology
from local.aws.provision import Provisioner
from local.stack import LocalSystem
from tests.support.e2e_stack import stack_options


def start(stage: str) -> LocalSystem:
    # moto's state is per process: a stage of its own keeps these resources apart from the session's.
    stack = LocalSystem(stack_options(rekognition="moto"), topology.load(stage))
    stack.start()
    return stack


def test_the_workers_start_with_the_ids_the_resources_really_have():
    stack = start("e2e-start")
    try:
        assert stack.runtime.specs == stack.functions.specs(stack.ids)
        assert all(stack.runtime.stats(name)["cold_starts"] == 1 for name in stack.runtime.function_names)
    finally:
        stack.stop()


def test_a_wrong_plan_is_caught_and_the_workers_restart_with_the_real_ids(monkeypatch):
    real_plan = Provisioner.plan

    def wrong_plan(self, endpoint):
        planned = real_plan(self, endpoint)
        refs = {name: f"{value}-planned-wrongly" if "Queue" in name else value for name, value in planned.refs.items()}
        return dataclasses.replace(planned, refs=refs)

    monkeypatch.setattr(Provisioner, "plan", wrong_plan)
    stack = start("e2e-replan")
    try:
        queue_url = stack.ids.refs["IntegrationQueue"]
        assert stack.runtime.specs == stack.functions.specs(stack.ids)
        assert (
            dict(next(s for s in stack.runtime.specs if s.name == "deliver").environment)["INTEGRATION_QUEUE_URL"]
            == queue_url
        )
    finally:
        stack.stop()
