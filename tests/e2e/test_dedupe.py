"""Identical images recognized once per owner, on a fresh local stack: `make burst DUPLICATES=0.5`
at small scale. Half of the images are a second copy of another's bytes, sent right behind it."""

from local.commands.burst import BurstSettings, run

IMAGES = 24


def test_a_burst_with_half_identical_images_calls_rekognition_once_per_distinct_image():
    # GIVEN a fresh stack with dedupe on (serverless.yml's default) and a Rekognition quota
    settings = BurstSettings(images=IMAGES, duplicates=0.5, tps=10, stage="e2e-dedupe")

    # WHEN 12 distinct images are uploaded, each twice, the copies close behind
    report = run(settings)
    print(report.line())

    # THEN Rekognition answered once per distinct image (one more if a wait ran out)
    assert report.calls <= IMAGES // 2 + 1
    # AND every image ended DONE with its own webhook, nothing lost, duplicated or dead-lettered
    f = report.figures
    assert f.done == IMAGES and f.delivered == IMAGES and not report.refused_uploads
    assert (report.dead_lettered, f.lost, f.duplicates) == (0, 0, 0)
