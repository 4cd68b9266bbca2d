"""The models the service answers from, loaded and warmed once per process in the background.

Loading takes a few seconds (longer on the very first start, when the classifier is converted to
ONNX), so the server accepts connections at once and a request that needs a model waits here
until warm-up is done. Several service instances in one process share the same models.

Only the models of the features the caller will use are loaded up front (`for_features`); any
other is loaded on its first request, which then waits for it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from .errors import internal_error

# How long a request waits for warm-up before it is answered with an error.
REQUEST_WAIT_SECONDS = 300.0


def _load_classifier():
    from .labels import ImageNetClassifier

    return ImageNetClassifier()


def _load_taxonomy():
    from .taxonomy import default_taxonomy

    return default_taxonomy()


def _load_faces():
    from .faces import FaceDetector

    return FaceDetector()


def _load_people():
    from .people import PersonDetector

    return PersonDetector()


def _load_text():
    from .text import make_text_reader

    return make_text_reader()


def _load_moderation():
    from .moderation import ModerationModel

    return ModerationModel()


DEFAULT_LOADERS: dict[str, Callable[[], Any]] = {
    "taxonomy": _load_taxonomy,
    "classifier": _load_classifier,
    "faces": _load_faces,
    "people": _load_people,
    "text": _load_text,
    "moderation": _load_moderation,
}


# lib/config.py's RECOGNITION_FEATURES -> the models their calls need. Labels use the detectors
# too: Person and Face labels, with their boxes, come from them.
FEATURE_MODELS: dict[str, tuple[str, ...]] = {
    "labels": ("taxonomy", "classifier", "faces", "people"),
    "properties": (),
    "faces": ("faces",),
    "text": ("text",),
    "moderation": ("moderation",),
}


def for_features(features: Iterable[str]) -> set[str]:
    """The models to load up front for these features; unknown names are refused, naming them."""
    features = set(features)
    unknown = features - set(FEATURE_MODELS)
    if unknown:
        raise ValueError(f"unknown features {sorted(unknown)}; known: {sorted(FEATURE_MODELS)}")
    return {model for feature in features for model in FEATURE_MODELS[feature]}


class ModelSet:
    def __init__(
        self, loaders: dict[str, Callable[[], Any]] | None = None, preload: Iterable[str] | None = None
    ) -> None:
        self._loaders = dict(loaders or DEFAULT_LOADERS)
        # None: every model up front, as before; otherwise these, and the rest on first use.
        self._preload = set(self._loaders) if preload is None else set(preload) & set(self._loaders)
        self._models: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.prepare_seconds: float | None = None

    def start_warm_up(self, on_ready: Callable[[ModelSet], None] | None = None) -> None:
        """Begin loading in a daemon thread; idempotent."""
        with self._lock:
            if self._thread is not None:
                if on_ready is not None:
                    threading.Thread(target=self._notify_when_done, args=(on_ready,), daemon=True).start()
                return
            self._thread = threading.Thread(
                target=self._warm_up, args=(on_ready,), name="rekognition-warm-up", daemon=True
            )
            self._thread.start()

    def _notify_when_done(self, on_ready: Callable[[ModelSet], None]) -> None:
        self._done.wait()
        on_ready(self)

    def _warm_up(self, on_ready: Callable[[ModelSet], None] | None) -> None:
        started = time.perf_counter()
        for name in self._loaders:
            if name in self._preload:
                self._load(name)
        self.prepare_seconds = time.perf_counter() - started
        self._done.set()
        if on_ready is not None:
            on_ready(self)

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    @property
    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _load(self, name: str) -> None:
        try:
            model = self._loaders[name]()
            warm_up = getattr(model, "warm_up", None)
            if warm_up is not None:
                warm_up()
            self._models[name] = model
        except Exception as error:  # any loader failure: report it per model, keep the rest
            self._errors[name] = f"{type(error).__name__}: {error}"
            print(f"rekognition: could not load {name}: {self._errors[name]}", file=sys.stderr, flush=True)

    @property
    def loaded(self) -> set[str]:
        return set(self._models)

    def get(self, name: str) -> Any:
        """The named model, waiting for warm-up; InternalServerError if it could not load."""
        if not self._done.wait(REQUEST_WAIT_SECONDS):
            raise internal_error("The models are still loading; try again shortly")
        if name not in self._models and name not in self._errors and name in self._loaders:
            with self._load_lock:  # one request loads a model not preloaded; the others wait for it
                if name not in self._models and name not in self._errors:
                    self._load(name)
        if name in self._models:
            return self._models[name]
        raise internal_error(f"The {name} model is unavailable: {self._errors.get(name, 'not configured')}")

    def engine(self, name: str) -> str:
        return getattr(self._models.get(name), "engine", "")


_shared: ModelSet | None = None
_shared_lock = threading.Lock()


def shared_models(preload: Iterable[str] | None = None) -> ModelSet:
    """The process's models; `preload` applies to the first call, which creates them."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ModelSet(preload=preload)
        return _shared
