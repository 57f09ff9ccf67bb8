"""Bytes of text sources: gzip, encodings, and finding where a file goes wrong.

Everything here reads in bounded chunks, so a 2 GB line or a truncated gzip never costs more
than a few megabytes of memory. The scans that locate a problem (`find_long_line`,
`find_bad_bytes`, `find_gzip_end`) run only after the engine has reported that one exists,
except `GzipCheck`: DuckDB does not verify a gzip stream's CRC, so corrupt data would import as
text, and the check decompresses the stream in a thread while the engine reads it.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import re
import threading
import zlib
from pathlib import Path
from typing import BinaryIO

import charset_normalizer

from journeyscope import hints
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


def read_sample(path: Path, size: int = SAMPLE_BYTES, *, file: str | None = None) -> bytes:
    """The first `size` bytes (decompressed). A gzip stream that ends early or is corrupt before
    `size` bytes raises its located error (see `find_gzip_end`)."""
    if not is_gzip(path):
        with path.open("rb") as fh:
            return fh.read(size)
    scan = _GzipScan(keep=size)
    scan.run(path)
    if len(scan.head) < size and (scan.error is not None or not scan.whole):
        raise scan.problem(str(path) if file is None else file) or AssertionError
    return bytes(scan.head)


def codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name.replace("-", "_")
    except LookupError:
        raise SourceError("<options>", f"{encoding!r} is not a known text encoding") from None


def detect_encoding(sample: bytes, *, file: str) -> str:
    """The Python codec name of the sample's encoding: BOMs first, then UTF-8 if it decodes,
    then Windows-1252 (a superset of Latin-1, which Western exports are in) if it decodes to
    plausible text, then charset-normalizer's best guess.

    charset-normalizer alone picks among dozens of single-byte codecs that all decode such
    bytes, and on a short sample often picks the wrong one: 'très bien café' in Latin-1 came
    out as cp1250's 'trčs bien café'.

    >>> detect_encoding("déçu".encode("latin-1"), file="e.csv")
    'cp1252'
    """
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
    if _plausible_cp1252(sample):
        return "cp1252"
    best = charset_normalizer.from_bytes(sample[:SAMPLE_BYTES]).best()
    if best is None:
        raise SourceError(file, "the text encoding cannot be recognised; "
                          f"{hints.ENCODING_UNKNOWN()}")
    return codec_name(best.encoding)


# Bytes of another single-byte codec read as Windows-1252 give runs of accented letters
# (Cyrillic, Greek, Hebrew: 'Ïðèâåò') or signs inside words (Polish 'ł', 'ą', 'ż' as '³', '¹',
# '¿'); Western text has neither (an apostrophe or a dash inside a word is fine: "don’t",
# "Mon–Fri").
_NOT_WESTERN = re.compile(r"[^\x00-\x7f]{3,}|(?<=[^\W\d_])[^\w\s\x00-\x7f’‘·–—](?=[^\W\d_])")


def _plausible_cp1252(sample: bytes) -> bool:
    """Whether the sample decodes as Windows-1252 to text that looks Western."""
    try:
        text = codecs.getincrementaldecoder("cp1252")().decode(sample, final=False)
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d)
        return False
    return _NOT_WESTERN.search(text) is None


# What `detect_encoding` knows for sure: a BOM, or bytes that decode as UTF-8.
_CERTAIN = frozenset(("utf_8", "utf_8_sig", "utf_16"))
_NAMES = {"latin_1": "Latin-1", "iso8859_1": "Latin-1"}


def guessed_note(encoding: str, *, file: str) -> str | None:
    """The note for an import summary when `detect_encoding` guessed `encoding`, e.g.
    ``fr.csv: read as Windows-1252 (guessed); give --encoding if wrong``; None when it did
    not have to guess (UTF-8, or a BOM)."""
    if encoding in _CERTAIN:
        return None
    name = _NAMES.get(encoding) or (f"Windows-{encoding[2:]}" if encoding.startswith("cp125")
                                    else pretty(encoding))
    return f"{file}: read as {name} (guessed); {hints.ENCODING_GUESSED()}"


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
                # Corrupt gzip data that only its CRC reveals decompresses to garbage.
                if is_gzip(path) and (problem := gzip_problem(path, file=file)) is not None:
                    raise problem from None
                bad_line = line + chunk.count(b"\n", 0, exc.start)
                raise SourceError(
                    file, f"is not valid {pretty(encoding)} text (wrong encoding?); "
                    f"{hints.ENCODING_WRONG_SHORT()}", line=bad_line,
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


GZIP_STEP = 1 << 14  # compressed bytes per zlib call when scanning a gzip stream
# zlib's reasons for a damaged member header and for a failed check at the end of a member
_HEADER_REASONS = frozenset(("incorrect header check", "unknown compression method",
                             "unknown header flags set", "header crc mismatch",
                             "invalid window size"))
_CHECK_REASONS = {"incorrect data check": "its CRC-32", "incorrect length check": "its length"}


class _GzipScan:
    """A gzip file decompressed by zlib in small steps, its lines counted: where it breaks off,
    where zlib finds it corrupt, and (with `keep`) its first bytes.

    GzipFile drops what it decompressed of a read that fails, and zlib what it decompressed in
    the call that fails: a failing step is fed again byte by byte from the state before it, so
    every byte before the damage is counted.
    """

    def __init__(self, keep: int = 0) -> None:
        self.keep = keep
        self.head = bytearray()  # the first `keep` bytes
        self.line = 1  # the line being read: the first not yet ended by a newline
        self.newline_last = False  # the text so far ends with a newline
        self.members = 1
        self.between = False  # a member has ended; the next, or zero padding, may follow
        self.error: str | None = None  # zlib's reason, when it finds the data corrupt
        self._zlib = zlib.decompressobj(wbits=31)

    @property
    def whole(self) -> bool:
        """Every member read to its end and checked (no error, not cut short)."""
        return self.between and self.error is None

    def run(self, path: Path) -> None:
        """Scan `path` to its end, to an error, or (with `keep`) until the head is full."""
        with path.open("rb") as fh:
            while self.keep == 0 or len(self.head) < self.keep:
                chunk = fh.read(GZIP_STEP)
                if not chunk:
                    return
                saved = self._save()
                try:
                    self._feed(chunk)
                except zlib.error as exc:
                    self._restore(saved)
                    self.error = _zlib_reason(exc)
                    try:
                        for i in range(len(chunk)):
                            self._feed(chunk[i:i + 1])
                    except zlib.error as again:
                        self.error = _zlib_reason(again)
                    return

    def _feed(self, data: bytes) -> None:
        while data:
            if self.between:
                data = data.lstrip(b"\x00")  # zero padding after a member, as GzipFile allows
                if not data:
                    return
                self._zlib = zlib.decompressobj(wbits=31)
                self.members += 1
                self.between = False
            out = self._zlib.decompress(data)
            if out:
                self.line += out.count(b"\n")
                self.newline_last = out.endswith(b"\n")
                if len(self.head) < self.keep:
                    self.head += out[:self.keep - len(self.head)]
            if not self._zlib.eof:
                return
            data = self._zlib.unused_data
            self.between = True

    def _save(self) -> tuple:
        return (self._zlib.copy(), self.line, self.newline_last, len(self.head), self.members,
                self.between)

    def _restore(self, saved: tuple) -> None:
        self._zlib, self.line, self.newline_last, head, self.members, self.between = saved
        del self.head[head:]

    def problem(self, file: str) -> SourceError | None:
        """The located error of what the scan found, or None for a stream read whole."""
        after = f"after line {self.line - 1}" if self.line > 1 else "within its first line"
        again = "download or export it again"
        if self.error is None:
            if self.between:
                return None
            return SourceError(
                file, f"the gzip stream ends early {after} (the compressed data ends before "
                f"its end marker); the file is truncated: {again}", line=self.line)
        if self.error in _CHECK_REASONS:
            # Every byte came out; the CRC-32 or length after them disagrees.
            last = max(self.line - 1 if self.newline_last else self.line, 1)
            return SourceError(
                file, f"the gzip data is corrupt: it decompresses to the end of line {last}, "
                f"but the check that follows fails ({_CHECK_REASONS[self.error]} does not "
                f"match), so some line is wrong; the file is damaged: {again}", line=last)
        if self.error in _HEADER_REASONS and self.members == 1:
            return SourceError(file, f"the file is not a readable gzip file: its header is "
                               f"damaged ({self.error}); {again}")
        return SourceError(file, f"the gzip data is corrupt {after} ({self.error}); the file "
                           f"is damaged: {again}", line=self.line)


def _zlib_reason(exc: zlib.error) -> str:
    """zlib's reason without its preamble ('Error -3 while decompressing data: ')."""
    return str(exc).rsplit(": ", 1)[-1]


