"""Generate the C source of the cffi extension from circnn's public headers.

The headers are the single source of truth: their declarations become the
cdef.  Preprocessor lines are dropped, except `#define NAME <integer>` (a
comment may follow), which cffi reads as an integer constant (lib.NAME); the `extern "C" {` guard and its closing
brace are dropped too.  Usage:

    python gen_cffi.py OUT.c MODULE HEADER...
"""
import re
import sys

import cffi

INT_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)\s+\(?-?\d+u?\)?\s*(?:/\*.*\*/\s*)?$")


def cdef_text(header_text):
    lines = []
    for line in header_text.splitlines():
        define = INT_DEFINE.match(line)
        if define:
            lines.append(f"#define {define.group(1)} ...")
        elif line.lstrip().startswith("#") or line.strip() in ('extern "C" {', "}"):
            continue
        else:
            lines.append(line)
    return "\n".join(lines)


def main():
    out_c, module, *headers = sys.argv[1:]
    ffi = cffi.FFI()
    source = []
    for path in headers:
        with open(path, encoding="utf-8") as f:
            ffi.cdef(cdef_text(f.read()))
        source.append('#include "circnn/%s"' % path.replace("\\", "/").rsplit("/", 1)[-1])
    ffi.set_source(module, "\n".join(source) + "\n")
    ffi.emit_c_code(out_c)


if __name__ == "__main__":
    main()
