"""Real analysis: what the models find in the fixture photos, asked through boto3."""

from __future__ import annotations

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from tests.integration.rekognition.support import FIXTURES, fixture_bytes, jpeg_bytes

# The astronaut's eyes, nose and mouth in tests/fixtures/astronaut.jpg (512 x 512), measured by
# hand, as (left, top, right, bottom) ratios. The detected face box must cover this.
ASTRONAUT_FACE_CORE = (195 / 512, 90 / 512, 255 / 512, 150 / 512)


def _top_names(response, count=3):
    return [label["Name"] for label in response["Labels"][:count]]


def _corners(box):
    return box["Left"], box["Top"], box["Left"] + box["Width"], box["Top"] + box["Height"]


def _covers(outer, inner):
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def test_the_tabby_cat_is_a_cat_and_an_animal(rekognition):
    response = rekognition.detect_labels(Image={"Bytes": fixture_bytes("chelsea.jpg")})
    assert "Cat" in _top_names(response)
    cat = next(label for label in response["Labels"] if label["Name"] == "Cat")
    assert {"Animal", "Mammal", "Pet"} <= {parent["Name"] for parent in cat["Parents"]}
    assert [category["Name"] for category in cat["Categories"]] == ["Animals and Pets"]
    assert cat["Confidence"] > 90
    assert response["LabelModelVersion"] == "3.0"


def test_parents_are_labels_too_and_never_less_confident_than_their_child(rekognition):
    labels = rekognition.detect_labels(Image={"Bytes": fixture_bytes("chelsea.jpg")})["Labels"]
    confidence = {label["Name"]: label["Confidence"] for label in labels}
    for label in labels:
        for parent in label["Parents"]:
            assert confidence[parent["Name"]] >= label["Confidence"]
    assert len(confidence) == len(labels)  # each name once


def test_the_espresso_is_a_cup_of_coffee(rekognition):
    response = rekognition.detect_labels(Image={"Bytes": fixture_bytes("coffee.jpg")})
    assert {"Cup", "Coffee", "Espresso"} & set(_top_names(response))


def test_the_launch_pad_shows_a_rocket(rekognition):
    response = rekognition.detect_labels(Image={"Bytes": fixture_bytes("rocket.jpg")})
    assert {"Rocket", "Spaceship"} & set(_top_names(response))


def test_the_astronaut_is_one_face_and_one_person(rekognition):
    image = {"Bytes": fixture_bytes("astronaut.jpg")}
    faces = rekognition.detect_faces(Image=image)["FaceDetails"]
    labels = rekognition.detect_labels(Image=image)["Labels"]

    # In this re-encoded fixture MTCNN finds the astronaut only (the full-size original also shows
    # a cameraman's face in the visor): the largest face must be hers.
    assert len(faces) == 1
    face = faces[0]
    face_box = _corners(face["BoundingBox"])
    assert _covers(face_box, ASTRONAUT_FACE_CORE)
    assert face["BoundingBox"]["Width"] < 0.3 and face["BoundingBox"]["Height"] < 0.35
    assert face["Confidence"] > 99
    assert [landmark["Type"] for landmark in face["Landmarks"]] == [
        "eyeLeft",
        "eyeRight",
        "nose",
        "mouthLeft",
        "mouthRight",
    ]
    for landmark in face["Landmarks"]:
        assert face_box[0] <= landmark["X"] <= face_box[2] and face_box[1] <= landmark["Y"] <= face_box[3]
    assert abs(face["Pose"]["Roll"]) < 15 and abs(face["Pose"]["Yaw"]) < 25  # she faces the camera

    person = next(label for label in labels if label["Name"] == "Person")
    assert [alias["Name"] for alias in person["Aliases"]] == ["Human"]
    assert len(person["Instances"]) == len(faces)
    assert _covers(_corners(person["Instances"][0]["BoundingBox"]), face_box)


def test_the_astronaut_filling_the_frame_is_a_dressed_portrait(rekognition):
    labels = rekognition.detect_labels(Image={"Bytes": fixture_bytes("astronaut.jpg")})["Labels"]
    names = {label["Name"] for label in labels}
    # Her body (found by the person detector) fills most of the photo and her face is large.
    assert {"Person", "Face", "Portrait", "Clothing"} <= names
    person = next(label for label in labels if label["Name"] == "Person")
    body = person["Instances"][0]["BoundingBox"]
    assert body["Height"] > 0.7 and body["Width"] > 0.5


def test_no_person_is_seen_in_the_cat_the_coffee_or_the_rocket(rekognition):
    for name in ("chelsea.jpg", "coffee.jpg", "rocket.jpg"):
        labels = rekognition.detect_labels(Image={"Bytes": fixture_bytes(name)}, MinConfidence=50)["Labels"]
        assert not {"Person", "Clothing", "Portrait"} & {label["Name"] for label in labels}, name


def test_the_sign_reads_word_by_word_and_line_by_line(rekognition_service, rekognition):
    rekognition_service.wait_ready(300)
    if rekognition_service.models.engine("text") != "tesseract":
        pytest.skip("exact word-level reading needs the tesseract binary (apt-get install tesseract-ocr)")
    response = rekognition.detect_text(Image={"Bytes": fixture_bytes("sign.png")})
    detections = response["TextDetections"]
    lines = [d for d in detections if d["Type"] == "LINE"]
    words = [d for d in detections if d["Type"] == "WORD"]

    assert [line["DetectedText"] for line in lines] == ["STOP AT MAIN STREET", "Exit 42 open"]
    assert {"STOP", "MAIN", "STREET", "42"} <= {word["DetectedText"] for word in words}
    line_by_id = {line["Id"]: line for line in lines}
    for word in words:
        assert word["DetectedText"] in line_by_id[word["ParentId"]]["DetectedText"].split()
    assert len({d["Id"] for d in detections}) == len(detections)
    assert response["TextModelVersion"]


