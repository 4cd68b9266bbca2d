import pytest

from lib.config import ConfigurationError, DeliverConfig, RecognizeConfig, UploadConfig


def test_missing_required_setting_is_named():
    with pytest.raises(ConfigurationError, match="IMAGES_BUCKET"):
        UploadConfig.from_env({"IMAGES_TABLE": "t"})


def test_upload_config_parses_the_allowlist_and_limits():
    config = UploadConfig.from_env(
        {
            "IMAGES_TABLE": "t",
            "IMAGES_BUCKET": "b",
            "FETCH_ALLOWLIST": " 127.0.0.1:80, ,10.0.0.0/8",
            "MAX_IMAGE_BYTES": "100",
        }
    )
    assert config.fetch_allowlist == ("127.0.0.1:80", "10.0.0.0/8")
    assert config.max_image_bytes == 100


@pytest.mark.parametrize("value", ["lots", "-1", "0"])
def test_bad_integers_are_refused(value):
    with pytest.raises(ConfigurationError, match="MAX_IMAGE_BYTES"):
        UploadConfig.from_env({"IMAGES_TABLE": "t", "IMAGES_BUCKET": "b", "MAX_IMAGE_BYTES": value})


def test_recognition_features_always_include_labels_and_reject_unknowns():
    base = {"IMAGES_TABLE": "t", "RESULTS_TOPIC_ARN": "arn", "UPLOADS_QUEUE_URL": "q"}
    assert RecognizeConfig.from_env({**base, "RECOGNITION_FEATURES": "faces"}).features == {"labels", "faces"}
    with pytest.raises(ConfigurationError, match="celebrities"):
        RecognizeConfig.from_env({**base, "RECOGNITION_FEATURES": "labels,celebrities"})


def test_deliver_needs_a_secret_parameter_only_when_a_webhook_url_is_set():
    base = {"IMAGES_TABLE": "t", "INTEGRATION_QUEUE_URL": "q", "INTEGRATION_DLQ_URL": "d"}
    assert DeliverConfig.from_env(base).webhook_url == ""
    with pytest.raises(ConfigurationError, match="WEBHOOK_SECRET_PARAMETER"):
        DeliverConfig.from_env({**base, "WEBHOOK_URL": "https://example.com/hook"})


def test_dedupe_is_on_unless_turned_off_and_the_model_version_cannot_break_the_key():
    base = {"IMAGES_TABLE": "t", "RESULTS_TOPIC_ARN": "arn", "UPLOADS_QUEUE_URL": "q"}
    default = RecognizeConfig.from_env(base)
    assert (default.dedupe, default.model_version, default.dedupe_wait_seconds) == (True, "1", 120)
    assert RecognizeConfig.from_env({**base, "DEDUPE": "off"}).dedupe is False
    assert RecognizeConfig.from_env({**base, "RECOGNITION_MODEL_VERSION": "labels-3.0"}).model_version == "labels-3.0"
    for setting in ({"DEDUPE": "yes"}, {"RECOGNITION_MODEL_VERSION": "1#2"}):
        with pytest.raises(ConfigurationError):
            RecognizeConfig.from_env({**base, **setting})
