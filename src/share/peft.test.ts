import { describe, expect, it } from 'vitest';
import { architectureConfig } from '../llm/model/catalog';
import { loraParameterCount } from '../llm/train/lora';
import {
  adapterWeightsOf,
  baseModelMismatch,
  baseModelName,
  bindAdapter,
  catalogModelsForBase,
  checkBaseModel,
  replaceAdapterWeights,
} from './adapter';
import { float32ToBytes, float32ToHalfBytes } from './bytes';
import { AdapterFormatError } from './errors';
import { decodePeftAdapter, encodePeftAdapter, parsePeftConfig, peftTensorName } from './peft';
import { readSafetensors, writeSafetensors, type SafetensorsEntry } from './safetensors';
import { ALL_TARGETS, MICRO, QV, TINY, trainedAdapter } from './testing';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * What PEFT writes for the micro model's q,v r = 8 adapter (safetensors header as safetensors.torch.save_file
 * serializes PeftModel.save_pretrained's state dict, with metadata {"format": "pt"}), written out by hand from
 * the documented layout: names base_model.model.model.layers.{i}.self_attn.{q,v}_proj.lora_{A,B}.weight, A
 * [r, in], B [out, r], sorted by name, offsets in that order, padded with spaces to a multiple of 8.
 */
const PEFT_REFERENCE_HEADER =
  '{"__metadata__":{"format":"pt"},' +
  '"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight":{"dtype":"F32","shape":[8,64],"data_offsets":[0,2048]},' +
  '"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight":{"dtype":"F32","shape":[64,8],"data_offsets":[2048,4096]},' +
  '"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight":{"dtype":"F32","shape":[8,64],"data_offsets":[4096,6144]},' +
  '"base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight":{"dtype":"F32","shape":[32,8],"data_offsets":[6144,7168]},' +
  '"base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight":{"dtype":"F32","shape":[8,64],"data_offsets":[7168,9216]},' +
  '"base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight":{"dtype":"F32","shape":[64,8],"data_offsets":[9216,11264]},' +
  '"base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight":{"dtype":"F32","shape":[8,64],"data_offsets":[11264,13312]},' +
  '"base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight":{"dtype":"F32","shape":[32,8],"data_offsets":[13312,14336]}}';

/** adapter_config.json as PEFT's LoraConfig.save_pretrained writes it (json.dumps(indent=2, sort_keys=True)). */
const PEFT_REFERENCE_CONFIG = `{
  "alpha_pattern": {},
  "auto_mapping": null,
  "base_model_name_or_path": "meta-llama/Llama-3.2-1B-Instruct",
  "bias": "none",
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layers_pattern": null,
  "layers_to_transform": null,
  "loftq_config": {},
  "lora_alpha": 16,
  "lora_dropout": 0,
  "megatron_config": null,
  "megatron_core": "megatron.core",
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 8,
  "rank_pattern": {},
  "revision": null,
  "target_modules": [
    "q_proj",
    "v_proj"
  ],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": false
}`;

