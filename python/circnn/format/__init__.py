"""circnn.format: what the C runtime reads (include/circnn/model.h): the blob, the firmware
header, the arena rule.

    arena   the arena the runtime needs for a list of ops
    blob    the blob: Op, pack and unpack, the format's constants
    header  the firmware header (the blob as a C array, with macros)
"""
