import { describe, expect, it } from 'vitest';
import { initLoraAdapter } from '../llm/lora';
import { Rng } from '../util/rng';
import { decodePeft, decodeSafetensors, encodeCritic, encodePeft, encodeSafetensors, peftName } from './twosome-peft';

const MODEL = { hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, headDim: 16, layers: 2 };

describe('safetensors and PEFT export', () => {
  it('safetensors: u64 header length, 8-aligned JSON header, F32 little-endian data, round trip', () => {
    const t = [
      { name: 'b', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { name: 'a', shape: [1], data: Float32Array.from([-0.5]) },
    ];
    const bytes = encodeSafetensors(t);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header.a).toEqual({ dtype: 'F32', shape: [1], data_offsets: [0, 4] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [4, 28] });
    expect(bytes.length).toBe(8 + n + 28);
    expect(new DataView(bytes.buffer).getFloat32(8 + n, true)).toBe(-0.5);
    const back = decodeSafetensors(bytes);
    expect(back.tensors.get('b')).toEqual(t[0]);
    expect(() => encodeSafetensors([{ name: 'x', shape: [2], data: new Float32Array(3) }])).toThrow(/holds 2 values/);
  });

  it('PEFT: adapter_config.json fields and the q/v tensor names and shapes; reads back bound to the model', () => {
    const adapter = initLoraAdapter(MODEL, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, new Rng(3));
    adapter.modules.forEach((m, i) => m.b.fill(i + 0.25));
    const files = encodePeft(adapter, 'twosome-web/micro');
    const config = JSON.parse(files.config);
    expect(config).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: 'twosome-web/micro', task_type: 'CAUSAL_LM', bias: 'none' });
    const { tensors } = decodeSafetensors(files.weights);
    expect(tensors.size).toBe(8);
    expect(peftName(1, 'v_proj', 'B')).toBe('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight');
    expect(tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape).toEqual([8, 64]);
    expect(tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')?.shape).toEqual([64, 8]);
    expect(tensors.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')?.shape).toEqual([32, 8]);
    const back = decodePeft(files.config, files.weights, MODEL);
    expect(back.scale).toBe(2);
    back.modules.forEach((m, i) => {
      expect(m.layer).toBe(adapter.modules[i].layer);
      expect(m.slice).toEqual(adapter.modules[i].slice);
      expect(m.a).toEqual(adapter.modules[i].a);
      expect(m.b).toEqual(adapter.modules[i].b);
    });
    expect(() => decodePeft(files.config, files.weights, { ...MODEL, hidden: 32, headDim: 8 })).toThrow(/shape/);
    expect(() => decodePeft(files.config, files.weights, { ...MODEL, layers: 3 })).toThrow(/missing .*layers\.2/);
    expect(() => decodePeft(files.config, files.weights, { ...MODEL, layers: 1 })).toThrow(/more layers/);
    expect(() => decodePeft('{"peft_type":"IA3"}', files.weights, MODEL)).toThrow(/LORA/);
  });

  it('critic: one [out, in] tensor per layer', () => {
    const bytes = encodeCritic({ sizes: [4, 3, 1], weights: [new Float32Array(12).fill(1), new Float32Array(3).fill(2)] });
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(tensors.get('critic.0.weight')?.shape).toEqual([3, 4]);
    expect(tensors.get('critic.2.weight')?.data).toEqual(new Float32Array(3).fill(2));
    expect(metadata.sizes).toBe('4,3,1');
  });
});
