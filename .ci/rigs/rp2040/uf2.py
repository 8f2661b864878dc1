#!/usr/bin/env python3
"""Converts an RP2040 firmware ELF to UF2 (drag-and-drop onto a Pico in BOOTSEL mode).

    python3 uf2.py <elf> [out.uf2]      (default: <elf>.uf2)

Written from the UF2 specification (github.com/microsoft/uf2, README):
every block is 512 bytes, little-endian:
    0   magic 0x0A324655 ("UF2\\n")      4   magic 0x9E5D5157
    8   flags (0x2000: family ID present)  12  target address
    16  payload size (256 here)          20  block number
    24  number of blocks                 28  family ID (RP2040: 0xE48BFF56)
    32  data, 476 bytes (payload + zero padding)
    508 final magic 0x0AB16F30
The RP2040 boot ROM wants 256-byte payloads at 256-byte-aligned flash
addresses (0x1000_0000..); blocks for other addresses are ignored by it.
This loads the ELF's PT_LOAD segments by physical (load) address, so .data's
initial values land in flash where cortex-m-rt copies them from.
Python 3 standard library only.
"""
import struct
import sys

UF2_MAGIC_START0 = 0x0A324655
UF2_MAGIC_START1 = 0x9E5D5157
UF2_MAGIC_END = 0x0AB16F30
UF2_FLAG_FAMILY_ID = 0x00002000
RP2040_FAMILY_ID = 0xE48BFF56
FLASH_START = 0x10000000
FLASH_END = 0x11000000  # 16 MiB, the most the XIP window can address
PAGE = 256


def load_segments(data):
    """Yields (paddr, bytes) for each PT_LOAD segment with file contents."""
    if data[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    if data[4] != 1 or data[5] != 1:
        raise ValueError("need a little-endian ELF32 file")
    (machine,) = struct.unpack_from("<H", data, 18)
    if machine != 40:
        raise ValueError("e_machine %d is not ARM (40)" % machine)
    phoff, = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    for i in range(phnum):
        p_type, p_offset, _vaddr, p_paddr, p_filesz, _memsz = struct.unpack_from(
            "<IIIIII", data, phoff + i * phentsize
        )
        if p_type == 1 and p_filesz > 0:  # PT_LOAD
            yield p_paddr, data[p_offset : p_offset + p_filesz]


def flash_pages(segments):
    """Maps page address -> 256-byte bytearray (0xff where nothing is loaded)."""
    pages = {}
    for addr, blob in segments:
        if addr < FLASH_START or addr + len(blob) > FLASH_END:
            raise ValueError(
                "segment at 0x%08x (+%d bytes) is not in flash; an RP2040 image "
                "can only carry flash contents" % (addr, len(blob))
            )
        for i, byte in enumerate(blob):
            a = addr + i
            page = pages.setdefault(a - a % PAGE, bytearray(b"\xff" * PAGE))
            page[a % PAGE] = byte
    return pages


def to_uf2(pages):
    addrs = sorted(pages)
    out = bytearray()
    for n, addr in enumerate(addrs):
        header = struct.pack(
            "<8I",
            UF2_MAGIC_START0,
            UF2_MAGIC_START1,
            UF2_FLAG_FAMILY_ID,
            addr,
            PAGE,
            n,
            len(addrs),
            RP2040_FAMILY_ID,
        )
        payload = bytes(pages[addr]).ljust(476, b"\x00")
        out += header + payload + struct.pack("<I", UF2_MAGIC_END)
    return bytes(out)


def boot2_crc_ok(pages):
    """The boot ROM runs the first 256 bytes only if CRC-32/MPEG-2 of bytes 0..252 matches 252..256."""
    page = pages.get(FLASH_START)
    if page is None:
        return False
    crc = 0xFFFFFFFF
    for b in page[:252]:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc == struct.unpack_from("<I", page, 252)[0]


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: uf2.py <elf> [out.uf2]\n")
        return 2
    src = argv[1]
    dst = argv[2] if len(argv) == 3 else src + ".uf2"
    with open(src, "rb") as f:
        data = f.read()
    try:
        pages = flash_pages(load_segments(data))
    except (ValueError, struct.error) as e:
        sys.stderr.write("uf2.py: %s: %s\n" % (src, e))
        return 1
    if not pages:
        sys.stderr.write("uf2.py: %s: nothing to put in flash\n" % src)
        return 1
    if not boot2_crc_ok(pages):
        sys.stderr.write("uf2.py: warning: no valid boot2 at 0x10000000; the RP2040 will not boot it\n")
    blob = to_uf2(pages)
    with open(dst, "wb") as f:
        f.write(blob)
    print("%s: %d blocks, %d bytes of flash (0x%08x..0x%08x)" % (
        dst, len(pages), len(pages) * PAGE, min(pages), max(pages) + PAGE))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