def gzip_problem(path: Path, *, file: str) -> SourceError | None:
    """The located error of a gzip stream that breaks off or is corrupt, or None when it reads
    whole and its checks match. The line is the first one the stream does not hold whole, line 1
    being the first line of the file (a header included), e.g. ``log.csv.gz: line 6: the gzip
    data is corrupt after line 5 (invalid block type); the file is damaged: download or export
    it again``."""
    scan = _GzipScan()
    scan.run(path)
    return scan.problem(file)


def find_gzip_end(path: Path, *, file: str) -> SourceError:
    """The located error for a gzip stream that breaks off or is corrupt (see `gzip_problem`),
    after a reader has failed on it."""
    return gzip_problem(path, file=file) or SourceError(file, "the gzip stream cannot be read")


class GzipCheck:
    """`gzip_problem` of a file, found in a thread while the engine reads the file (zlib
    releases the GIL). DuckDB checks neither a gzip stream's CRC nor its length, and reads
    corrupt data as text: a wrong value, or a misleading error. Nothing is done for a file
    that is not gzip."""

    def __init__(self, path: Path, *, file: str) -> None:
        self._problem: SourceError | None = None
        self._thread: threading.Thread | None = None
        if is_gzip(path):
            self._thread = threading.Thread(target=self._run, args=(path, file), daemon=True)
            self._thread.start()

    def _run(self, path: Path, file: str) -> None:
        with contextlib.suppress(OSError):  # a file that cannot be read: the engine says so
            self._problem = gzip_problem(path, file=file)

    def problem(self) -> SourceError | None:
        """The gzip stream's error, once the check has finished (None if it is sound)."""
        if self._thread is not None:
            self._thread.join()
        return self._problem


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
                    file, f"is not valid {pretty(encoding)} text (wrong encoding?); "
                    f"{hints.ENCODING_WRONG()}",
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