describe('PEFT layout', () => {
  it('writes the documented tensor names, shapes, order and header, byte for byte', () => {
    const adapter = trainedAdapter(MICRO, QV);
    const files = encodePeftAdapter(adapter, { baseModel: 'micro' });
    const n = PEFT_REFERENCE_HEADER.length + ((8 - (PEFT_REFERENCE_HEADER.length % 8)) % 8);
    expect(new DataView(files.weights.buffer).getUint32(0, true)).toBe(n);
    expect(text(files.weights.subarray(8, 8 + n))).toBe(PEFT_REFERENCE_HEADER.padEnd(n, ' '));
    expect(files.weights.length).toBe(8 + n + 14336);
    // The data: layer 0 q A, q B, v A, v B, then layer 1, each row-major float32 little-endian.
    const expected = adapter.modules.flatMap((m) => [float32ToBytes(m.a), float32ToBytes(m.b)]);
    let at = 8 + n;
    for (const e of expected) {
      expect(files.weights.subarray(at, at + e.length)).toEqual(e);
      at += e.length;
    }
  });

  it('writes adapter_config.json as PEFT does', () => {
    const files = encodePeftAdapter(trainedAdapter(MICRO, QV), { baseModel: 'meta-llama/Llama-3.2-1B-Instruct' });
    expect(files.config).toBe(PEFT_REFERENCE_CONFIG);
  });

  it('names every target as PEFT does for LlamaForCausalLM', () => {
    expect(peftTensorName(3, 'k_proj', 'A')).toBe('base_model.model.model.layers.3.self_attn.k_proj.lora_A.weight');
    expect(peftTensorName(0, 'o_proj', 'B')).toBe('base_model.model.model.layers.0.self_attn.o_proj.lora_B.weight');
    expect(peftTensorName(15, 'gate_proj', 'A')).toBe('base_model.model.model.layers.15.mlp.gate_proj.lora_A.weight');
    expect(peftTensorName(1, 'up_proj', 'B')).toBe('base_model.model.model.layers.1.mlp.up_proj.lora_B.weight');
    expect(peftTensorName(2, 'down_proj', 'A')).toBe('base_model.model.model.layers.2.mlp.down_proj.lora_A.weight');
  });

  it('gives Llama-3.2-1B shapes as the HF model has them ([r, in], [out, r]; GQA k/v 512 wide)', () => {
    const cfg = architectureConfig('Llama-3.2-1B-Instruct-q4f16_1-MLC');
    const shape = { ...cfg, layers: 1 };
    const adapter = trainedAdapter(shape, { ...ALL_TARGETS, r: 8 });
    const file = readSafetensors(
      encodePeftAdapter(adapter, { baseModel: baseModelName('Llama-3.2-1B-Instruct-q4f16_1-MLC') }).weights,
      'x',
    );
    const shapes = Object.fromEntries(
      file.header.tensors.map((t) => [t.name.replace('base_model.model.model.layers.0.', ''), t.shape]),
    );
    expect(shapes).toEqual({
      'self_attn.q_proj.lora_A.weight': [8, 2048],
      'self_attn.q_proj.lora_B.weight': [2048, 8],
      'self_attn.k_proj.lora_A.weight': [8, 2048],
      'self_attn.k_proj.lora_B.weight': [512, 8],
      'self_attn.v_proj.lora_A.weight': [8, 2048],
      'self_attn.v_proj.lora_B.weight': [512, 8],
      'self_attn.o_proj.lora_A.weight': [8, 2048],
      'self_attn.o_proj.lora_B.weight': [2048, 8],
      'mlp.gate_proj.lora_A.weight': [8, 2048],
      'mlp.gate_proj.lora_B.weight': [8192, 8],
      'mlp.up_proj.lora_A.weight': [8, 2048],
      'mlp.up_proj.lora_B.weight': [8192, 8],
      'mlp.down_proj.lora_A.weight': [8, 8192],
      'mlp.down_proj.lora_B.weight': [2048, 8],
    });
    expect(baseModelName('Llama-3.2-1B-Instruct-q4f16_1-MLC')).toBe('meta-llama/Llama-3.2-1B-Instruct');
  });

  it('orders 12 layers by name bytes ("layers.10" before "layers.2"), as safetensors does', () => {
    const adapter = trainedAdapter({ ...TINY, layers: 12 }, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'] });
    const file = readSafetensors(encodePeftAdapter(adapter, { baseModel: null }).weights, 'x');
    const layersInOrder = file.header.tensors
      .filter((t) => t.name.endsWith('lora_A.weight'))
      .map((t) => Number(/layers\.(\d+)/.exec(t.name)![1]));
    expect(layersInOrder).toEqual([0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('PEFT round trip', () => {
  it('decodes what it encodes, bit for bit, for every target', () => {
    const adapter = trainedAdapter(TINY, ALL_TARGETS, 5);
    const files = encodePeftAdapter(adapter, { baseModel: 'micro' });
    const decoded = decodePeftAdapter({ config: files.config, weights: files.weights });
    expect(decoded.baseModel).toBe('micro');
    expect(decoded.dtype).toBe('F32');
    expect(decoded.warnings).toEqual([]);
    const bound = bindAdapter(decoded.weights, TINY, 'x');
    expect(bound.config).toEqual(adapter.config);
    expect(bound.scale).toBe(adapter.scale);
    expect(bound.modules.map((m) => m.slice)).toEqual(adapter.modules.map((m) => m.slice));
    bound.modules.forEach((m, i) => {
      expect(float32ToBytes(m.a)).toEqual(float32ToBytes(adapter.modules[i].a));
      expect(float32ToBytes(m.b)).toEqual(float32ToBytes(adapter.modules[i].b));
    });
    expect(loraParameterCount(bound)).toBe(loraParameterCount(adapter));
    // Re-encoding gives the same bytes.
    expect(encodePeftAdapter(bound, { baseModel: 'micro' })).toEqual(files);
  });

  it('reads F16 and BF16 adapters into float32 (within half an ulp)', () => {
    const adapter = trainedAdapter(TINY, QV, 7);
    for (const dtype of ['F16', 'BF16'] as const) {
      const files = encodePeftAdapter(adapter, { baseModel: null, dtype });
      const decoded = decodePeftAdapter({ config: files.config, weights: files.weights });
      expect(decoded.dtype).toBe(dtype);
      decoded.weights.modules.forEach((m, i) => {
        const a = adapter.modules[i].a;
        for (let k = 0; k < a.length; k++)
          expect(Math.abs(m.a[k] - a[k])).toBeLessThanOrEqual(
            Math.abs(a[k]) * (dtype === 'F16' ? 2 ** -11 : 2 ** -8) + 2 ** -25,
          );
      });
    }
  });

  it('reads config-less weights (r and targets from the tensors, alpha unknown)', () => {
    const files = encodePeftAdapter(trainedAdapter(TINY, ALL_TARGETS), { baseModel: null });
    const decoded = decodePeftAdapter({ config: null, weights: files.weights });
    expect(decoded.hasConfig).toBe(false);
    expect(decoded.weights.config.targets).toEqual(ALL_TARGETS.targets);
    expect(decoded.weights.config.r).toBe(4);
  });

  it('says a web page is a web page (an adapter URL that returned a login or error page)', () => {
    const page = '\n  <html lang="en"><head><title>Hugging Face – Sign in</title></head></html>';
    expect(() => parsePeftConfig(page, 'https://h/x/adapter_config.json')).toThrow(
      /^https:\/\/h\/x\/adapter_config.json: is a web page \(HTML\), not JSON/,
    );
    expect(() => parsePeftConfig('{"r": ', 'adapter_config.json')).toThrow(/adapter_config.json: not valid JSON/);
  });

  it('reads the config a recent PEFT (0.19) writes, with its newer fields', () => {
    const modern = `{
  "alora_invocation_tokens": null, "alpha_pattern": {}, "arrow_config": null, "auto_mapping": null,
  "base_model_name_or_path": "meta-llama/Llama-3.2-1B-Instruct", "bias": "none", "corda_config": null,
  "ensure_weight_tying": false, "eva_config": null, "exclude_modules": null, "fan_in_fan_out": false,
  "inference_mode": true, "init_lora_weights": true, "layer_replication": null, "layers_pattern": null,
  "layers_to_transform": null, "loftq_config": {}, "lora_alpha": 16.0, "lora_bias": false, "lora_dropout": 0.05,
  "lora_ga_config": null, "megatron_config": null, "megatron_core": "megatron.core", "modules_to_save": null,
  "peft_type": "LORA", "peft_version": "0.19.1", "qalora_group_size": 16, "r": 8, "rank_pattern": {}, "revision": null,
  "target_modules": ["v_proj", "q_proj"], "target_parameters": null, "task_type": "CAUSAL_LM",
  "trainable_token_indices": null, "use_bdlora": null, "use_dora": false, "use_qalora": false, "use_rslora": false
}`;
    const info = parsePeftConfig(modern);
    expect(info).toMatchObject({
      r: 8,
      alpha: 16,
      dropout: 0.05,
      targets: ['v_proj', 'q_proj'],
      baseModel: 'meta-llama/Llama-3.2-1B-Instruct',
    });
    expect(info.warnings[0]).toMatch(/lora_dropout 0.05 is not used here/);
    const decoded = decodePeftAdapter({
      config: modern,
      weights: encodePeftAdapter(trainedAdapter(TINY, QV), { baseModel: null }).weights,
    });
    expect(decoded.weights.config.dropout).toBe(0);
    expect(() => parsePeftConfig(modern.replace('"use_qalora": false', '"use_qalora": true'))).toThrow(/QA-LoRA/);
    expect(() =>
      parsePeftConfig(modern.replace('"alora_invocation_tokens": null', '"alora_invocation_tokens": [1, 2]')),
    ).toThrow(/aLoRA/);
  });

  it('accepts target_modules in any order and keeps it; converts rsLoRA alpha', () => {
    const adapter = trainedAdapter(TINY, { ...QV, targets: ['v_proj', 'q_proj'] });
    const files = encodePeftAdapter(adapter, { baseModel: null });
    expect(decodePeftAdapter({ config: files.config, weights: files.weights }).weights.config.targets).toEqual([
      'v_proj',
      'q_proj',
    ]);
    const rs = parsePeftConfig(files.config.replace('"use_rslora": false', '"use_rslora": true'));
    expect(rs.alpha).toBeCloseTo(16 * Math.sqrt(8), 10);
    expect(rs.warnings[0]).toMatch(/rsLoRA/);
  });
});

describe('PEFT validation', () => {
  const adapter = trainedAdapter(TINY, QV, 3);
  const good = encodePeftAdapter(adapter, { baseModel: 'micro' });
  const withConfig = (patch: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(good.config), ...patch });
  const decodeConfig = (config: string) => decodePeftAdapter({ config, weights: good.weights });
  const entries = (): SafetensorsEntry[] => {
    const file = readSafetensors(good.weights, 'x');
    return file.header.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      data: file.bytes.slice(file.header.dataStart + t.begin, file.header.dataStart + t.end),
    }));
  };
  const decodeEntries = (list: SafetensorsEntry[], meta: Record<string, string> | null = { format: 'pt' }) =>
    decodePeftAdapter({ config: good.config, weights: writeSafetensors(list, meta) });

  it.each([
    [{ peft_type: 'PREFIX_TUNING' }, /only LoRA adapters/],
    [{ task_type: 'SEQ_CLS' }, /CAUSAL_LM/],
    [{ r: 0 }, /"r" must be an integer/],
    [{ r: 8.5 }, /"r" must be an integer/],
    [{ r: '8' }, /"r" must be an integer/],
    [{ lora_alpha: -1 }, /lora_alpha/],
    [{ lora_alpha: 'x' }, /lora_alpha/],
    [{ lora_dropout: 1.5 }, /lora_dropout/],
    [{ use_dora: true }, /DoRA/],
    [{ bias: 'all' }, /bias tensors/],
    [{ fan_in_fan_out: true }, /fan_in_fan_out/],
    [{ rank_pattern: { q_proj: 16 } }, /per-module ranks/],
    [{ alpha_pattern: { q_proj: 16 } }, /per-module alphas/],
    [{ layers_to_transform: [0] }, /subset of layers/],
    [{ modules_to_save: ['lm_head'] }, /modules_to_save/],
    [{ target_modules: '.*proj' }, /regular expressions/],
    [{ target_modules: 'all-linear' }, /all-linear/],
    [{ target_modules: [] }, /empty/],
    [{ target_modules: ['q_proj', 'q_proj'] }, /twice/],
    [{ target_modules: ['q_proj', 'lm_head'] }, /"lm_head" is not supported/],
    [{ target_modules: ['q_proj'] }, /does not list v_proj/],
    [{ target_modules: ['q_proj', 'v_proj', 'k_proj'] }, /missing tensor .*k_proj/],
    [{ r: 4 }, /lora_A must be \[r, in\] with r = 4/],
    [{ base_model_name_or_path: 5 }, /base_model_name_or_path must be a string/],
  ])('refuses config %j', (patch, message) => {
    expect(() => decodeConfig(withConfig(patch))).toThrow(AdapterFormatError);
    expect(() => decodeConfig(withConfig(patch))).toThrow(message);
  });

  it('refuses configs that are not JSON objects or too large', () => {
    expect(() => decodeConfig('[]')).toThrow(/expected a JSON object/);
    expect(() => decodeConfig('{"r": 8, "r": 8}')).toThrow(/duplicate key/);
    expect(() => decodeConfig(`{"x": "${'a'.repeat(70_000)}"}`)).toThrow(/over the limit/);
    expect(() => decodePeftAdapter({ config: new Uint8Array([0xff, 0xfe]), weights: good.weights })).toThrow(/UTF-8/);
  });

  it('refuses missing, extra, misnamed and misshapen tensors', () => {
    const list = entries();
    expect(() => decodeEntries(list.slice(1))).toThrow(
      /missing tensor base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight/,
    );
    expect(() =>
      decodeEntries([...list, { ...list[0], name: 'base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight' }]),
    ).toThrow(/missing tensor .*layers\.2/);
    expect(() => decodeEntries([...list, { ...list[0], name: 'base_model.model.lm_head.weight' }])).toThrow(
      /unexpected tensor "base_model.model.lm_head.weight"/,
    );
    expect(() =>
      decodeEntries(
        list.map((e, i) => (i === 0 ? { ...e, name: e.name.replace('lora_A.weight', 'lora_A.default.weight') } : e)),
      ),
    ).toThrow(/save_pretrained/);
    expect(() =>
      decodeEntries(
        list.map((e, i) => (i === 0 ? { ...e, name: e.name.replace('self_attn.q_proj', 'mlp.q_proj') } : e)),
      ),
    ).toThrow(/belongs under self_attn/);
    expect(() =>
      decodeEntries(list.map((e, i) => (i === 0 ? { ...e, name: e.name.replace('layers.0', 'layers.00') } : e))),
    ).toThrow(/unexpected tensor/);
    expect(() => decodeEntries(list.map((e, i) => (i === 0 ? { ...e, shape: [8, 4, 4] } : e)))).toThrow(/matrices/);
    expect(() => decodeEntries(list.map((e, i) => (i === 0 ? { ...e, shape: [4, 32] } : e)))).toThrow(
      /lora_A must be \[r, in\]/,
    );
    expect(() =>
      decodeEntries(
        list.map((e) =>
          e.name.includes('layers.1.self_attn.q_proj.lora_A') ? { ...e, shape: [8, 8], data: e.data.slice(0, 256) } : e,
        ),
      ),
    ).toThrow(/layers disagree/);
    expect(() => decodeEntries(list.map((e, i) => (i === 0 ? { ...e, dtype: 'F64', shape: [8, 8] } : e)))).toThrow(
      /is F64; LoRA weights must be F32, F16 or BF16/,
    );
    expect(() =>
      decodeEntries(
        list.map((e, i) => (i === 0 ? { ...e, dtype: 'F16', data: e.data.slice(0, e.data.length / 2) } : e)),
      ),
    ).toThrow(/mix/);
    expect(() => decodeEntries([])).toThrow(/no tensors/);
  });

  it('refuses NaN, Infinity and implausibly large values, naming the tensor', () => {
    for (const [value, message] of [
      [NaN, /element 3 is NaN/],
      [Infinity, /element 3 is Infinity/],
      [-Infinity, /element 3 is -Infinity/],
      [3e20, /beyond the plausible range/],
    ] as const) {
      const list = entries();
      const a = new Float32Array(list[0].data.buffer.slice(0));
      a[3] = value;
      list[0] = { ...list[0], data: float32ToBytes(a) };
      expect(() => decodeEntries(list)).toThrow(message);
    }
    const list = entries();
    list[1] = {
      ...list[1],
      dtype: 'F16',
      data: float32ToHalfBytes(new Float32Array(list[1].data.length / 4).fill(1e5), 'F16'),
    };
    expect(() =>
      decodeEntries(
        list.map((e) => ({
          ...e,
          dtype: 'F16',
          data: e.dtype === 'F16' ? e.data : float32ToHalfBytes(new Float32Array(e.data.buffer.slice(0)), 'F16'),
        })),
      ),
    ).toThrow(/Infinity/);
  });

  it('checks the shapes against the model in use', () => {
    const decoded = decodePeftAdapter({ config: good.config, weights: good.weights });
    expect(() => bindAdapter(decoded.weights, MICRO, 'x', 'micro')).toThrow(
      /q_proj is 16 x 16 in the adapter .* but 64 x 64 in micro/,
    );
    expect(() => bindAdapter(decoded.weights, { ...TINY, layers: 3 }, 'x', 'tiny')).toThrow(/2 layers but tiny has 3/);
    expect(() => bindAdapter(decoded.weights, { ...TINY, kvHeads: 2 }, 'x')).toThrow(
      /v_proj is 8 x 16 in the adapter .* but 16 x 16/,
    );
    expect(bindAdapter(decoded.weights, TINY, 'x').modules).toHaveLength(4);
  });
});

describe('base models', () => {
  const id = 'Llama-3.2-1B-Instruct-q4f16_1-MLC';
  it('matches MLC ids, their Hugging Face models and local paths of them', () => {
    expect(baseModelMismatch('meta-llama/Llama-3.2-1B-Instruct', id)).toBeNull();
    expect(baseModelMismatch('https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct', id)).toBeNull();
    expect(baseModelMismatch('/home/me/models/Llama-3.2-1B-Instruct/', id)).toBeNull();
    expect(baseModelMismatch('Llama-3.2-1B-Instruct-q4f32_1-MLC', id)).toBeNull();
    expect(baseModelMismatch('micro', 'micro')).toBeNull();
    expect(baseModelMismatch('meta-llama/Llama-3.2-3B-Instruct', id)).toMatch(
      /trained on "meta-llama\/Llama-3.2-3B-Instruct" but the model in use is "Llama-3.2-1B-Instruct-q4f16_1-MLC" \(meta-llama\/Llama-3.2-1B-Instruct\)/,
    );
    expect(baseModelMismatch(null, id)).toMatch(/does not name its base model/);
  });

  it('warns or refuses by policy', () => {
    expect(checkBaseModel('meta-llama/Llama-3.2-1B-Instruct', id, 'refuse', 'x')).toEqual([]);
    expect(
      checkBaseModel('NousResearch/Hermes-3-Llama-3.2-3B', 'Llama-3.2-3B-Instruct-q4f16_1-MLC', 'warn', 'x')[0],
    ).toMatch(/shapes fit, so it is loaded/);
    expect(() =>
      checkBaseModel('NousResearch/Hermes-3-Llama-3.2-3B', 'Llama-3.2-3B-Instruct-q4f16_1-MLC', 'refuse', 'x'),
    ).toThrow(AdapterFormatError);
  });

  it('finds the catalog models a base model names', () => {
    const found = catalogModelsForBase('meta-llama/Llama-3.2-1B-Instruct').map((m) => m.modelId);
    expect(found).toEqual([
      'Llama-3.2-1B-Instruct-q4f32_1-MLC',
      'Llama-3.2-1B-Instruct-q4f16_1-MLC',
      'Llama-3.2-1B-Instruct-q0f32-MLC',
      'Llama-3.2-1B-Instruct-q0f16-MLC',
    ]);
    expect(catalogModelsForBase('someone/unknown-model')).toEqual([]);
  });
});

describe('replacing a live adapter', () => {
  it('copies only after the structure matches; nothing changes otherwise', () => {
    const live = trainedAdapter(TINY, QV, 1);
    const before = live.modules.map((m) => [m.a.slice(), m.b.slice()]);
    const other = trainedAdapter(TINY, { ...QV, r: 4 }, 2);
    expect(() => replaceAdapterWeights(live, other)).toThrow(AdapterFormatError);
    live.modules.forEach((m, i) => expect([m.a, m.b]).toEqual(before[i]));
    const same = trainedAdapter(TINY, QV, 9);
    replaceAdapterWeights(live, same);
    live.modules.forEach((m, i) => expect(m.a).toEqual(same.modules[i].a));
  });

  it('adapterWeightsOf validates the trainer adapter', () => {
    const a = trainedAdapter(TINY, QV);
    a.modules[0].b[0] = NaN;
    expect(() => adapterWeightsOf(a)).toThrow(/NaN/);
  });
});
