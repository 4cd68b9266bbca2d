"""Rekognition's error codes, raised anywhere in the service and sent back the way AWS sends them."""

from __future__ import annotations


class RekognitionError(Exception):
    """An error answered as HTTP `status` with body {"__type": code, "message": message}."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def invalid_parameter(message: str) -> RekognitionError:
    return RekognitionError("InvalidParameterException", message)


def invalid_image_format(message: str = "Request has invalid image format") -> RekognitionError:
    return RekognitionError("InvalidImageFormatException", message)


def image_too_large(message: str) -> RekognitionError:
    return RekognitionError("ImageTooLargeException", message)


def invalid_s3_object(message: str) -> RekognitionError:
    return RekognitionError("InvalidS3ObjectException", message)


def internal_error(message: str) -> RekognitionError:
    return RekognitionError("InternalServerError", message, status=500)
