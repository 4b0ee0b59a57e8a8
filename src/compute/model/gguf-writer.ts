// A deterministic GGUF v3 encoder: the same metadata and tensors always give the same bytes.
// Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (little-endian throughout).
import { endianness } from 'node:os';

/** GGUF metadata value type ids, as in the specification. */
const ValueType = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

type ScalarNumberType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

const BYTE_SIZE: Record<ScalarNumberType, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  float64: 8,
};

export type GgufValue =
  | { readonly type: ScalarNumberType; readonly value: number }
  | { readonly type: 'uint64' | 'int64'; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'array'; readonly itemType: ScalarNumberType; readonly value: readonly number[] }
  | { readonly type: 'array'; readonly itemType: 'string'; readonly value: readonly string[] };

/** One F32 tensor; `dims` are ne0-first (the fastest-varying dimension first), as GGUF stores them. */
export interface GgufTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export interface GgufDocument {
  /** Written in this order; `general.alignment` is added when `alignment` is not the default 32. */
  readonly metadata: ReadonlyArray<readonly [key: string, value: GgufValue]>;
  readonly tensors: readonly GgufTensor[];
  readonly alignment?: number;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const GGUF_VERSION = 3;
const GGML_TYPE_F32 = 0;
const DEFAULT_ALIGNMENT = 32;
const LITTLE_ENDIAN = endianness() === 'LE';

/** Appends little-endian values to a growing buffer. */
class ByteSink {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  number(type: ScalarNumberType, value: number): void {
    const size = BYTE_SIZE[type];
    this.reserve(size);
    const at = this.length;
    if (type === 'uint8') this.view.setUint8(at, value);
    else if (type === 'int8') this.view.setInt8(at, value);
    else if (type === 'uint16') this.view.setUint16(at, value, true);
    else if (type === 'int16') this.view.setInt16(at, value, true);
    else if (type === 'uint32') this.view.setUint32(at, value, true);
    else if (type === 'int32') this.view.setInt32(at, value, true);
    else if (type === 'float32') this.view.setFloat32(at, value, true);
    else this.view.setFloat64(at, value, true);
    this.length += size;
  }

  bigint(type: 'uint64' | 'int64', value: bigint): void {
    this.reserve(8);
    if (type === 'uint64') this.view.setBigUint64(this.length, value, true);
    else this.view.setBigInt64(this.length, value, true);
    this.length += 8;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  string(value: string): void {
    const encoded = new TextEncoder().encode(value);
    this.bigint('uint64', BigInt(encoded.length));
    this.bytes(encoded);
  }

  padTo(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    this.bytes(new Uint8Array(padding));
  }

  result(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

function writeValue(sink: ByteSink, value: GgufValue): void {
  sink.number('uint32', ValueType[value.type]);
  switch (value.type) {
    case 'array':
      sink.number('uint32', ValueType[value.itemType]);
      sink.bigint('uint64', BigInt(value.value.length));
      if (value.itemType === 'string') for (const item of value.value) sink.string(item);
      else for (const item of value.value) sink.number(value.itemType, item);
      return;
    case 'uint64':
    case 'int64':
      sink.bigint(value.type, value.value);
      return;
    case 'bool':
      sink.number('uint8', value.value ? 1 : 0);
      return;
    case 'string':
      sink.string(value.value);
      return;
    default:
      sink.number(value.type, value.value);
  }
}

function checkTensor(tensor: GgufTensor): void {
  const elements = tensor.dims.reduce((product, dim) => product * dim, 1);
  if (
    tensor.dims.length === 0 ||
    tensor.dims.length > 4 ||
    !tensor.dims.every((d) => Number.isInteger(d) && d > 0)
  )
    throw new RangeError(`tensor ${tensor.name}: dims must be 1 to 4 positive integers`);
  if (elements !== tensor.data.length)
    throw new RangeError(
      `tensor ${tensor.name}: ${tensor.data.length} values for dims ${tensor.dims.join('x')}`,
    );
}

/** Serialises a document to GGUF v3 bytes (F32 tensors only). */
export function encodeGguf(document: GgufDocument): Uint8Array {
  const alignment = document.alignment ?? DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0)
    throw new RangeError('alignment must be a positive multiple of 8');
  const names = new Set<string>();
  for (const tensor of document.tensors) {
    checkTensor(tensor);
    if (names.has(tensor.name)) throw new RangeError(`duplicate tensor ${tensor.name}`);
    names.add(tensor.name);
  }
  const metadata = [...document.metadata];
  if (alignment !== DEFAULT_ALIGNMENT)
    metadata.push(['general.alignment', { type: 'uint32', value: alignment }]);

  const sink = new ByteSink();
  sink.number('uint32', GGUF_MAGIC);
  sink.number('uint32', GGUF_VERSION);
  sink.bigint('uint64', BigInt(document.tensors.length));
  sink.bigint('uint64', BigInt(metadata.length));
  for (const [key, value] of metadata) {
    sink.string(key);
    writeValue(sink, value);
  }
  // Tensor offsets are relative to the start of the data section; each tensor starts aligned.
  let offset = 0;
  for (const tensor of document.tensors) {
    sink.string(tensor.name);
    sink.number('uint32', tensor.dims.length);
    for (const dim of tensor.dims) sink.bigint('uint64', BigInt(dim));
    sink.number('uint32', GGML_TYPE_F32);
    sink.bigint('uint64', BigInt(offset));
    offset += Math.ceil(tensor.data.byteLength / alignment) * alignment;
  }
  sink.padTo(alignment);
  sink.reserve(offset); // the tensors, in one allocation rather than doubling through them
  for (const tensor of document.tensors) {
    // Float32Array is platform-endian: its bytes are the file's only on a little-endian machine.
    if (LITTLE_ENDIAN)
      sink.bytes(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
    else for (const value of tensor.data) sink.number('float32', value);
    sink.padTo(alignment);
  }
  return sink.result();
}
