#!/usr/bin/env python3
"""Writes the small decoder test images of image_preprocess_test.cc.

PNG and BMP files are written byte by byte here, so their pixels follow
from the formulas below; the GIF and JPEG files come from ImageMagick 6
(convert-im6.q16). Expected decodes (PIL's convert("RGB")): 16-bit samples
keep their high byte, palettes are looked up, alpha is dropped.
Run from this folder: python3 make_image_extra.py
"""
import struct
import subprocess
import zlib

W, H = 8, 6


def rgb8(x, y):
    return (x * 30 + 5, y * 40 + 3, (x * y * 7 + 11) % 256)


def gray8(x, y):
    return x * 30 + y * 5


def low(x, y):  # the low byte of 16-bit samples, dropped by the decoder
    return (x * 13 + y * 17 + 1) % 256


PALETTE = [(i * 50, 255 - i * 40, i * 17) for i in range(5)]


def pal_index(x, y):
    return (x + y) % 5


def gif_colour(i):
    return (i * 30, 200 - i * 20, 7 + i * 9)


def gif_index(x, y):
    return (x + 2 * y) % 8


def gif_lzw(indices, min_size):
    """LZW without compression: a clear code every 4 literals keeps the
    code size at min_size + 1 bits."""
    clear, end, bits = 1 << min_size, (1 << min_size) + 1, min_size + 1
    codes = []
    for i, v in enumerate(indices):
        if i % 4 == 0:
            codes.append(clear)
        codes.append(v)
    codes.append(end)
    acc = nbits = 0
    out = bytearray()
    for c in codes:
        acc |= c << nbits
        nbits += bits
        while nbits >= 8:
            out.append(acc & 255)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 255)
    data = bytes([min_size]) + bytes([len(out)]) + bytes(out) + b"\0"
    assert len(out) < 256
    return data


def chunk(kind, data):
    c = kind + data
    return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c))


def png(path, color_type, depth, rows, extra=b"", interlace=0, w=W, h=H):
    """rows: list of bytes per row (already packed), filter 0 added here."""
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, interlace)
    raw = b"".join(b"\0" + r for r in rows)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    open(path, "wb").write(data)


def rows_of(fn):
    return [bytes(v for x in range(W) for v in fn(x, y)) for y in range(H)]


def main():
    # 8-bit RGB, the reference pattern.
    png("rgb8.png", 2, 8, rows_of(rgb8))
    # 16-bit RGB: high byte = rgb8, low byte noise.
    png("rgb16.png", 2, 16, rows_of(
        lambda x, y: [b for v in rgb8(x, y) for b in (v, low(x, y))]))
    # 16-bit RGBA, alpha 0 on some pixels: colour kept.
    png("rgba16.png", 6, 16, rows_of(
        lambda x, y: [b for v in rgb8(x, y) + ((x % 3) * 100,)
                      for b in (v, low(x, y))]))
    # 8-bit RGBA.
    png("rgba8.png", 6, 8, rows_of(lambda x, y: rgb8(x, y) + ((y % 2) * 255,)))
    # Grayscale 8, 16 (high byte), 2-bit (0..3 -> 0, 85, 170, 255) and gray+alpha.
    png("gray8.png", 0, 8, rows_of(lambda x, y: (gray8(x, y),)))
    png("gray16.png", 0, 16, rows_of(lambda x, y: (gray8(x, y), low(x, y))))
    rows2 = []
    for y in range(H):
        v = 0
        for x in range(W):
            v = (v << 2) | ((x + y) % 4)
        rows2.append(v.to_bytes(2, "big"))
    png("gray2.png", 0, 2, rows2)
    png("gray_alpha8.png", 4, 8, rows_of(lambda x, y: (gray8(x, y), x * 20)))
    # Palette with tRNS (index 2 transparent): the palette colour is kept.
    plte = chunk(b"PLTE", bytes(v for c in PALETTE for v in c))
    trns = chunk(b"tRNS", bytes([255, 128, 0]))
    png("palette.png", 3, 8, rows_of(lambda x, y: (pal_index(x, y),)),
        extra=plte + trns)
    # Adam7-interlaced 8-bit RGB.
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
              (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        xs = list(range(x0, W, dx))
        ys = list(range(y0, H, dy))
        if not xs or not ys:
            continue
        for y in ys:
            raw += b"\0" + bytes(v for x in xs for v in rgb8(x, y))
    ihdr = struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 1)
    open("interlaced.png", "wb").write(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
        chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    # A valid header claiming 100000 x 100000 pixels, then nothing.
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    open("giant_header.png", "wb").write(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    # 24-bit BMP, bottom-up, rows padded to 4 bytes.
    stride = (W * 3 + 3) // 4 * 4
    pix = b""
    for y in reversed(range(H)):
        row = bytes(v for x in range(W) for v in reversed(rgb8(x, y)))
        pix += row + b"\0" * (stride - len(row))
    hdr = struct.pack("<2sIHHI", b"BM", 54 + len(pix), 0, 0, 54)
    dib = struct.pack("<IiiHHIIiiII", 40, W, H, 1, 24, 0, len(pix), 2835,
                      2835, 0, 0)
    open("rgb24.bmp", "wb").write(hdr + dib + pix)
    # GIF whose first frame (4x3 at (2, 1)) is smaller than the 8x6 canvas,
    # with transparency index 3 and background index 5: PIL shows palette
    # colour 3 outside the frame and on transparent pixels.
    pal8 = bytes(v for i in range(8) for v in gif_colour(i))
    gce = b"\x21\xf9\x04\x01\x00\x00\x03\x00"
    desc = b"\x2c" + struct.pack("<HHHHB", 2, 1, 4, 3, 0)
    idx = [gif_index(x, y) for y in range(1, 4) for x in range(2, 6)]
    open("transparent.gif", "wb").write(
        b"GIF89a" + struct.pack("<HHBBB", 8, 6, 0xf2, 5, 0) + pal8 + gce +
        desc + gif_lzw(idx, 3) + b"\x3b")
    # GIF (48 colours: lossless) and JPEGs from ImageMagick.
    im = "convert-im6.q16"
    subprocess.check_call([im, "rgb8.png", "rgb8.gif"])
    subprocess.check_call([im, "-size", "32x24", "gradient:#3080c0-#e0a040",
                           "-quality", "95", "smooth.jpg"])
    subprocess.check_call([im, "smooth.jpg", "-colorspace", "Gray",
                           "-quality", "95", "gray.jpg"])
    subprocess.check_call([im, "smooth.jpg", "-colorspace", "CMYK",
                           "-quality", "95", "cmyk.jpg"])
    subprocess.check_call([im, "smooth.jpg", "-interlace", "JPEG",
                           "-quality", "95", "progressive.jpg"])


if __name__ == "__main__":
    main()
