#!/usr/bin/env python3
"""Count instruction classes per kernel in an sm_90 cubin without a disassembler.

Development machines have nvcc and ptxas but neither cuobjdump nor nvdisasm. Hopper SASS is a
sequence of 128-bit instructions whose low 12 bits are the opcode; this script reads each kernel's
.text section from the cubin (ELF) and counts the opcodes named below. The names are established by
exact counts in dense_flash's kernels, not by documentation: 0x23c appears 128 times in the D = 128
kernel (8 k-steps × 8 n8-tiles for S plus 4 k-steps × 16 n8-tiles for O: 128 mma.sync) and 64 times
in the D = 64 one; 0x83b appears 72 = 8 (Q) + 32 (K) + 32 (V) times: ldmatrix.x4. On a machine with
cuobjdump, `cuobjdump -sass` is the authority (scripts/gpu-check.d/20-dense-flash.sh runs it).

usage: sass_opcodes.py KERNELS.cubin      (nvcc -cubin -gencode=arch=compute_90,code=sm_90 ...)
"""
import collections
import struct
import subprocess
import sys

NAMES = {0x23C: "HMMA", 0x83B: "LDSM", 0xFAE: "LDGSTS", 0x308: "MUFU", 0x983: "LDL", 0x387: "STL"}


def sections(data):
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    heads = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = heads[shstrndx][4]
    for name, _, _, _, offset, size in heads:
        raw = data[strtab + name:]
        yield raw[: raw.index(b"\0")].decode(), offset, size


def main():
    data = open(sys.argv[1], "rb").read()
    print(f"{'instructions':>12} " + " ".join(f"{n:>6}" for n in NAMES.values()) + "  kernel")
    for name, offset, size in sections(data):
        if not name.startswith(".text."):
            continue
        counts = collections.Counter(struct.unpack_from("<Q", data, i)[0] & 0xFFF for i in range(offset, offset + size, 16))
        symbol = name[len(".text."):]
        try:
            symbol = subprocess.run(["c++filt", symbol], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            pass
        print(f"{size // 16:>12} " + " ".join(f"{counts[o]:>6}" for o in NAMES) + "  " + symbol)


if __name__ == "__main__":
    main()
