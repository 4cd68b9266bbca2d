from __future__ import annotations

import pytest

from local.rekognition import params
from local.rekognition.errors import RekognitionError


def invalid(call, *args, **kwargs) -> str:
    with pytest.raises(RekognitionError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == "InvalidParameterException" and caught.value.status == 400
    return caught.value.message


def test_percentages():
    assert params.percent({}, "MinConfidence", 55.0) == 55.0
    assert params.percent({"MinConfidence": 0}, "MinConfidence", 55.0) == 0.0
    assert params.percent({"MinConfidence": 100}, "MinConfidence", 55.0) == 100.0
    for bad in (101, -1, "50", True, [50]):
        assert "MinConfidence" in invalid(params.percent, {"MinConfidence": bad}, "MinConfidence", 55.0)


def test_unsigned_integers():
    assert params.unsigned_integer({"MaxLabels": 0}, "MaxLabels", None) == 0
    assert params.unsigned_integer({}, "MaxLabels", None) is None
    for bad in (-1, 2.5, "3", False):
        invalid(params.unsigned_integer, {"MaxLabels": bad}, "MaxLabels", None)
    invalid(params.unsigned_integer, {"N": 21}, "N", 10, maximum=20)


def test_enum_lists():
    assert params.enum_list({"F": ["A"]}, "F", {"A", "B"}) == ["A"]
    assert params.enum_list({}, "F", {"A"}) == []
    assert "unknown value 'C'" in invalid(params.enum_list, {"F": ["C"]}, "F", {"A", "B"})
    invalid(params.enum_list, {"F": ["A", "B", "A"]}, "F", {"A", "B"}, max_items=2)
    invalid(params.enum_list, {"F": "A"}, "F", {"A"})


def test_structures_strings_ratios_and_objects():
    assert params.structure({}, "Settings") == {}
    invalid(params.structure, {"Settings": []}, "Settings")
    invalid(params.string_list, {"L": ["x" * 51]}, "L", max_items=100, max_length=50)
    invalid(params.string_list, {"L": [1]}, "L", max_items=100, max_length=50)
    assert params.ratio({"R": 0.5}, "R", 0.0) == 0.5
    invalid(params.ratio, {"R": 1.5}, "R", 0.0)
    invalid(params.object_list, {"O": [1]}, "O", max_items=10)
    assert "Filters.WordFilter.MinConfidence" in invalid(
        params.percent, {"MinConfidence": 200}, "MinConfidence", 0.0, path="Filters.WordFilter."
    )
