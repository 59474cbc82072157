/**
 * What a kernel's WGSL says about its interface, read from the source so the shader stays the one place that
 * numbers bindings and lays out uniforms: the `@group(0) @binding(n) var<...> name` declarations and the fields
 * of `struct Params`. Kernel builders then name their buffers and uniform fields (kernel.ts, kernelCall), and a
 * renumbered binding or a reordered Params field cannot silently feed a kernel the wrong buffer.
 *
 * Only what our kernels use is understood: group 0, scalar Params fields of 4 bytes (u32, i32, f32), which WGSL
 * lays out at consecutive 4-byte offsets.
 */

export type BindingKind = 'uniform' | 'read' | 'read_write';

export interface ShaderBinding {
  name: string;
  binding: number;
  kind: BindingKind;
}

export interface ParamsField {
  name: string;
  type: 'u32' | 'i32' | 'f32';
  /** Byte offset in the uniform buffer. */
  offset: number;
}

export interface ShaderInterface {
  /** By variable name. */
  bindings: Map<string, ShaderBinding>;
  /** The fields of `struct Params`, in order (empty when the shader has none). */
  params: ParamsField[];
  /** Bytes of the Params uniform buffer (a multiple of 16, as uniform buffers want). */
  paramsBytes: number;
}

const BINDING =
  /@group\(\s*0\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var\s*<\s*(uniform|storage)\s*(?:,\s*(read|read_write)\s*)?>\s*(\w+)/g;
const PARAMS = /struct\s+Params\s*\{([^}]*)\}/;

/** Strips `//` comments so commented-out declarations are not read. */
function stripComments(source: string): string {
  return source.replace(/\/\/[^\n]*/g, '');
}

export function reflectShader(source: string, file = 'shader'): ShaderInterface {
  const code = stripComments(source);
  const bindings = new Map<string, ShaderBinding>();
  const numbers = new Set<number>();
  for (const m of code.matchAll(BINDING)) {
    const [, binding, space, access, name] = m;
    const kind: BindingKind = space === 'uniform' ? 'uniform' : access === 'read_write' ? 'read_write' : 'read';
    const n = Number(binding);
    if (bindings.has(name)) throw new Error(`shaders/${file}: binding name "${name}" is declared twice`);
    if (numbers.has(n)) throw new Error(`shaders/${file}: @binding(${n}) is declared twice`);
    bindings.set(name, { name, binding: n, kind });
    numbers.add(n);
  }
  const params: ParamsField[] = [];
  const struct = PARAMS.exec(code);
  if (struct) {
    for (const raw of struct[1].split(',')) {
      const field = raw.trim();
      if (!field) continue;
      const m = /^(\w+)\s*:\s*(\w+)$/.exec(field);
      if (!m || !['u32', 'i32', 'f32'].includes(m[2])) {
        throw new Error(`shaders/${file}: Params field "${field}" is not a u32, i32 or f32 scalar`);
      }
      params.push({ name: m[1], type: m[2] as ParamsField['type'], offset: 4 * params.length });
    }
  }
  return { bindings, params, paramsBytes: Math.max(16, Math.ceil((4 * params.length) / 16) * 16) };
}

/** The Params uniform's bytes from named values; every field must be given, and nothing else. */
export function packParams(
  iface: ShaderInterface,
  values: Readonly<Record<string, number>>,
  label: string,
): ArrayBuffer {
  const bytes = new ArrayBuffer(iface.paramsBytes);
  const view = new DataView(bytes);
  const known = new Set(iface.params.map((f) => f.name));
  for (const name of Object.keys(values)) {
    if (!known.has(name))
      throw new Error(`${label}: the shader's Params has no field "${name}" (has ${[...known].join(', ')})`);
  }
  for (const field of iface.params) {
    const value = values[field.name];
    if (value === undefined) throw new Error(`${label}: Params field "${field.name}" was not given`);
    if (field.type === 'f32') view.setFloat32(field.offset, value, true);
    else if (!Number.isInteger(value))
      throw new Error(`${label}: Params.${field.name} (${field.type}) = ${value}: not an integer`);
    else if (field.type === 'u32') {
      if (value < 0 || value > 0xffffffff)
        throw new Error(`${label}: Params.${field.name} = ${value} does not fit a u32`);
      view.setUint32(field.offset, value, true);
    } else view.setInt32(field.offset, value, true);
  }
  return bytes;
}
