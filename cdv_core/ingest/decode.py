"""Decoding the bytes of a text file: the WHOLE file is decided on (UTF-8 with or without BOM, UTF-8
with a few stray bytes, UTF-16 with BOM, else Windows-1252, else Latin-1); a valid UTF-8 file is
only checked, never decoded whole into a Python string."""

from __future__ import annotations

from cdv_core.ingest.model import ReadError


def blank(data: bytes | str) -> bool:
    """Only whitespace? (looks at the first 64 KiB before copying the whole file to strip it)"""
    return not data[: 1 << 16].strip() and not data.strip()


def without_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def mostly_utf8(data: bytes) -> str | None:
    """The text of a file that is UTF-8 except for a few bytes (a stray Windows-1252 « é » pasted
    in a UTF-8 file), decoded with those bytes replaced by U+FFFD; None when the evidence says
    Windows-1252 (no valid UTF-8 accented character, or far more invalid bytes than valid ones).
    Re-decoding such a file whole as Windows-1252 would turn every « é » into « Ã© » silently."""
    if data[:3] == b"\xef\xbb\xbf":
        return None  # a BOM says UTF-8: `decode` refuses the bad byte by its position
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    accented = len(text) - len(text.encode("ascii", "ignore")) - bad
    return text if accented and bad <= 50 * accented else None


def bad_utf8_bytes(data: bytes, first: int = 5) -> list[tuple[int, int, bytes]]:
    """(line of the file, character position in that line, the bytes) of the first invalid UTF-8
    sequences."""
    out: list[tuple[int, int, bytes]] = []
    pos, view = 0, memoryview(data)
    while len(out) < first:
        try:
            str(view[pos:], "utf-8")
            break
        except UnicodeDecodeError as exc:
            start = pos + exc.start
            line_start = data.rfind(b"\n", 0, start) + 1
            column = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
            out.append((data.count(b"\n", 0, start) + 1, column, data[start : pos + exc.end]))
            pos += exc.end
    return out


UTF8_CHUNK = 1 << 24


def utf8_valid(view: memoryview) -> bool:
    """Whether `view` is valid UTF-8, checked 16 MiB at a time (the decoded text is dropped at once:
    a 200 MB file never exists as a Python string). Chunks are cut before a character's first
    byte, so each chunk is valid exactly when the whole is."""
    n, start = len(view), 0
    while start < n:
        end = min(start + UTF8_CHUNK, n)
        for _ in range(3):
            if end < n and view[end] & 0xC0 == 0x80:  # continuation byte: move past it
                end += 1
        try:
            str(view[start:end], "utf-8")
        except UnicodeDecodeError:
            return False
        start = end
    return True


def decode(data: bytes) -> tuple[str | None, str]:
    """Decode the whole file: a Windows-1252 byte after the first kilobytes is still seen. Valid
    UTF-8 (with or without BOM) is only checked: the text is None."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16"), "utf-16"
    if data[:3] == b"\xef\xbb\xbf":
        if utf8_valid(memoryview(data)[3:]):
            return None, "utf-8-sig"
        try:
            str(memoryview(data)[3:], "utf-8")  # for the position of the first bad byte
        except UnicodeDecodeError as exc:
            raise ReadError(
                "Le fichier annonce l'encodage UTF-8 (BOM) mais contient des caractères invalides "
                f"(octet n° {exc.start + 4}). Réenregistrez-le depuis Excel en « CSV UTF-8 »."
            ) from exc
    if utf8_valid(memoryview(data)):
        return None, "utf-8"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def utf8_head(data: bytes, encoding: str) -> tuple[str, bool]:
    """The text of the first 256 KiB (at least the first 65 536 characters; without the BOM) and
    whether that is the whole file. Raises UnicodeDecodeError when those bytes are not UTF-8."""
    body = memoryview(data)[3:] if encoding == "utf-8-sig" else memoryview(data)
    cut = min(len(body), 1 << 18)
    for _ in range(3):
        if cut < len(body) and body[cut] & 0xC0 == 0x80:
            cut -= 1
    return without_bom(str(body[:cut], "utf-8")), cut == len(body)


def utf8_payload(data: bytes, encoding: str) -> bytes:
    # Polars skips one leading BOM itself; a second one (rare) is left for it to skip as before
    return data[3:] if encoding == "utf-8-sig" and data[3:6] == b"\xef\xbb\xbf" else data
