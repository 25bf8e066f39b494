"""Recognising uploaded images by their bytes (never by the name or the declared type) and reading their size."""

from __future__ import annotations

import struct

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def image_type(data: bytes) -> str | None:
    """`image/png` or `image/jpeg` when the bytes open like one, otherwise None."""
    if data.startswith(PNG_MAGIC):
        return "image/png"
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    return None


def dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG from its header, or None when it cannot be read."""
    if data.startswith(PNG_MAGIC):
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        width, height = struct.unpack(">II", data[16:24])
        return (width, height) if width and height else None
    if data.startswith(JPEG_MAGIC):
        i = 2
        while i + 4 <= len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if marker in _SOF:
                if i + 9 > len(data):
                    return None
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return (width, height) if width and height else None
            if length < 2:
                return None
            i += 2 + length
    return None