def test_a_flat_grey_image_has_nothing_to_find(rekognition):
    grey = {"Bytes": jpeg_bytes(Image.new("RGB", (640, 480), (128, 128, 128)))}
    labels = rekognition.detect_labels(Image=grey, MinConfidence=0)["Labels"]
    assert all(label["Confidence"] <= 80 for label in labels)
    assert rekognition.detect_faces(Image=grey)["FaceDetails"] == []
    assert rekognition.detect_text(Image=grey)["TextDetections"] == []
    moderation = rekognition.detect_moderation_labels(Image=grey)["ModerationLabels"]
    assert moderation == []


def _quality(rekognition, image):
    response = rekognition.detect_labels(Image={"Bytes": jpeg_bytes(image)}, Features=["IMAGE_PROPERTIES"])
    assert response["Labels"] == []  # GENERAL_LABELS was not asked for
    return response["ImageProperties"]["Quality"]


def test_image_quality_orders_plausibly(rekognition):
    original = Image.open(FIXTURES / "coffee.jpg").convert("RGB")
    base = _quality(rekognition, original)
    darker = _quality(rekognition, ImageEnhance.Brightness(original).enhance(0.4))
    blurred = _quality(rekognition, original.filter(ImageFilter.GaussianBlur(4)))
    flatter = _quality(rekognition, ImageEnhance.Contrast(original).enhance(0.3))

    assert darker["Brightness"] < base["Brightness"]
    assert blurred["Sharpness"] < base["Sharpness"]
    assert flatter["Contrast"] < base["Contrast"]
    for value in base.values():
        assert 0 <= value <= 100


def test_dominant_colours_and_foreground_of_the_espresso(rekognition):
    properties = rekognition.detect_labels(
        Image={"Bytes": fixture_bytes("coffee.jpg")},
        Features=["IMAGE_PROPERTIES"],
        Settings={"ImageProperties": {"MaxDominantColors": 4}},
    )["ImageProperties"]
    colors = properties["DominantColors"]
    assert 1 <= len(colors) <= 4
    assert sum(color["PixelPercent"] for color in colors) == pytest.approx(100, abs=0.5)
    assert [c["PixelPercent"] for c in colors] == sorted((c["PixelPercent"] for c in colors), reverse=True)
    for color in colors:
        assert color["HexCode"] == "#{:02X}{:02X}{:02X}".format(color["Red"], color["Green"], color["Blue"])
    assert "Foreground" in properties and "Background" in properties


def test_max_labels_min_confidence_and_filters_are_honoured(rekognition):
    image = {"Bytes": fixture_bytes("chelsea.jpg")}
    assert len(rekognition.detect_labels(Image=image, MaxLabels=2, MinConfidence=0)["Labels"]) == 2
    assert all(
        label["Confidence"] >= 90 for label in rekognition.detect_labels(Image=image, MinConfidence=90)["Labels"]
    )
    only_cats = rekognition.detect_labels(Image=image, Settings={"GeneralLabels": {"LabelInclusionFilters": ["Cat"]}})[
        "Labels"
    ]
    assert [label["Name"] for label in only_cats] == ["Cat"]
    astronaut = {"Bytes": fixture_bytes("astronaut.jpg")}
    everything = rekognition.detect_labels(Image=astronaut, MinConfidence=0)["Labels"]
    no_people = rekognition.detect_labels(
        Image=astronaut,
        MinConfidence=0,
        Settings={"GeneralLabels": {"LabelCategoryExclusionFilters": ["Person Description"]}},
    )["Labels"]
    assert "Person" in {label["Name"] for label in everything}
    assert no_people and len(no_people) < len(everything)
    assert all("Person Description" not in [c["Name"] for c in label["Categories"]] for label in no_people)


def test_an_image_in_s3_is_read_from_the_emulator(rekognition, s3_emulator):
    s3_emulator.create_bucket(Bucket="photos")
    s3_emulator.put_object(Bucket="photos", Key="cats/chelsea.jpg", Body=fixture_bytes("chelsea.jpg"))
    response = rekognition.detect_labels(Image={"S3Object": {"Bucket": "photos", "Name": "cats/chelsea.jpg"}})
    assert "Cat" in _top_names(response)


def test_a_specific_version_of_an_s3_object_is_read(rekognition, s3_emulator):
    s3_emulator.create_bucket(Bucket="versioned")
    s3_emulator.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    first = s3_emulator.put_object(Bucket="versioned", Key="photo.jpg", Body=fixture_bytes("chelsea.jpg"))
    s3_emulator.put_object(Bucket="versioned", Key="photo.jpg", Body=fixture_bytes("coffee.jpg"))
    image = {"S3Object": {"Bucket": "versioned", "Name": "photo.jpg"}}

    latest = rekognition.detect_labels(Image=image)
    original = rekognition.detect_labels(Image={"S3Object": {**image["S3Object"], "Version": first["VersionId"]}})
    assert "Cat" not in _top_names(latest)
    assert "Cat" in _top_names(original)
