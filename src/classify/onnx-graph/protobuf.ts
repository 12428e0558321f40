/**
 * The protobuf wire format, field by field (https://protobuf.dev/programming-guides/encoding/):
 * enough to take an ONNX ModelProto apart, change some messages and put it back together, with
 * every field this code does not touch kept as the bytes it was read as. No schema, no
 * protobuf library: ONNX's field numbers are named where they are used (model.ts).
 */

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

/** One field as read: its number, wire type and value bytes (a varint's own bytes for VARINT). */
export interface Field {
  no: number;
  wire: number;
  value: Uint8Array;
}

export class ProtobufError extends Error {
  readonly code = "protobuf_malformed";
}

function readVarint(buf: Uint8Array, at: number): { value: bigint; end: number } {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const byte = buf[i]!;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value, end: i + 1 };
    shift += 7n;
  }
  throw new ProtobufError(`truncated or over-long varint at byte ${at}`);
}

export function encodeVarint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Uint8Array.from(out);
}

/** Splits a message into its fields, in the order they were written. Values are views of `buf`. */
export function decodeFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const key = readVarint(buf, at);
    const no = Number(key.value >> 3n);
    const wire = Number(key.value & 7n);
    at = key.end;
    let end: number;
    if (wire === VARINT) end = readVarint(buf, at).end;
    else if (wire === FIXED64) end = at + 8;
    else if (wire === FIXED32) end = at + 4;
    else if (wire === LEN) {
      const len = readVarint(buf, at);
      at = len.end;
      end = at + Number(len.value);
    } else throw new ProtobufError(`unsupported wire type ${wire} for field ${no}`);
    if (end > buf.length || no === 0) throw new ProtobufError(`field ${no} runs past the message`);
    fields.push({ no, wire, value: buf.subarray(at, end) });
    at = end;
  }
  return fields;
}

/** Writes fields back; `encodeFields(decodeFields(b))` gives `b` for canonically encoded input. */
export function encodeFields(fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    parts.push(encodeVarint((f.no << 3) | f.wire));
    if (f.wire === LEN) parts.push(encodeVarint(f.value.length));
    parts.push(f.value);
  }
  return Buffer.concat(parts);
}

export function varintValue(f: Field): bigint {
  return readVarint(f.value, 0).value;
}

export function stringValue(f: Field): string {
  return Buffer.from(f.value).toString("utf8");
}

export function lenField(no: number, value: Uint8Array | string): Field {
  return { no, wire: LEN, value: typeof value === "string" ? Buffer.from(value, "utf8") : value };
}

export function varintField(no: number, value: number | bigint): Field {
  return { no, wire: VARINT, value: encodeVarint(value) };
}

export function float32Field(no: number, value: number): Field {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value, 0);
  return { no, wire: FIXED32, value: b };
}

/** A repeated integer field's values, whether written packed (LEN) or one varint per field. */
export function repeatedVarints(fields: readonly Field[], no: number): bigint[] {
  const out: bigint[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === VARINT) out.push(varintValue(f));
    else if (f.wire === LEN) {
      let at = 0;
      while (at < f.value.length) {
        const v = readVarint(f.value, at);
        out.push(v.value);
        at = v.end;
      }
    }
  }
  return out;
}
