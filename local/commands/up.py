"""`python -m local up`: the stack in the foreground until Ctrl-C, with no process left behind."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from local.console.operations import recognition_features
from local.endpoints import shown
from local.errors import StackError
from local.observability.logs import Follower
from local.observability.runs import begin_run
from local.stack import LocalSystem, StackOptions


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local up", description=__doc__)
    parser.add_argument("--api-port", type=int, default=None, help="port for the HTTP API (default: API_PORT or free)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="local: %(message)s", stream=sys.stderr)

    stopping = threading.Event()
    # Ctrl-C and SIGTERM (from make, a supervisor or a test) both stop cleanly. SIGINT is set
    # explicitly because a shell starts background jobs with it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        options = StackOptions.from_env()
        if args.api_port is not None:
            options.api_port = args.api_port
        if options.log_dir is not None:
            begin_run(options.log_dir)
        stack = LocalSystem(options)
        stack.start()
    except StackError as e:
        print(f"local: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    # The functions' logs are kept in a file for `python -m local trace`, and shown here as well,
    # unless LOCAL_LOG_FILE sent them elsewhere.
    follower = Follower(stack.functions_log, sys.stderr) if options.log_path is None and stack.functions_log else None
    try:
        print(_banner(stack), flush=True)
        if follower is not None:
            follower.start()
        # In slices: a signal the kernel hands to another thread runs its Python handler only when
        # the main thread next runs Python code, and a wait without a timeout would never return.
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("local: stopping", file=sys.stderr, flush=True)
        stack.stop()
        if follower is not None:
            follower.stop()
    return 0


def _banner(stack: LocalSystem) -> str:
    e = stack.endpoints
    assert e is not None
    auth = (
        'cognito: every route wants a token; add -H "authorization: $(.venv/bin/python -m local token)"'
        if stack.options.auth == "cognito"
        else "none (AUTH=cognito turns the JWT authorizer on)"
    )
    endpoints_file = shown(stack.options.endpoints_file)
    return f"""
Local stack ready in {stack.started_in:.2f} s (endpoints in {endpoints_file}, logs in {_logs(stack)})
  api            {e.api}
  web console    {e.api}/console/
  aws emulator   {e.aws}  ({stack.options.emulator})
  rekognition    {e.rekognition}  ({stack.options.rekognition})
  webhook inbox  {e.webhook_inbox}
  fixtures       {e.fixtures}/
  auth           {auth}
  features       {_features(stack)}

Try it:
  curl -s '{e.api}/?url={e.fixtures}/chelsea.jpg&name=cat'
  curl -s -X POST '{e.api}/images?name=coffee' -H 'content-type: image/jpeg' --data-binary @tests/fixtures/coffee.jpg
  curl -s '{e.api}/images'
  curl -s '{e.webhook_inbox}'

Webhook subscriptions (docs/webhooks.md): register a named receiver of the inbox as an endpoint;
its query string sets how it answers (?fail=3, ?status=410, ?retry_after=2, ?delay_ms=1500):
  curl -s -X POST '{e.api}/webhooks' -H 'content-type: application/json' \\
    -d '{{"url": "{e.webhook_inbox.rstrip("/")}/r/mine?fail=1", "events": ["image.recognized"]}}'
  curl -s '{e.webhook_inbox.rstrip("/")}/r/mine/deliveries'

Follow one image:  .venv/bin/python -m local trace <image_id>
Metrics so far:    .venv/bin/python -m local metrics

Ctrl-C stops everything; so does `make stop` from another terminal (pid {os.getpid()})."""


def _features(stack: LocalSystem) -> str:
    features = recognition_features(stack.topology)
    shown_on = ", ".join(features["on"])
    if not features["off"]:
        return shown_on
    every = ",".join(features["on"] + features["off"])
    return f"{shown_on} (FEATURES={every} turns on {', '.join(features['off'])})"


def _logs(stack: LocalSystem) -> str:
    directory = stack.options.log_dir
    if directory is None:
        return "the terminal"
    return shown(directory)
