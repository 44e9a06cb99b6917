"""The protobuf wire format, in the stdlib: varints, fixed 64-bit doubles, length-delimited
bytes. No schemas here (those are `protoforms.py`), no framing (that is `codec.py`).

Only what the TWS API's messages use: wire types 0 (varint: int32, int64, bool) , 1 (64-bit:
double) and 2 (length-delimited: string, message, map entry). 5 (32-bit) is read and skipped
so a peer's newer schema with a float field does not break the stream.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Final

from ibgateway_sim.wire.fieldcodec import DecodeError

VARINT: Final = 0
FIXED64: Final = 1
LENGTH: Final = 2
FIXED32: Final = 5

_DOUBLE = struct.Struct("<d")
_MASK64: Final = (1 << 64) - 1


def varint(value: int) -> bytes:
    """Base-128 varint; negative numbers as their 64-bit two's complement (int32 and int64
    alike, as protobuf writes them: ten bytes)."""
    value &= _MASK64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint((number << 3) | wire_type)


def field_varint(number: int, value: int) -> bytes:
    return tag(number, VARINT) + varint(value)


def field_double(number: int, value: float) -> bytes:
    return tag(number, FIXED64) + _DOUBLE.pack(value)


def field_bytes(number: int, value: bytes) -> bytes:
    return tag(number, LENGTH) + varint(len(value)) + value


def read_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """(value, next position); raises DecodeError on a truncated or over-long varint."""
    result = shift = 0
    end = len(data)
    while True:
        if pos >= end:
            raise DecodeError("protobuf varint runs past the end of the message")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise DecodeError("protobuf varint longer than ten bytes")


def signed(value: int) -> int:
    """A varint read back as the signed 64-bit integer it encodes."""
    return value - (1 << 64) if value >= 1 << 63 else value


def fields(data: bytes | memoryview) -> Iterator[tuple[int, int, int | float | bytes]]:
    """(field number, wire type, value) for each field of one message, in wire order:
    varints as unsigned ints, doubles as floats, length-delimited values as bytes."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise DecodeError("protobuf field number 0")
        value: int | float | bytes
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == FIXED64:
            if pos + 8 > end:
                raise DecodeError("protobuf double runs past the end of the message")
            (value,) = _DOUBLE.unpack_from(data, pos)
            pos += 8
        elif wire_type == LENGTH:
            size, pos = read_varint(data, pos)
            if pos + size > end:
                raise DecodeError("protobuf length-delimited field runs past the end")
            value = bytes(data[pos : pos + size])
            pos += size
        elif wire_type == FIXED32:
            if pos + 4 > end:
                raise DecodeError("protobuf fixed32 runs past the end of the message")
            value = bytes(data[pos : pos + 4])
            pos += 4
        else:
            raise DecodeError(f"protobuf wire type {wire_type} is not used by the TWS API")
        yield number, wire_type, value
