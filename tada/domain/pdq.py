"""PDQ perceptual hashes as text: parsing, Hamming distance, the nearest match.

A PDQ hash is 256 bits written as 64 hexadecimal digits, most significant
first, as Meta's reference implementation and ThreatExchange print it. Two
images that look alike have hashes a few bits apart; 31 bits is the distance
the PDQ authors suggest as the match threshold. Pure: no images, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from tada.errors import InvalidInput

__all__ = ["BITS", "HEX_DIGITS", "InvalidPdq", "best_match", "from_bits", "hamming", "parse_pdq"]

BITS = 256
HEX_DIGITS = BITS // 4
_HEX = re.compile(r"[0-9a-f]{64}")


class InvalidPdq(InvalidInput, ValueError):
    """Not a PDQ hash; ``reason`` says why, for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_pdq(text: str) -> str:
    """The hash in its one spelling (64 lower-case hex digits), or InvalidPdq saying what is wrong."""
    if not isinstance(text, str):
        raise InvalidPdq("a PDQ hash is text: 64 hexadecimal digits")
    value = text.strip().lower()
    if value.startswith("0x"):
        value = value[2:]
    if len(value) != HEX_DIGITS:
        raise InvalidPdq(f"a PDQ hash has {HEX_DIGITS} hexadecimal digits, this has {len(value)}")
    if not _HEX.fullmatch(value):
        raise InvalidPdq("a PDQ hash has only hexadecimal digits (0-9, a-f)")
    return value


def hamming(a: str, b: str) -> int:
    """How many of the 256 bits differ between two PDQ hashes."""
    return (int(parse_pdq(a), 16) ^ int(parse_pdq(b), 16)).bit_count()


def best_match(candidate: str, case_hashes: Iterable[str]) -> tuple[int, str] | None:
    """The nearest of ``case_hashes`` as (distance, hash), or None when there are none.

    Ties go to the hash listed first, so the answer is stable."""
    value = int(parse_pdq(candidate), 16)
    best: tuple[int, str] | None = None
    for known in case_hashes:
        distance = (value ^ int(parse_pdq(known), 16)).bit_count()
        if best is None or distance < best[0]:
            best = (distance, parse_pdq(known))
    return best


def from_bits(bits: Sequence[int]) -> str:
    """The hex spelling of 256 bits, most significant first (as PDQ hashers return them)."""
    if len(bits) != BITS:
        raise InvalidPdq(f"a PDQ hash has {BITS} bits, this has {len(bits)}")
    value = 0
    for bit in bits:
        if bit not in (0, 1):
            raise InvalidPdq("a PDQ hash's bits are 0 or 1")
        value = (value << 1) | int(bit)
    return f"{value:0{HEX_DIGITS}x}"
