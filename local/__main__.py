"""`python -m local <command>`: the CLI behind the make targets."""

from __future__ import annotations

import sys

COMMANDS = {
    "up": "local.commands.up",
    "stop": "local.commands.stop",
    "e2e": "local.commands.e2e",
    "rekognition": "local.rekognition.cli",
    "smoke": "local.commands.smoke",
    "artifacts": "local.deploy.packaging",
    "deploy-local": "local.deploy.deploy_local",
    "chaos": "local.chaos.cli",
    "redrive": "local.commands.redrive",
    "migrate-owners": "local.commands.migrate_owners",
    "token": "local.commands.auth_token",
    "burst": "local.commands.burst",
    "capacity": "local.commands.capacity",
    "console": "local.console.serve",
    "trace": "local.commands.trace",
    "metrics": "local.commands.metrics",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m local {" + "|".join(COMMANDS) + "} [options]", file=sys.stderr)
        print("  up           run the whole stack in the foreground until Ctrl-C", file=sys.stderr)
        print(
            "  stop         stop the stack .local/endpoints.json names (one started in the background)", file=sys.stderr
        )
        print("  e2e          run one full flow on a fresh stack and print a summary", file=sys.stderr)
        print("  rekognition  serve the local Rekognition service alone (--port P)", file=sys.stderr)
        print("  smoke        one upload-to-webhook flow against a target (--api URL, --stage S)", file=sys.stderr)
        print("  artifacts    report the packaged zips and their sizes (DIR, default .serverless)", file=sys.stderr)
        print("  deploy-local deploy with osls to the embedded emulator and check it (--stage S)", file=sys.stderr)
        print("  chaos        push images through a fresh stack under faults and audit for loss", file=sys.stderr)
        print("  redrive      move a dead-letter queue's messages back to their source queue", file=sys.stderr)
        print("  migrate-owners  give images written before owners an owner (--owner SUB)", file=sys.stderr)
        print("  token        print a JWT for the running stack's test user (AUTH=cognito)", file=sys.stderr)
        print(
            "  burst        upload a burst against the Rekognition quota and audit it (--images, --tps)",
            file=sys.stderr,
        )
        print(
            "  capacity     the capacity model for AWS: limits, drain time, cost (--images-per-day N)", file=sys.stderr
        )
        print("  console      serve the web console pointed at a deployed API (--api URL)", file=sys.stderr)
        print("  trace        one image's waterfall from upload to webhook, from the logs (IMAGE_ID)", file=sys.stderr)
        print("  metrics      the running totals of the functions' metrics, from the logs", file=sys.stderr)
        return 2
    import importlib

    from local.processes import lifeline

    lifeline.follow_parent()  # started by a stack (the Rekognition service): end with it
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
