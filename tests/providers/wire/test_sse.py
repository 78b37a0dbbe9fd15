"""Table tests of the incremental SSE parser, with no network."""

from __future__ import annotations

import random

import pytest

from providers.wire.sse import SSEEvent, SSEParser


def parse(chunks: list[bytes]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def splits(raw: bytes) -> list[list[bytes]]:
    """The same bytes whole, one byte at a time, and in random pieces."""
    rng = random.Random(7)
    pieces: list[bytes] = []
    index = 0
    while index < len(raw):
        size = rng.randint(1, 5)
        pieces.append(raw[index : index + size])
        index += size
    return [[raw], [raw[i : i + 1] for i in range(len(raw))], pieces]


CASES = [
    ("lf", b"data: a\n\ndata: b\n\n", [SSEEvent("a"), SSEEvent("b")]),
    ("crlf", b"data: a\r\n\r\ndata: b\r\n\r\n", [SSEEvent("a"), SSEEvent("b")]),
    ("cr", b"data: a\r\rdata: b\r\r", [SSEEvent("a"), SSEEvent("b")]),
    ("mixed", b"data: a\r\n\ndata: b\n\r\n", [SSEEvent("a"), SSEEvent("b")]),
    ("multi_line_data", b"data: one\ndata: two\n\n", [SSEEvent("one\ntwo")]),
    ("named_event", b"event: ping\ndata: {}\n\n", [SSEEvent("{}", event="ping")]),
    ("comment", b": keep-alive\n\ndata: x\n\n", [SSEEvent("x")]),
    ("no_space_after_colon", b"data:x\n\n", [SSEEvent("x")]),
    ("only_one_space_stripped", b"data:  x\n\n", [SSEEvent(" x")]),
    ("unknown_field", b"foo: bar\nretry: 10\ndata: x\n\n", [SSEEvent("x")]),
    ("field_without_colon", b"data\n\n", [SSEEvent("")]),
    ("id_kept", b"id: 7\ndata: x\n\n", [SSEEvent("x", id="7")]),
    ("event_without_data_dropped", b"event: nothing\n\ndata: x\n\n", [SSEEvent("x")]),
    ("padded_json", b'data: {"a":1}     \n\n', [SSEEvent('{"a":1}     ')]),
    ("bom", b"\xef\xbb\xbfdata: x\n\n", [SSEEvent("x")]),
    ("utf8", "data: héllo ✓\n\n".encode(), [SSEEvent("héllo ✓")]),
    ("unterminated_dropped", b"data: a\n\ndata: b", [SSEEvent("a")]),
    ("unterminated_line_end_dropped", b"data: a\n\ndata: b\n", [SSEEvent("a")]),
    ("done", b"data: [DONE]\n\n", [SSEEvent("[DONE]")]),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_it_parses_events_split_anywhere(raw: bytes, expected: list[SSEEvent]) -> None:
    for chunks in splits(raw):
        assert parse(chunks) == expected


def test_it_does_not_double_count_a_crlf_split_between_reads() -> None:
    # The CR ends a line; the LF arriving in the next read must not end another (empty) line,
    # which would dispatch "a" early and lose the second data line.
    assert parse([b"data: a\r", b"\ndata: b\r", b"\n\r\n"]) == [SSEEvent("a\nb")]


def test_it_ignores_empty_feeds() -> None:
    parser = SSEParser()
    assert parser.feed(b"") == []
    assert parser.feed(b"data: x\n") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\n") == [SSEEvent("x")]
