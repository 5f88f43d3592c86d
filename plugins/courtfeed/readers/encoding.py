"""Work out how a text file is encoded, refuse files that are not text, and open it as text.

Court systems export UTF-8 (with or without a byte order mark), UTF-16 from Excel's "Unicode
text", and Windows-1252 from older tools. County exports that merge two systems mix the last
two: mostly UTF-8 with some Windows-1252 lines. Such a file is decoded line by line (the
``utf-8+cp1252`` codec below) so neither half is turned into mojibake. Detection never reads the
whole file into memory: it looks at the first chunk for a BOM and binary junk, then decodes the
file chunk by chunk.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

if TYPE_CHECKING:
    from typing_extensions import Buffer

from courtfeed.rejects import FileRejected

CHUNK_BYTES = 1 << 20
SAMPLE_BYTES = 64 * 1024
# A text file may hold a few stray control characters; a binary one is full of them.
MAX_CONTROL_RATIO = 0.05
MIN_CONTROLS = 16

# Longest BOM first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]

# Windows itself decodes the five bytes cp1252 leaves undefined as the same code points latin-1
# gives them; Python's codec refuses them, which would reject files Excel opens without complaint.
CP1252_ERRORS = "courtfeed_cp1252"
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def _cp1252_as_windows(error: UnicodeError) -> tuple[str, int]:
    if isinstance(error, UnicodeDecodeError):
        byte = error.object[error.start]
        if byte in _CP1252_UNDEFINED:
            return chr(byte), error.start + 1
    raise error


codecs.register_error(CP1252_ERRORS, _cp1252_as_windows)

# A file of UTF-8 lines and Windows-1252 lines: each line is decoded as UTF-8 when it is valid
# UTF-8, else as Windows-1252. A Windows-1252 line that is also valid UTF-8 is practically
# impossible for real text (it would need sequences like "Ã«"), so the split is safe.
MIXED = "utf-8+cp1252"
MAX_LINES_NAMED = 20  # in messages and notes; the count covers them all


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors=CP1252_ERRORS)


class _PerLineDecoder(codecs.IncrementalDecoder):
    """Decodes whole lines only, each on its own; the bytes after the last line break wait."""

    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self._pending = b""

    def decode(self, input: Buffer, final: bool = False) -> str:  # noqa: A002 - the codec API's name
        data = self._pending + bytes(input)
        cut = len(data) if final else max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        head, self._pending = data[:cut], data[cut:]
        return "".join(_decode_line(line) for line in head.splitlines(keepends=True))

    def reset(self) -> None:
        self._pending = b""

    def getstate(self) -> tuple[bytes, int]:
        return self._pending, 0

    def setstate(self, state: tuple[bytes, int]) -> None:
        self._pending = state[0]


def _mixed_search(name: str) -> codecs.CodecInfo | None:
    # Python hands search functions the name with punctuation turned into "_".
    if name != "utf_8_cp1252":
        return None
    utf8 = codecs.lookup("utf-8")
    return codecs.CodecInfo(
        name=MIXED,
        encode=utf8.encode,
        decode=lambda data, errors="strict": (_PerLineDecoder(errors).decode(data, final=True), len(data)),
        incrementalencoder=utf8.incrementalencoder,
        incrementaldecoder=_PerLineDecoder,
        streamreader=utf8.streamreader,
        streamwriter=utf8.streamwriter,
    )


codecs.register(_mixed_search)

# Control characters that never appear in a text export (tab, line breaks and form feed do).
_CONTROL = {chr(c) for c in range(0x20) if chr(c) not in "\t\n\r\f\v"} | {"\x7f"}


def errors_for(encoding: str) -> str:
    """The codec error handler to decode ``encoding`` with."""
    return CP1252_ERRORS if codecs.lookup(encoding).name == "cp1252" else "strict"


def detect_encoding(path: str | Path, declared: str = "auto") -> str:
    """The encoding to read ``path`` with, checked against the whole file.

    ``declared`` is the template's encoding: ``auto`` detects, anything else wins but is still
    verified so a wrong setting is reported at open time (with the byte offset), not halfway
    through a load. Raises FileRejected with rule ``empty_file``, ``not_text`` or ``encoding``.
    """
    with open(path, "rb") as raw:
        head = raw.read(SAMPLE_BYTES)
    if not head:
        raise FileRejected("the file is empty (0 bytes)", rule="empty_file")

    if declared.lower() != "auto":
        encoding = _known_encoding(declared)
        if codecs.lookup(encoding).name == "utf-8" and head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"  # the BOM is a marker, not part of the first header name
        _verify(path, encoding, reason="the template's encoding")
        _refuse_binary(head, encoding)
        return encoding

    found = _from_bom(head)
    if found is None and _strict_utf8(path):
        found = "utf-8"
    if found is None:
        found = _utf16_without_bom(head)
    if found is None:
        _refuse_binary(head, "cp1252")
        utf8_lines, _bad, _count = _line_scan(path)
        # Some lines are real UTF-8 (with non-ASCII characters), others are not: decode per line.
        return MIXED if utf8_lines else "cp1252"
    encoding = found
    if encoding != "utf-8":  # the UTF-8 check above already decoded every byte
        bom = head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        _verify(path, encoding, reason="its byte order mark says so" if bom else "detected from its bytes")
    _refuse_binary(head, encoding)
    return encoding


def decoding_notes(path: str | Path, encoding: str) -> list[str]:
    """What a person should know about how the file was decoded (for the acknowledgement)."""
    if encoding != MIXED:
        return []
    utf8_lines, bad, count = _line_scan(path)
    return [
        f"mixed encodings: {_lines(bad, count)} decoded as Windows-1252, the other lines as UTF-8"
        f" ({utf8_lines} lines hold UTF-8 characters); the export seems to merge two systems"
    ]


def _lines(numbers: list[int], count: int) -> str:
    named = ", ".join(str(n) for n in numbers[:MAX_LINES_NAMED])
    more = f" and {count - MAX_LINES_NAMED} more" if count > MAX_LINES_NAMED else ""
    return f"line {named}" if count == 1 else f"lines {named}{more} ({count} lines)"


def _line_scan(path: str | Path) -> tuple[int, list[int], int]:
    """(lines holding valid non-ASCII UTF-8, the first MAX_LINES_NAMED invalid lines, how many
    lines are invalid UTF-8); lines are numbered from 1 as an editor shows them."""
    utf8_lines, count = 0, 0
    bad: list[int] = []
    with open(path, "rb") as raw:
        for number, line in enumerate(_physical_lines(raw), start=1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                utf8_lines += 1
            except UnicodeDecodeError:
                count += 1
                if len(bad) < MAX_LINES_NAMED:
                    bad.append(number)
    return utf8_lines, bad, count


def _physical_lines(raw: BinaryIO) -> Iterator[bytes]:
    """The file's lines (ended by \\n, \\r\\n or \\r), read in chunks."""
    pending = b""
    while chunk := raw.read(CHUNK_BYTES):
        data = pending + chunk
        lines = data.splitlines(keepends=True)
        # The last piece may be incomplete (or a \\r whose \\n is in the next chunk).
        pending = lines.pop() if lines else b""
        yield from lines
    if pending:
        yield pending


