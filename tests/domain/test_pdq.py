"""PDQ: parsing and distances (pure), and hashing images the test draws itself."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw, ImageFilter

from tada.adapters.pdq_hashing import UnreadableImage, hash_image, hash_image_file, hash_image_path
from tada.domain.pdq import InvalidPdq, best_match, from_bits, hamming, parse_pdq

MATCH = 31  # the default TADA_PDQ_MAX_DISTANCE
ZERO = "0" * 64
ONES = "f" * 64


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like picture: a gradient sky with blurred shapes, all drawn from the seed."""
    rng = random.Random(seed)
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    tint = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    image = Image.blend(image, tint, 0.5)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(20, width // 3), rng.randrange(20, height // 3)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = rng.choice((draw.ellipse, draw.rectangle))
        shape([x, y, x + w, y + h], fill=colour)
    return image.filter(ImageFilter.GaussianBlur(2))


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer)


# --- text, distances ----------------------------------------------------------------------


def test_parse_normalises_and_names_what_is_wrong():
    value = "AB" * 32
    assert parse_pdq(value) == "ab" * 32
    assert parse_pdq(f"  0x{value}\n") == "ab" * 32
    with pytest.raises(InvalidPdq, match="64 hexadecimal digits, this has 63"):
        parse_pdq("a" * 63)
    with pytest.raises(InvalidPdq, match="this has 65"):
        parse_pdq("a" * 65)
    with pytest.raises(InvalidPdq, match="only hexadecimal digits"):
        parse_pdq("g" + "a" * 63)
    with pytest.raises(InvalidPdq, match="this has 0"):
        parse_pdq("")
    with pytest.raises(InvalidPdq, match="text"):
        parse_pdq(None)  # type: ignore[arg-type]


def test_hamming_counts_differing_bits():
    assert hamming(ZERO, ZERO) == 0
    assert hamming(ZERO, ONES) == 256
    assert hamming(ZERO, "0" * 63 + "1") == 1
    assert hamming(ZERO, "8" + "0" * 63) == 1  # the most significant bit counts like any other
    assert hamming("F0" * 32, "0f" * 32) == 256
    assert hamming(ONES, ZERO) == hamming(ZERO, ONES)


def test_best_match_is_the_nearest_and_stable_on_ties():
    near, far = "0" * 62 + "03", "0" * 56 + "ff" * 4
    assert best_match(ZERO, []) is None
    assert best_match(ZERO, [far, near]) == (2, near)
    assert best_match(ZERO, ["0" * 63 + "1", "1" + "0" * 63]) == (1, "0" * 63 + "1")
    assert best_match(ZERO.upper(), [ONES.upper()]) == (256, ONES)


def test_from_bits_is_most_significant_first():
    bits = [0] * 256
    bits[0] = 1
    assert from_bits(bits) == "8" + "0" * 63
    bits = [0] * 255 + [1]
    assert from_bits(bits) == "0" * 63 + "1"
    with pytest.raises(InvalidPdq, match="256 bits"):
        from_bits([0] * 255)
    with pytest.raises(InvalidPdq, match="0 or 1"):
        from_bits([2] + [0] * 255)


# --- hashing generated images ------------------------------------------------------------


def test_the_same_image_reencoded_and_resized_matches_an_unrelated_one_does_not():
    original = scene(seed=7)
    reference = hash_image(original)
    assert reference.quality >= 50
    copy = jpeg(original.resize((original.width // 2, original.height // 2), Image.Resampling.LANCZOS), 70)
    copied = hash_image(copy)
    assert hamming(reference.pdq, copied.pdq) <= MATCH

    for seed in (8, 9, 10):
        other = hash_image(scene(seed=seed))
        assert hamming(reference.pdq, other.pdq) > MATCH, seed
    unrelated = hash_image(scene(seed=11))
    assert best_match(copied.pdq, [unrelated.pdq, reference.pdq]) == (
        hamming(copied.pdq, reference.pdq),
        reference.pdq,
    )


def test_hash_file_reads_locally_and_leaves_nothing(tmp_path):
    path = tmp_path / "photo.png"
    scene(seed=3, size=(300, 200)).save(path)
    before = sorted(p.name for p in tmp_path.iterdir())
    value = hash_image_file(path)
    assert parse_pdq(value) == value
    assert hash_image_path(path).pdq == value  # deterministic
    assert sorted(p.name for p in tmp_path.iterdir()) == before

    (tmp_path / "notes.txt").write_text("not a picture")
    with pytest.raises(UnreadableImage, match="not an image"):
        hash_image_file(tmp_path / "notes.txt")
    with pytest.raises(UnreadableImage, match="no such file"):
        hash_image_file(tmp_path / "missing.jpg")
    with pytest.raises(UnreadableImage, match="directory"):
        hash_image_file(tmp_path)


def test_grey_and_transparent_images_hash_like_their_rgb():
    image = scene(seed=5)
    assert hamming(hash_image(image).pdq, hash_image(image.convert("L")).pdq) <= 8
    assert hash_image(image.convert("RGBA")).pdq == hash_image(image).pdq
