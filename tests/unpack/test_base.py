from __future__ import annotations

import pytest

from courtfeed.rejects import FileRejected
from courtfeed.unpack.base import (
    RATIO_FLOOR_BYTES,
    BoundedWriter,
    UnpackLimits,
    UnpackRejected,
    copy_bounded,
    stream_limit,
)


class EndlessZeros:
    """A readable stream that never ends, like a decompressor fed a bomb."""

    def __init__(self):
        self.handed_out = 0

    def read(self, size: int = -1) -> bytes:
        self.handed_out += size
        return bytes(size)


def test_unpack_rejected_is_a_file_rejection_with_its_rule():
    error = UnpackRejected("bad", rule="zip_bomb")
    assert isinstance(error, FileRejected)
    assert error.rule == "zip_bomb"


def test_bounded_copy_of_an_endless_stream_stops_at_the_limit_without_writing_past_it(tmp_path):
    dest = tmp_path / "out.bin"
    limit = 5 * 1024 * 1024 + 123
    writer = BoundedWriter(dest, limit, "test stream", "expands past the limit")
    with pytest.raises(UnpackRejected) as caught, writer:
        copy_bounded(EndlessZeros(), writer)
    assert caught.value.rule == "zip_bomb"
    assert "test stream expands past the limit" in str(caught.value)
    assert 0 < dest.stat().st_size <= limit
    assert writer.written == dest.stat().st_size


def test_bounded_writer_accepts_exactly_the_limit(tmp_path):
    dest = tmp_path / "out.bin"
    with BoundedWriter(dest, 10, "s", "r") as writer:
        writer.write(b"12345")
        writer.write(b"67890")
    assert dest.read_bytes() == b"1234567890"


def test_stream_limit_uses_the_ratio_above_the_floor_and_the_total_when_it_is_smaller():
    limits = UnpackLimits(max_total_bytes=1_000_000_000, max_ratio=100.0)
    assert stream_limit(1_000_000, 1_000_000_000, limits)[0] == 100_000_000
    assert "100 times" in stream_limit(1_000_000, 1_000_000_000, limits)[1]
    # A tiny stream may still produce the floor: small, repetitive files compress very well.
    assert stream_limit(10, 1_000_000_000, limits)[0] == RATIO_FLOOR_BYTES
    # What is left of the total wins when it is the tighter bound.
    assert stream_limit(1_000_000, 5_000, limits) == (5_000, "expands past the limit of 1000000000 bytes")