def open_text(path: str | Path, encoding: str) -> TextIO:
    """The file as a text stream with line endings left to the csv module (newline="")."""
    raw: BinaryIO = open(path, "rb")  # the wrapper owns it and closes it
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors_for(encoding), newline="")


def _known_encoding(name: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise FileRejected(f"the template names an unknown encoding {name!r}", rule="encoding") from None
    return name


def _from_bom(head: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


def _strict_utf8(path: str | Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    with open(path, "rb") as raw:
        try:
            while chunk := raw.read(CHUNK_BYTES):
                # Most exports are plain ASCII: checking that is far cheaper than decoding.
                if chunk.isascii() and not decoder.getstate()[0]:
                    continue
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text of mostly Latin characters has a NUL in every other byte, on one side only."""
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    pairs = len(sample) // 2
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    if odd_nuls > 0.4 * pairs and even_nuls < 0.05 * pairs:
        return "utf-16-le"
    if even_nuls > 0.4 * pairs and odd_nuls < 0.05 * pairs:
        return "utf-16-be"
    return None


def _verify(path: str | Path, encoding: str, reason: str) -> None:
    """Decode the whole file in chunks; on failure name the byte offset and line."""
    decoder = codecs.getincrementaldecoder(encoding)(errors_for(encoding))
    offset = 0
    lines = 1
    with open(path, "rb") as raw:
        while True:
            chunk = raw.read(CHUNK_BYTES)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                # error.start is relative to the chunk plus whatever the decoder had buffered.
                buffered = len(error.object) - len(chunk)
                at = max(offset + error.start - buffered, 0)
                lines += chunk[: max(error.start - buffered, 0)].count(b"\n")
                # Counting b"\n" only finds lines in encodings where a newline is one byte.
                if encoding.lower().replace("_", "-").startswith(("utf-16", "utf-32", "utf16", "utf32")):
                    where = f"invalid bytes at byte offset {at}"
                else:
                    where = f"invalid bytes on {_undecodable_lines(path, encoding) or f'line {lines}'}"
                    where += f" (the first at byte offset {at})"
                raise FileRejected(
                    f"the file cannot be decoded as {encoding} ({reason}): {where}; check the template's"
                    " format.encoding (encoding: auto decodes a mix of UTF-8 and Windows-1252 lines)",
                    rule="encoding",
                ) from None
            if not chunk:
                return
            offset += len(chunk)
            lines += chunk.count(b"\n")


def _undecodable_lines(path: str | Path, encoding: str) -> str:
    """Which lines cannot be decoded, for an encoding whose line break is the byte \\n."""
    count = 0
    bad: list[int] = []
    with open(path, "rb") as raw:
        for number, line in enumerate(_physical_lines(raw), start=1):
            try:
                line.decode(encoding, errors=errors_for(encoding))
            except UnicodeDecodeError:
                count += 1
                if len(bad) < MAX_LINES_NAMED:
                    bad.append(number)
    return _lines(bad, count) if count else ""


def _refuse_binary(head: bytes, encoding: str) -> None:
    # The sample may end inside a multi-byte character; drop that partial tail.
    text = head.decode(encoding, errors="ignore") if encoding.startswith("utf") else None
    if text is None:
        text = head.decode(encoding, errors=errors_for(encoding))
    if not text:
        return
    nuls = text.count("\x00")
    controls = sum(1 for ch in text if ch in _CONTROL)
    # A few stray control characters (a backspace typed into a notes field) are not junk.
    if nuls or (controls >= MIN_CONTROLS and controls / len(text) > MAX_CONTROL_RATIO):
        raise FileRejected(
            f"the file is not text: its first {len(head)} bytes hold {controls} control characters"
            f" ({nuls} NUL bytes); is it a binary file or a different format with a text extension?",
            rule="not_text",
        )
