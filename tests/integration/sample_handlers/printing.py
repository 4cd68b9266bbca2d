"""Writes junk to stdout in every way a handler can, to prove the protocol channel is separate."""

import os
import struct
import sys


def handler(event, context):
    print("plain print to stdout")
    print('{"looks": "like json"}')
    sys.stdout.write("no newline at the end")
    sys.stdout.flush()
    # Bytes that would parse as a frame header if they reached the protocol pipe.
    os.write(1, struct.pack(">I", 5) + b"junk!")
    os.write(2, b"a line on stderr\n")
    return {"answer": 42}
