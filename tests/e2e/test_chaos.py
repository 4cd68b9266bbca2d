"""The fault suite at small scale: every fault of `make chaos` (which pushes 500), on 30 images, with an
owner's four endpoints each failing its own way."""

import os

from local.chaos.run import run
from local.chaos.scenario import ChaosSettings


def test_thirty_images_under_every_fault_are_neither_lost_nor_duplicated():
    # GIVEN a stack of its own whose receiver, Rekognition, queues and recognition worker all misbehave
    settings = ChaosSettings(images=30, rekognition=os.environ.get("REKOGNITION", "local"), stage="e2e-chaos")

    # WHEN 30 images go through it and the queues drain
    report = run(settings)
    print("\n".join(report.lines()))

    # THEN the faults happened, and every image ended once, final, announced, with nothing left over
    figures = report.figures
    assert sum(report.webhook_faults.values()) > 0 and report.worker_kills == 3
    assert report.duplicate_notifications > 0 and report.absorbed["recognize"] > 0
    assert figures.accepted == 30 and not report.refused_uploads
    assert (figures.lost, figures.duplicates, figures.orphaned_objects) == (0, 0, 0)
    assert (figures.stray_label_items, figures.unstable_webhook_ids) == (0, 0)
    assert figures.done + figures.failed == 30 and figures.delivered + figures.in_dlq == 30
    # AND each of the owner's endpoints, healthy, flaky and slow, got every event once, or has it
    # dead-lettered, counted endpoint by endpoint
    endpoints = figures.endpoints
    assert endpoints is not None and endpoints.endpoints == 4
    for name in ("chaos-healthy", "chaos-flaky", "chaos-slow"):
        account = endpoints.named(name)
        assert (account.lost, account.duplicates, account.skipped) == (0, 0, 0), account
        assert account.delivered + account.in_dlq == 30 and not account.disabled_reason
    # AND the gone endpoint was disabled by its 410: the event it refused is dead-lettered, later ones
    # skipped, none lost
    gone = endpoints.named("chaos-gone")
    assert (gone.lost, gone.duplicates) == (0, 0) and gone.total == 30
    assert gone.delivered == 4 and gone.in_dlq >= 1 and gone.skipped > 0 and "410" in gone.disabled_reason
    if settings.rekognition == "local":  # moto's Rekognition labels anything, even the corrupt PNG
        assert figures.failed == 1
    assert report.passed
