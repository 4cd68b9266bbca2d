"""Only the models of the enabled features load up front; any other loads on its first request."""

from __future__ import annotations

import pytest

from local.rekognition.models import FEATURE_MODELS, ModelSet, for_features


class Recorder:
    def __init__(self, names):
        self.loaded: list[str] = []
        self.loaders = {name: self._loader(name) for name in names}

    def _loader(self, name):
        def load():
            self.loaded.append(name)
            return f"model {name}"

        return load


def test_labels_and_properties_need_the_classifier_and_the_detectors_but_not_text_or_moderation():
    assert for_features(["labels", "properties"]) == {"taxonomy", "classifier", "faces", "people"}
    assert for_features(["labels", "text"]) == {"taxonomy", "classifier", "faces", "people", "text"}


def test_an_unknown_feature_is_refused_naming_it():
    with pytest.raises(ValueError, match="'colour'"):
        for_features(["labels", "colour"])


def test_every_feature_maps_to_known_models():
    every = {name for names in FEATURE_MODELS.values() for name in names}
    assert every <= {"taxonomy", "classifier", "faces", "people", "text", "moderation"}


def test_only_the_preloaded_models_load_at_warm_up_and_another_loads_on_first_use():
    recorder = Recorder(["taxonomy", "classifier", "text", "moderation"])
    models = ModelSet(recorder.loaders, preload={"taxonomy", "classifier"})
    models.start_warm_up()
    assert models.wait_ready(10)
    assert sorted(recorder.loaded) == ["classifier", "taxonomy"]

    assert models.get("text") == "model text"
    assert models.get("text") == "model text"
    assert recorder.loaded.count("text") == 1
    assert "moderation" not in recorder.loaded


def test_without_a_preload_list_every_model_loads_up_front():
    recorder = Recorder(["taxonomy", "text"])
    models = ModelSet(recorder.loaders)
    models.start_warm_up()
    assert models.wait_ready(10)
    assert sorted(recorder.loaded) == ["taxonomy", "text"]
