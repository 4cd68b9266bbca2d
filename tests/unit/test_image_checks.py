import struct
import time
import zlib
from pathlib import Path

import pytest

from lib.domain.errors import InvalidImage, PayloadTooLarge, UnsupportedMediaType
from lib.domain.image_checks import ImageInfo, ImageLimits, inspect_image

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


# --- builders -------------------------------------------------------------------------------------
def png_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", zlib.crc32(chunk_type + payload))


def png(width: int = 2, height: int = 1, *, depth: int = 8, colour: int = 2, ending: bytes | None = None) -> bytes:
    """A structurally valid PNG header + one IDAT + IEND (pixel data is not decoded by the code under test)."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
    iend = png_chunk(b"IEND", b"") if ending is None else ending
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + iend


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg(
    width: int = 3,
    height: int = 2,
    *,
    frame_marker: int = 0xC0,
    before_frame: bytes = b"",
    ending: bytes = b"\xff\xd9",
) -> bytes:
    """SOI, JFIF APP0, optional extra segments, a one-component frame header, a scan, then `ending`."""
    app0 = jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    frame = jpeg_segment(frame_marker, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    scan = jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\x34\xff\x00\x56"
    return b"\xff\xd8" + app0 + before_frame + frame + scan + ending


# --- accepted images ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("astronaut.jpg", ImageInfo("jpeg", "image/jpeg", 512, 512)),
        ("chelsea.jpg", ImageInfo("jpeg", "image/jpeg", 451, 300)),
        ("coffee.jpg", ImageInfo("jpeg", "image/jpeg", 600, 400)),
        ("rocket.jpg", ImageInfo("jpeg", "image/jpeg", 640, 427)),
        ("sign.png", ImageInfo("png", "image/png", 640, 240)),
        ("text.png", ImageInfo("png", "image/png", 448, 172)),
    ],
)
def test_given_a_real_photo_when_inspected_then_format_and_dimensions_are_read(
    fixture: str, expected: ImageInfo
) -> None:
    assert inspect_image((FIXTURES / fixture).read_bytes()) == expected


@pytest.mark.parametrize("frame_marker", [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF])
def test_given_any_start_of_frame_kind_when_inspected_then_its_dimensions_are_read(frame_marker: int) -> None:
    info = inspect_image(jpeg(width=321, height=123, frame_marker=frame_marker))

    assert (info.format, info.width, info.height) == ("jpeg", 321, 123)


def test_given_tables_and_comments_before_the_frame_when_inspected_then_they_are_skipped() -> None:
    tables = (
        jpeg_segment(0xDB, b"\x00" + bytes(64))  # DQT
        + jpeg_segment(0xC4, b"\x00" + bytes(16) + b"\x00")  # DHT shares the Cx range but is not a frame
        + jpeg_segment(0xCC, b"\x00\x00")  # DAC, ditto
        + jpeg_segment(0xFE, b"made by a test \xff\xc0 with a fake frame marker inside")  # COM
        + jpeg_segment(0xDD, b"\x00\x10")  # DRI
    )

    assert inspect_image(jpeg(width=10, height=20, before_frame=tables)).width == 10


def test_given_fill_bytes_and_standalone_markers_before_a_segment_when_inspected_then_they_are_skipped() -> None:
    noise = b"\xff\x01" + b"\xff\xd0" + b"\xff\xff\xff\xff" + jpeg_segment(0xE1, b"Exif\x00\x00")

    assert inspect_image(jpeg(width=7, height=9, before_frame=noise)).height == 9


def test_given_an_exif_block_of_many_maximum_size_app_segments_when_inspected_then_refused_quickly() -> None:
    # APPn segments hold at most 65533 payload bytes, so a "10 MB EXIF" is about 160 of them.
    big_app1 = jpeg_segment(0xE1, b"Exif\x00\x00" + bytes(65527))
    data = jpeg(width=4000, height=3000, before_frame=big_app1 * 160)
    assert len(data) > 10 * 1024 * 1024

    started = time.thread_time()  # CPU time: a loaded machine's waiting doesn't count
    with pytest.raises(InvalidImage, match="more metadata .* than the limit of 4194304 bytes"):
        inspect_image(data)
    assert time.thread_time() - started < 1.0


def test_given_a_large_icc_profile_under_the_metadata_limit_when_inspected_then_accepted() -> None:
    icc_segment = jpeg_segment(0xE2, b"ICC_PROFILE\x00" + bytes(65521))  # a maximum-size APP2 segment
    assert inspect_image(jpeg(before_frame=icc_segment * 60)).format == "jpeg"  # about 3.8 MiB


def test_given_metadata_after_the_frame_header_when_inspected_then_it_counts_too() -> None:
    frame = jpeg_segment(0xC0, struct.pack(">BHHB", 8, 2, 3, 1) + b"\x01\x11\x00")
    comment = jpeg_segment(0xFE, bytes(1000))
    scan = jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\x34"
    data = b"\xff\xd8" + frame + comment * 2 + scan + b"\xff\xd9"

    assert inspect_image(data, ImageLimits(max_metadata_bytes=2004)).width == 3
    with pytest.raises(InvalidImage, match="limit of 2003 bytes"):
        inspect_image(data, ImageLimits(max_metadata_bytes=2003))


def test_given_a_frame_header_and_then_the_end_of_image_when_inspected_then_invalid_image() -> None:
    frame = jpeg_segment(0xC0, struct.pack(">BHHB", 8, 2, 3, 1) + b"\x01\x11\x00")

    with pytest.raises(InvalidImage, match="headers end without image data"):
        inspect_image(b"\xff\xd8" + frame + b"\xff\xd9")


def test_given_a_jpeg_padded_with_nul_bytes_after_eoi_when_inspected_then_it_is_accepted() -> None:
    assert inspect_image(jpeg(ending=b"\xff\xd9" + bytes(100))).format == "jpeg"


@pytest.mark.parametrize(
    ("width", "height"),
    [(1, 1), (16384, 1), (1, 16384), (16384, 6103)],  # 16384 x 6103 = 99,991,552 pixels: just under the limit
)
def test_given_dimensions_at_the_default_limits_when_inspected_then_accepted(width: int, height: int) -> None:
    assert inspect_image(png(width, height)).width == width
    assert inspect_image(jpeg(width, height)).height == height


# --- refused sizes --------------------------------------------------------------------------------
def test_given_empty_data_when_inspected_then_invalid_image() -> None:
    with pytest.raises(InvalidImage, match="empty"):
        inspect_image(b"")


def test_given_data_over_max_bytes_when_inspected_then_payload_too_large_states_the_limit() -> None:
    data = (FIXTURES / "chelsea.jpg").read_bytes()

    with pytest.raises(PayloadTooLarge, match="limit is 1000 bytes"):
        inspect_image(data, ImageLimits(max_bytes=1000))


def test_given_a_png_bomb_declaring_30000_by_30000_in_a_tiny_file_when_inspected_then_invalid_image() -> None:
    bomb = png(30000, 30000)
    assert len(bomb) < 1024 * 1024

    with pytest.raises(InvalidImage, match="at most 16384 pixels"):
        inspect_image(bomb)


@pytest.mark.parametrize("build", [png, jpeg], ids=["png", "jpeg"])
def test_given_more_pixels_than_the_limit_when_inspected_then_invalid_image_states_the_limit(build) -> None:
    with pytest.raises(InvalidImage, match="limit is 100000000 pixels"):
        inspect_image(build(12000, 9000))  # a 108 MP camera mode: both sides are within the side limit


@pytest.mark.parametrize("build", [png, jpeg], ids=["png", "jpeg"])
@pytest.mark.parametrize(("width", "height"), [(16385, 1), (1, 16385), (65535, 65535)])
def test_given_a_side_over_the_limit_when_inspected_then_invalid_image(build, width: int, height: int) -> None:
    with pytest.raises(InvalidImage, match="each side may be at most 16384 pixels"):
        inspect_image(build(width, height))


@pytest.mark.parametrize("build", [png, jpeg], ids=["png", "jpeg"])
@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0), (0, 0)])
def test_given_a_zero_dimension_when_inspected_then_invalid_image(build, width: int, height: int) -> None:
    with pytest.raises(InvalidImage, match="at least 1 pixel"):
        inspect_image(build(width, height))


def test_given_custom_limits_when_inspected_then_they_apply() -> None:
    limits = ImageLimits(max_dimension=100, max_pixels=500)

    assert inspect_image(png(20, 25), limits).width == 20
    with pytest.raises(InvalidImage, match="at most 100 pixels"):
        inspect_image(png(101, 1), limits)
    with pytest.raises(InvalidImage, match="limit is 500 pixels"):
        inspect_image(png(30, 30), limits)


@pytest.mark.parametrize("field", ["max_bytes", "max_dimension", "max_pixels", "max_metadata_bytes"])
def test_given_a_non_positive_limit_when_limits_are_built_then_value_error(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ImageLimits(**{field: 0})


# --- truncated or corrupt PNG ---------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["sign.png", "text.png"])
def test_given_a_png_cut_short_when_inspected_then_invalid_image_truncated(fixture: str) -> None:
    data = (FIXTURES / fixture).read_bytes()

    with pytest.raises(InvalidImage, match="truncated"):
        inspect_image(data[: len(data) // 2])


@pytest.mark.parametrize(
    "ending",
    [b"", png_chunk(b"IEND", b"")[:-1], png_chunk(b"IEND", b"") + b"trailing", png_chunk(b"tEXt", b"a\x00b")],
    ids=["no-iend", "partial-iend", "data-after-iend", "other-last-chunk"],
)
def test_given_a_png_not_ending_with_iend_when_inspected_then_invalid_image_truncated(ending: bytes) -> None:
    with pytest.raises(InvalidImage, match="IEND"):
        inspect_image(png(ending=ending))


@pytest.mark.parametrize("length", [8, 20, 32])
def test_given_a_png_shorter_than_its_header_when_inspected_then_invalid_image_truncated(length: int) -> None:
    with pytest.raises(InvalidImage, match="truncated"):
        inspect_image(png()[:length])


def test_given_a_png_whose_first_chunk_is_not_ihdr_when_inspected_then_invalid_image() -> None:
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"tEXt", b"0123456789abc") + png()[8:]

    with pytest.raises(InvalidImage, match="IHDR"):
        inspect_image(data)


def test_given_a_png_with_a_wrong_ihdr_length_when_inspected_then_invalid_image() -> None:
    data = bytearray(png())
    data[8:12] = struct.pack(">I", 14)

    with pytest.raises(InvalidImage, match="IHDR"):
        inspect_image(bytes(data))


def test_given_a_png_whose_ihdr_checksum_is_wrong_when_inspected_then_invalid_image() -> None:
    data = bytearray(png(100, 100))
    data[19] ^= 0x01  # flip a bit of the declared width without updating the CRC

    with pytest.raises(InvalidImage, match="checksum"):
        inspect_image(bytes(data))


@pytest.mark.parametrize(("depth", "colour"), [(3, 0), (4, 2), (16, 3), (8, 5), (0, 6)])
def test_given_a_png_with_impossible_ihdr_values_when_inspected_then_invalid_image(depth: int, colour: int) -> None:
    with pytest.raises(InvalidImage, match="invalid field values"):
        inspect_image(png(depth=depth, colour=colour))


def test_given_a_png_with_a_width_beyond_the_format_range_when_inspected_then_invalid_image() -> None:
    with pytest.raises(InvalidImage, match="out of range"):
        inspect_image(png(2**31, 1))


# --- truncated or corrupt JPEG --------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"])
def test_given_a_jpeg_cut_short_when_inspected_then_invalid_image_truncated(fixture: str) -> None:
    data = (FIXTURES / fixture).read_bytes()

    with pytest.raises(InvalidImage, match="truncated"):
        inspect_image(data[: len(data) - 1000])


@pytest.mark.parametrize("ending", [b"", b"\xff", b"\xff\xd9garbage", b"\xff\xd9\x00\x00\x01"])
def test_given_a_jpeg_not_ending_with_eoi_when_inspected_then_invalid_image_truncated(ending: bytes) -> None:
    with pytest.raises(InvalidImage, match="end-of-image"):
        inspect_image(jpeg(ending=ending))


@pytest.mark.parametrize(
    "data",
    [b"\xff\xd8\xff", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe0\x00", b"\xff\xd8\xff\xe0\x00\x10JFIF"],
    ids=["marker-only", "no-length", "half-length", "segment-past-end"],
)
def test_given_a_jpeg_ending_inside_its_headers_when_inspected_then_invalid_image_truncated(data: bytes) -> None:
    with pytest.raises(InvalidImage, match="truncated"):
        inspect_image(data)


def test_given_a_jpeg_that_is_only_fill_bytes_when_inspected_then_it_fails_fast_as_truncated() -> None:
    data = b"\xff\xd8" + b"\xff" * (14 * 1024 * 1024)

    started = time.thread_time()  # CPU time: a loaded machine's waiting doesn't count
    with pytest.raises(InvalidImage, match="truncated"):
        inspect_image(data)
    assert time.thread_time() - started < 1.0


def test_given_thousands_of_tiny_segments_before_the_frame_when_inspected_then_invalid_image_quickly() -> None:
    garbage = jpeg_segment(0xE5, b"") * 1_000_000

    started = time.thread_time()  # CPU time: a loaded machine's waiting doesn't count
    with pytest.raises(InvalidImage, match="too many segments"):
        inspect_image(jpeg(before_frame=garbage))
    assert time.thread_time() - started < 1.0


@pytest.mark.parametrize(
    ("before_frame", "message"),
    [
        (jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"), "no frame header"),  # scan before frame
        (b"\xff\xd9", "no frame header"),  # EOI before frame
        (b"\xff\xd8", "no frame header"),  # second SOI
        (b"\xff\x00", "no frame header"),  # stuffed zero outside scan data
        (b"\xff\xe1\x00\x01", "invalid segment length"),
        (b"\xff\xe1\x00\x00", "invalid segment length"),
        (b"\x00\xff\xe1\x00\x02", "no marker where one was expected"),
        (jpeg_segment(0xC0, b"\x08\x00\x01"), "frame header is too short"),
    ],
)
def test_given_a_jpeg_with_corrupt_structure_when_inspected_then_invalid_image(
    before_frame: bytes, message: str
) -> None:
    with pytest.raises(InvalidImage, match=message):
        inspect_image(jpeg(before_frame=before_frame))


# --- other formats --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"GIF87a\x01\x00\x01\x00\x00\x00\x00;", "GIF images"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "GIF images"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WebP images"),
        (b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00", "BMP images"),
        (b"II*\x00\x08\x00\x00\x00", "TIFF images"),
        (b"MM\x00*\x00\x00\x00\x08", "TIFF images"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC images"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "HEIF images"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "AVIF images"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "MP4"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF documents"),
        (b"<!DOCTYPE html><html><body>not an image</body></html>", "HTML documents"),
        (b"\n  <html lang='en'><head></head></html>", "HTML documents"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "SVG images"),
        (b"\xef\xbb\xbf<?xml version='1.0'?>\n<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG images"),
        (b"<?xml version='1.0'?><rss/>", "XML documents"),
        (b'{"error": "not found"}', "JSON documents"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP archives"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip-compressed files"),
        (b"8BPS\x00\x01", "Photoshop"),
        (b"\x00\x00\x01\x00\x01\x00\x10\x10", "ICO images"),
        (b"\xff\x0a\xfa\x7f", "JPEG XL images"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00", "JPEG 2000 images"),
    ],
)
def test_given_another_format_when_inspected_then_unsupported_media_type_names_it(data: bytes, named: str) -> None:
    with pytest.raises(UnsupportedMediaType, match=named) as raised:
        inspect_image(data)

    assert "send a JPEG or PNG image" in raised.value.message


@pytest.mark.parametrize(
    "data",
    [bytes(range(256)), b"hello world", b"\xff\xd8", b"\xff\xd8\x00", b"\x89PNG\r\n", b"\x00", b"BMx"],
    ids=["random", "text", "jpeg-soi-only", "jpeg-soi-then-junk", "png-signature-cut", "nul", "bm-short"],
)
def test_given_unrecognizable_bytes_when_inspected_then_unsupported_media_type(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType, match="not recognized"):
        inspect_image(data)
