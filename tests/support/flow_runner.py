"""`make local-e2e`'s flow, once per serverless.yml given, in one process: the imports are paid once.

    python -m tests.support.flow_runner '[{"name": ..., "serverless_yml": ..., "rekognition": ...}, ...]'

Each flow is `python -m local e2e`'s own (local/commands/e2e.py `run`): a fresh stack built from that
file as LOCAL_SERVERLESS_YML and REKOGNITION say, the flow, the stack stopped. One stack at a time:
moto keeps its resources in the process, and each stack's stop clears them. Prints one JSON line per
flow, {"name", "passed", "summary"}, to stdout; the stacks' own lines go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from local.commands import e2e


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="local: %(message)s", stream=sys.stderr)
    for flow in json.loads(argv[0]):
        os.environ["LOCAL_SERVERLESS_YML"] = flow["serverless_yml"]
        os.environ["REKOGNITION"] = flow["rekognition"]
        print(f"--- {flow['name']}", file=sys.stderr, flush=True)
        passed, summary = e2e.run(float(flow.get("timeout", 30)))
        print(json.dumps({"name": flow["name"], "passed": passed, "summary": summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
