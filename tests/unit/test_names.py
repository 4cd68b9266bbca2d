import pytest

from lib.domain.errors import InvalidRequest
from lib.domain.names import clean_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cat.jpg", "cat.jpg"),
        ("../../etc/passwd", "passwd"),
        ("/absolute/path/photo.png", "photo.png"),
        ("C:\\Users\\me\\Pictures\\beach.jpg", "beach.jpg"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("mixed/dirs\\and/file.jpg", "file.jpg"),
        ("  holiday photo.jpg  ", "holiday photo.jpg"),
        ("dir/  spaced.jpg  ", "spaced.jpg"),
        ("Ünïcödé 写真 📷.jpg", "Ünïcödé 写真 📷.jpg"),
        ("👨\u200d👩\u200d👧 family.jpg", "👨\u200d👩\u200d👧 family.jpg"),  # zero-width joiners are kept
        (".hidden.jpg", ".hidden.jpg"),
        ("name.with.dots...", "name.with.dots..."),
    ],
)
def test_given_a_name_when_cleaned_then_only_the_trimmed_last_path_part_remains(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", ".", "..", "...", "../..", "a/", "a\\", "dir/ . ", "/"])
def test_given_no_usable_name_when_cleaned_then_it_falls_back_to_image(raw: str | None) -> None:
    assert clean_name(raw) == "image"


def test_given_decomposed_unicode_when_cleaned_then_it_is_normalised_to_nfc() -> None:
    decomposed = "Cafe\u0301.jpg"  # "e" followed by a combining acute accent

    cleaned = clean_name(decomposed)

    assert cleaned == "Caf\u00e9.jpg"
    assert len(cleaned) == len("Café.jpg")


@pytest.mark.parametrize(
    "raw",
    [
        "evil\x00.jpg",
        "line\nbreak.jpg",
        "cat.jpg\n",
        "tab\there.jpg",
        "carriage\rreturn.jpg",
        "escape\x1b[31mred.jpg",
        "delete\x7f.jpg",
        "c1\x85control.jpg",
        "line\u2028separator.jpg",
        "photo\u202egpj.exe",  # right-to-left override: would display as "photoexe.jpg"
        "isolate\u2066x\u2069.jpg",
        "surrogate\ud800.jpg",
        "dir\x00/clean.jpg",  # refused even though the control character is in the dropped directory part
    ],
)
def test_given_control_characters_when_cleaned_then_invalid_request(raw: str) -> None:
    with pytest.raises(InvalidRequest, match="control characters"):
        clean_name(raw)


def test_given_a_name_at_the_limit_when_cleaned_then_it_is_kept() -> None:
    name = "a" * 196 + ".jpg"

    assert clean_name(name) == name


def test_given_a_name_over_the_limit_when_cleaned_then_invalid_request_names_the_limit() -> None:
    with pytest.raises(InvalidRequest, match="at most 200 characters"):
        clean_name("a" * 197 + ".jpg")


def test_given_a_custom_limit_when_a_name_exceeds_it_then_invalid_request() -> None:
    assert clean_name("abcde", max_length=5) == "abcde"
    with pytest.raises(InvalidRequest, match="at most 5 characters"):
        clean_name("abcdef", max_length=5)


def test_given_a_long_directory_part_when_cleaned_then_the_limit_applies_to_the_name_as_given() -> None:
    with pytest.raises(InvalidRequest, match="at most 200 characters"):
        clean_name("d/" * 150 + "short.jpg")


def test_given_surrounding_whitespace_when_measuring_the_length_then_it_is_not_counted() -> None:
    name = "b" * 200

    assert clean_name(f"   {name}   ") == name


def test_given_a_non_string_name_when_cleaned_then_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="string"):
        clean_name(42)  # type: ignore[arg-type]
