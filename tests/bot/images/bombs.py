"""Decompression bombs: PNGs of a few kB that decode to hundreds of MB.

Written row by row through zlib, so making one never holds its pixels.
"""

from __future__ import annotations

import struct
import zlib

# Just inside the 64 Mpx header cap: the largest image the bot decodes.
SIDE = 7999
# PNG colour type, bit depth, and bits a pixel takes in the file.
KINDS = {
    "palette": (3, 1, 1),  # 8 kB: the issue's; Pillow converts it to RGBA to fit it
    "grey": (0, 8, 8),
    "rgb": (2, 8, 24),
    "rgba": (6, 8, 32),  # the most bytes per pixel Pillow holds for a PNG
}


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(kind: str = "palette", width: int = SIDE, height: int = SIDE) -> bytes:
    """A PNG of `kind`, every pixel zero (a palette's black; RGBA's transparent)."""
    colour_type, depth, bits = KINDS[kind]
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    chunks = [_chunk(b"IHDR", header)]
    if kind == "palette":
        chunks.append(_chunk(b"PLTE", bytes([0, 0, 0, 255, 255, 255])))
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (width * bits + 7) // 8)  # filter byte, then the pixels
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    chunks += [_chunk(b"IDAT", idat), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)
