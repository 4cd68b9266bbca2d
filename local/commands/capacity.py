"""`python -m local capacity`: the capacity model for AWS, as a table (docs/scaling.md explains it).

    python -m local capacity --images-per-day 1000000 [--burst 100000] [--tps 50]
        [--concurrency 5] [--delivery-concurrency 20] [--call-seconds 0.5] [--duplicates 0] [--endpoints 0]

Prints which limit binds first at the peak hour, the concurrency used, how a burst drains at the
quota, the cost per 1,000 images for each feature set, and what a tenfold day would need.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

from local.commands import capacity_model as model


def report(workload: model.Workload) -> list[str]:
    peak = model.peak_rate(workload)
    average = workload.images_per_day / model.SECONDS_A_DAY
    lines = [
        f"capacity: {workload.images_per_day:,} images a day: {average:.1f}/s on average, {peak:.1f}/s in the "
        f"peak hour (x{workload.peak_factor:g}); features {workload.features}; "
        f"DetectLabels quota {workload.limits.rekognition_tps:g}/s",
        "",
        f"{'limit':<22}{'images/s':>10}{'peak use':>10}  note",
    ]
    for limit in sorted(model.limits(workload), key=lambda limit: limit.capacity):
        shown = "no limit" if math.isinf(limit.capacity) else f"{limit.capacity:,.1f}"
        use = "-" if math.isinf(limit.capacity) else f"{peak / limit.capacity:.0%}"
        lines.append(f"{limit.name:<22}{shown:>10}{use:>10}  {limit.note}")
    first = model.binding(workload)
    lines.append(f"binds first: {first.name} ({first.capacity:,.1f} images/s)")
    used = model.concurrency_used(peak, workload)
    lines.append("concurrency at the peak hour: " + ", ".join(f"{name} {count}" for name, count in used.items()))

    b = model.burst(workload)
    if workload.burst:
        drain_used = model.concurrency_used(b.drain_rate, workload)
        lines += [
            "",
            f"burst of {b.images:,}: accepted in {b.accept_seconds:,.0f} s at the API's "
            f"{workload.limits.api_rate:g}/s; drains at {b.drain_rate:.1f}/s in {b.drain_seconds:,.0f} s "
            f"({b.drain_seconds / 60:.1f} min); "
            f"peak backlog {b.peak_backlog:,}; nothing dead-lettered (throttles are re-queued)",
            "concurrency while draining: "
            + ", ".join(f"{name} {count}" for name, count in drain_used.items())
            + f" (recognize runs {workload.limits.recognition_concurrency}: its pollers scale to MaximumConcurrency "
            "while a backlog waits, and the batches beyond the quota back off)",
        ]

    identical = (
        f", {workload.duplicate_share:.0%} of them identical to an earlier one" if workload.duplicate_share else ""
    )
    fanned = f", each event to {workload.endpoints:g} endpoint(s)" if workload.endpoints else ""
    lines += ["", f"cost per 1,000 images{identical}{fanned} (us-east-1 list prices, docs/scaling.md):"]
    services = list(model.cost_per_thousand(workload))
    lines.append(f"{'features':<42}" + "".join(f"{name:>12}" for name in services) + f"{'total':>10}")
    for features in model.FEATURE_SETS:
        costs = model.cost_per_thousand(dataclasses.replace(workload, features=features))
        row = "".join(f"{costs[name]:>12.4f}" for name in services)
        lines.append(f"{features:<42}{row}{sum(costs.values()):>10.3f}")

    tenfold = dataclasses.replace(workload, images_per_day=workload.images_per_day * 10)
    needs = model.required(tenfold)
    lines += [
        "",
        f"for {tenfold.images_per_day:,} a day ({model.peak_rate(tenfold):.0f}/s at the peak hour): "
        + ", ".join(f"{name} {value:,}" for name, value in needs.items()),
    ]
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local capacity", description=__doc__)
    parser.add_argument("--images-per-day", type=int, required=True)
    parser.add_argument("--burst", type=int, default=100_000, help="images uploaded at once (%(default)s)")
    parser.add_argument("--tps", type=float, default=50.0, help="Rekognition quota per operation (%(default)s)")
    parser.add_argument("--concurrency", type=int, default=5, help="recognize MaximumConcurrency (%(default)s)")
    parser.add_argument(
        "--delivery-concurrency", type=int, default=20, help="deliver's MaximumConcurrency per queue (%(default)s)"
    )
    parser.add_argument("--call-seconds", type=float, default=0.5, help="one Rekognition call's latency (%(default)s)")
    parser.add_argument("--api-rate", type=float, default=100.0, help="the stage throttle (%(default)s)")
    parser.add_argument("--features", choices=list(model.FEATURE_SETS), default="labels,properties")
    parser.add_argument(
        "--duplicates", type=float, default=0.0, help="share of images identical to an earlier one (%(default)s)"
    )
    parser.add_argument(
        "--endpoints",
        type=float,
        default=0.0,
        help="subscribed endpoints each event goes to, on average over the owners (%(default)s)",
    )
    args = parser.parse_args(argv)
    if args.endpoints < 0:
        parser.error("--endpoints must be 0 or more")
    workload = model.Workload(
        images_per_day=args.images_per_day,
        burst=args.burst,
        features=args.features,
        duplicate_share=args.duplicates,
        endpoints=args.endpoints,
        limits=model.Limits(
            rekognition_tps=args.tps,
            recognition_concurrency=args.concurrency,
            delivery_concurrency=args.delivery_concurrency,
            api_rate=args.api_rate,
        ),
        timings=model.Timings(detect_call=args.call_seconds),
    )
    print("\n".join(report(workload)))
    return 0
