"""Command line: run the local Rekognition until SIGTERM or SIGINT.

    python -m local.rekognition.cli --port 4567 [--host 127.0.0.1] [--fail-rate 0.1]

Then point boto3 at it with AWS_ENDPOINT_URL_REKOGNITION=http://127.0.0.1:4567.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading

from . import s3_source
from .models import ModelSet, for_features, shared_models
from .service import RekognitionService


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _features(text: str) -> set[str]:
    try:
        return for_features(name.strip() for name in text.split(",") if name.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rekognition", description="Local Amazon Rekognition with offline models.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument(
        "--fd",
        type=int,
        default=None,
        help="serve this inherited socket, already bound and listening, instead of binding --host and --port",
    )
    parser.add_argument(
        "--fail-rate",
        type=_fraction,
        default=0.0,
        help="fraction of calls answered with ThrottlingException or ProvisionedThroughputExceededException",
    )
    parser.add_argument(
        "--tps",
        type=float,
        default=0.0,
        help="per-operation quota in calls a second, answered over it as AWS does (default 0: no quota)",
    )
    parser.add_argument(
        "--features",
        type=_features,
        default=None,
        help="load up front only the models of these features (labels,properties,faces,text,moderation); "
        "the others load on first use (default: all)",
    )
    parser.add_argument(
        "--upstream",
        default="",
        help="forward every call to this Rekognition endpoint (e.g. moto's) instead of analyzing, behind the quota",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():  # signals can only be caught there
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda *_: stop.set())
    try:
        listening = None if args.fd is None else _inherited_socket(args.fd)
        if args.upstream:
            from .quota_proxy import QuotaProxy

            service = QuotaProxy(args.upstream, tps=args.tps, host=args.host, port=args.port, listening=listening)
        else:
            service = RekognitionService(
                host=args.host,
                port=args.port,
                fail_rate=args.fail_rate,
                tps=args.tps,
                models=shared_models(args.features),
                listening=listening,
            )
        url = service.start()
    except OSError as error:
        where = f"inherited socket {args.fd}" if args.fd is not None else f"{args.host}:{args.port}"
        print(f"rekognition: cannot listen on {where}: {error}", file=sys.stderr, flush=True)
        return 1
    print(f"rekognition: listening on {url}", flush=True)
    service.on_models_ready(_report_ready if args.upstream else _warm_s3_then_report_ready)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        service.stop()
    return 0


def _inherited_socket(fd: int) -> socket.socket:
    """The listening TCP socket the parent handed down as file descriptor `fd`."""
    listening = socket.socket(fileno=fd)
    if listening.type != socket.SOCK_STREAM or listening.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0:
        listening.detach()
        raise OSError(f"file descriptor {fd} is not a listening TCP socket")
    return listening


def _warm_s3_then_report_ready(models: ModelSet) -> None:
    # "models ready" tells the stack a call is now served warm, S3Object reads included.
    s3_source.warm()
    _report_ready(models)


def _report_ready(models: ModelSet) -> None:
    unavailable = f" (unavailable: {', '.join(sorted(models.errors))})" if models.errors else ""
    print(f"rekognition: models ready in {models.prepare_seconds:.2f} s{unavailable}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
