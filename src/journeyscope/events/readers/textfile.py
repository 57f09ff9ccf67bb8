"""Bytes of text sources: gzip, encodings, and finding where a file goes wrong.

Everything here reads in bounded chunks, so a 2 GB line or a truncated gzip never costs more
than a few megabytes of memory. The scans that locate a problem (`find_long_line`,
`find_bad_bytes`, `find_gzip_end`) run only after the engine has reported that one exists.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from pathlib import Path
from typing import BinaryIO

import charset_normalizer

from journeyscope.events.errors import SourceError

CHUNK = 1 << 20
SAMPLE_BYTES = 1 << 20

# Encodings DuckDB's CSV reader decodes itself; others are transcoded to UTF-8 first.
DUCKDB_ENCODINGS = {"utf_8": "utf-8", "utf_8_sig": "utf-8", "utf_16": "utf-16",
                    "utf_16_le": "utf-16", "utf_16_be": "utf-16", "latin_1": "latin-1",
                    "iso8859_1": "latin-1"}


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it is gzip."""
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    """The first `size` bytes (decompressed). A gzip stream that ends early still yields what
    it holds; the full read reports the truncation with its line."""
    with open_binary(path) as fh:
        try:
            return fh.read(size)
        except (EOFError, OSError, zlib.error):
            fh.seek(0)
            out = bytearray()
            try:
                while len(out) < size:
                    chunk = fh.read1(65536) if hasattr(fh, "read1") else fh.read(65536)
                    if not chunk:
                        break
                    out += chunk
            except (EOFError, OSError, zlib.error):
                pass
            return bytes(out)


def codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name.replace("-", "_")
    except LookupError:
        raise SourceError("<options>", f"{encoding!r} is not a known text encoding") from None


def detect_encoding(sample: bytes, *, file: str) -> str:
    """The Python codec name of the sample's encoding: BOMs first, then UTF-8 if it decodes,
    then charset-normalizer's best guess."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf_8_sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf_16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)  # a character cut at the sample's end is fine
        return "utf_8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in sample[:8192]:
        raise SourceError(file, "this is a binary file, not text (no known text encoding)")
    best = charset_normalizer.from_bytes(sample[:SAMPLE_BYTES]).best()
    if best is None:
        raise SourceError(file, "the text encoding cannot be recognised; give it with "
                          "--encoding (e.g. cp1252)")
    return codec_name(best.encoding)


def transcode_to_utf8(path: Path, encoding: str, target: Path, *, file: str) -> None:
    """Write `path` decoded from `encoding` as UTF-8 to `target`, chunk by chunk."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with open_binary(path) as src, target.open("wb") as out:
        while True:
            chunk = _read_checked(src, path, file=file)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                bad_line = line + chunk.count(b"\n", 0, exc.start)
                raise SourceError(
                    file, f"is not valid {pretty(encoding)} text (wrong encoding?); give the "
                    "right one with --encoding", line=bad_line,
                    value=line_around(chunk, exc.start)) from None
            out.write(text.encode("utf-8"))
            line += chunk.count(b"\n")
            if not chunk:
                return


def _read_checked(fh: BinaryIO, path: Path, *, file: str) -> bytes:
    try:
        return fh.read(CHUNK)
    except (EOFError, OSError, zlib.error):
        # gzip drops the whole chunk it could not finish: count the lines again, exactly.
        raise find_gzip_end(path, file=file) from None


def gzip_error(file: str, line: int, exc: BaseException) -> SourceError:
    """The error for a gzip stream that breaks off in `line`, the first line it does not hold
    whole (line 1 is the first line of the file, a header included).

    >>> print(gzip_error("log.csv.gz", 6, EOFError("cut")))
    log.csv.gz: line 6: the gzip stream ends early or is corrupt after line 5 (cut); ...
    """
    where = f"after line {line - 1}" if line > 1 else "within its first line"
    return SourceError(
        file, f"the gzip stream ends early or is corrupt {where} ({exc}); the file is "
        "truncated: download or export it again", line=line)


def find_gzip_end(path: Path, *, file: str) -> SourceError:
    """The located error for a gzip stream that breaks off or is corrupt: the first line it does
    not hold whole (counted exactly, by decompressing with zlib, which keeps what it has)."""
    line = 1
    decompressor = zlib.decompressobj(wbits=31)
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            try:
                while chunk:
                    line += decompressor.decompress(chunk).count(b"\n")
                    chunk = decompressor.unused_data if decompressor.eof else b""
                    if decompressor.eof:
                        decompressor = zlib.decompressobj(wbits=31)  # a next gzip member
            except zlib.error as exc:
                return gzip_error(file, line, exc)
    if not decompressor.eof:
        return gzip_error(file, line, EOFError("the compressed data ends before its end marker"))
    return SourceError(file, "the gzip stream cannot be read")


def find_long_line(path: Path, limit: int, *, file: str) -> SourceError | None:
    """The first line longer than `limit` bytes, located, without holding it in memory."""
    line, length = 1, 0
    with open_binary(path) as fh:
        while True:
            chunk = _read_checked(fh, path, file=file)
            if not chunk:
                return None
            start = 0
            while True:
                nl = chunk.find(b"\n", start)
                end = len(chunk) if nl < 0 else nl
                length += end - start
                if length > limit:
                    head = chunk[start:start + 60] if start < end else b""
                    return SourceError(
                        file, f"the line is longer than {limit} bytes (the limit set by "
                        "JOURNEYSCOPE_IMPORT_MAX_LINE_BYTES); is this the right file?",
                        line=line, value=head.decode("utf-8", "replace") + "...")
                if nl < 0:
                    break
                line, length, start = line + 1, 0, nl + 1


def find_bad_bytes(path: Path, encoding: str, *, file: str) -> SourceError | None:
    """Where the file stops being valid `encoding` text, located by line."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with open_binary(path) as fh:
        while True:
            chunk = _read_checked(fh, path, file=file)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return SourceError(
                    file, f"is not valid {pretty(encoding)} text (wrong encoding?); give the "
                    "right one with --encoding, e.g. --encoding cp1252",
                    line=line + chunk.count(b"\n", 0, exc.start),
                    value=line_around(chunk, exc.start))
            if not chunk:
                return None
            line += chunk.count(b"\n")


def pretty(encoding: str) -> str:
    """A codec name as people write it (utf_8 -> UTF-8, cp1252 -> CP1252)."""
    return encoding.replace("_", "-").upper()


def line_around(chunk: bytes, offset: int) -> str:
    """The line of `chunk` holding byte `offset`, undecodable bytes shown as \\xNN."""
    start = chunk.rfind(b"\n", 0, offset) + 1
    end = chunk.find(b"\n", offset)
    return chunk[start:end if end >= 0 else len(chunk)].decode("utf-8", "backslashreplace")


def text_sample(sample: bytes, encoding: str) -> str:
    """The sample decoded, with a character cut at the end dropped."""
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
