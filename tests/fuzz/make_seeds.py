#!/usr/bin/env python3
"""Write a small seed corpus for the decode_tile fuzz target (Python standard library only).

Usage: python3 tests/fuzz/make_seeds.py tests/fuzz/corpus/decode_tile [extra files to copy...]
PNGs of every colour type and bit depth (one APNG), uncompressed TIFFs (8-bit RGB, 16-bit grey,
two pages, tiled), and the given files (e.g. one or two small shared JPEG fixtures).
"""
import shutil, struct, sys, zlib, os

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

def png(w, h, ctype, depth, extra=b"", plte=False, apng=False):
    ch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    bpp = max(1, ch * depth // 8)
    rows = b"".join(b"\0" + bytes(((x * 7 + y * 13) & 0xff) for x in range(w * bpp)) for y in range(h))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
    if plte:
        out += chunk(b"PLTE", bytes((i * 3) & 0xff for i in range(768)))
        out += chunk(b"tRNS", bytes(range(16)))
    if apng:
        out += chunk(b"acTL", struct.pack(">II", 2, 0))
        out += chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, w, h, 0, 0, 1, 10, 0, 0))
    out += extra + chunk(b"IDAT", zlib.compress(rows))
    if apng:
        out += chunk(b"fcTL", struct.pack(">IIIIIHHBB", 1, w, h, 0, 0, 1, 10, 0, 0))
        out += chunk(b"fdAT", struct.pack(">I", 2) + zlib.compress(rows))
    return out + chunk(b"IEND", b"")

def tiff(w, h, spp, bits, pages=1, tiled=False):
    """Little-endian baseline TIFF, uncompressed, one strip per page (or 16x16 tiles)."""
    bps = bits // 8
    data = bytes(((i * 31) & 0xff) for i in range(w * h * spp * bps))
    out = bytearray(b"II*\0" + struct.pack("<I", 0))
    offsets = []
    for p in range(pages):
        offsets.append(len(out)); out += data
    ifd_pos = []
    for p in range(pages):
        if len(out) % 2: out += b"\0"
        ifd_pos.append(len(out))
        tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, bits), (259, 3, 1, 1),
                (262, 3, 1, 2 if spp == 3 else 1), (277, 3, 1, spp)]
        if tiled:
            tags += [(322, 3, 1, 16), (323, 3, 1, 16), (324, 4, 1, offsets[p]), (325, 4, 1, len(data))]
        else:
            tags += [(273, 4, 1, offsets[p]), (278, 3, 1, h), (279, 4, 1, len(data))]
        tags.sort()
        out += struct.pack("<H", len(tags))
        for t, typ, n, v in tags:
            out += struct.pack("<HHI", t, typ, n) + (struct.pack("<HH", v, 0) if typ == 3 else struct.pack("<I", v))
        out += struct.pack("<I", 0)
    struct.pack_into("<I", out, 4, ifd_pos[0])
    for a, b in zip(ifd_pos, ifd_pos[1:]):
        n = struct.unpack_from("<H", out, a)[0]
        struct.pack_into("<I", out, a + 2 + 12 * n, b)
    return bytes(out)

def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    seeds = {
        "gray8.png": png(40, 30, 0, 8), "gray16.png": png(40, 30, 0, 16), "rgb8.png": png(40, 30, 2, 8),
        "rgb16.png": png(20, 70, 2, 16), "pal.png": png(33, 17, 3, 8, plte=True), "pal4.png": png(33, 17, 3, 4, plte=True),
        "graya.png": png(40, 30, 4, 8), "rgba16.png": png(16, 16, 6, 16), "apng.png": png(24, 24, 2, 8, apng=True),
        "gray1.png": png(50, 9, 0, 1),
        "rgb8.tif": tiff(40, 30, 3, 8), "gray16.tif": tiff(40, 30, 1, 16), "pages.tif": tiff(20, 20, 3, 8, pages=2),
        "tiled.tif": tiff(32, 32, 3, 8, tiled=True),
    }
    for k, v in seeds.items():
        open(os.path.join(d, k), "wb").write(v)
    for f in sys.argv[2:]:
        shutil.copy(f, os.path.join(d, os.path.basename(f)))
    print(f"{len(seeds) + len(sys.argv[2:])} seeds in {d}")

main()
