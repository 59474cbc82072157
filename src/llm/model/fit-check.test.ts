import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { describe, expect, it } from 'vitest';
import { catalogFromModelList, findCatalogRecord, type WebLlmModelRecord } from './catalog';
import { checkFit, MAX_SOFTWARE_STEP_SECONDS, memoryBudget, precisionNote, type AdapterFacts } from './fit-check';

const catalog = catalogFromModelList(prebuiltAppConfig.model_list as WebLlmModelRecord[]);
const record = (id: string) => findCatalogRecord(catalog, id)!;
const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** SwiftShader in Chromium on this project's machine: 2 cores, navigator.deviceMemory 8 (Chrome's cap). */
const swiftShader: AdapterFacts = {
  features: ['subgroups', 'timestamp-query'],
  limits: { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB },
  software: true,
  cores: 2,
  systemMemoryBytes: 8 * GiB,
};
/** A discrete GPU: big limits, shader-f16, memory unknown to WebGPU. */
const gpu: AdapterFacts = {
  features: ['shader-f16', 'subgroups'],
  limits: { maxStorageBufferBindingSize: 4 * GiB - 4, maxBufferSize: 4 * GiB - 4 },
  software: false,
};

describe('checkFit', () => {
  it('the 13B model is not runnable on a 2-core software adapter, by memory and by speed', () => {
    const big = record('Llama-2-13b-chat-hf-q4f16_1-MLC');
    const fit = checkFit(big, swiftShader);
    expect(fit.verdict).toBe('no');
    expect(fit.reason).toMatch(
      /^needs about 8\.\d GiB to train \(weights 6\.\d GiB, this engine's memory plan for 4 prompts of 200 tokens\) but the budget is 4\.0 GiB: half of the 8\.0 GiB of memory this computer reports/,
    );
    // With memory to spare (Node on a big machine), the 2 cores still rule it out.
    const roomy = checkFit(big, { ...swiftShader, systemMemoryBytes: 256 * GiB });
    expect(roomy.verdict).toBe('no');
    expect(roomy.stepSeconds!).toBeGreaterThan(MAX_SOFTWARE_STEP_SECONDS);
    expect(roomy.reason).toMatch(
      /^about \d+\.\d h to score one environment step on this 2-core software adapter \(estimate: 0\.25 GFLOP\/s per core\); too slow to train/,
    );
  });

  it('small models run on the software adapter, with the time estimate as a warning', () => {
    const small = checkFit(record('SmolLM2-135M-Instruct-q0f32-MLC'), swiftShader);
    expect(small.verdict).toBe('yes');
    expect(small.warnings.join('\n')).toMatch(
      /slow: about \d+ (s|min) to score one environment step on this 2-core software adapter/,
    );
    const tiny = checkFit(record('TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC'), swiftShader);
    expect(tiny.verdict).toBe('yes');
    expect(tiny.stepSeconds!).toBeGreaterThan(small.stepSeconds! * 5); // about 8x the weights
    // More cores, proportionally faster by the estimate.
    expect(
      checkFit(record('TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC'), { ...swiftShader, cores: 8 }).stepSeconds,
    ).toBeCloseTo(tiny.stepSeconds! / 4);
  });

  it('on a hardware GPU the memory is not known: yes with the plan as a warning, no over a given budget', () => {
    const big = record('Llama-2-13b-chat-hf-q4f16_1-MLC');
    const fit = checkFit(big, gpu);
    expect(fit.verdict).toBe('yes');
    expect(fit.budget).toEqual({ bytes: undefined, source: 'WebGPU does not report GPU memory' });
    expect(fit.warnings.join('\n')).toMatch(
      /needs about 8\.\d GiB to train .*WebGPU does not report GPU memory, so this is not checked/,
    );
    expect(fit.stepSeconds).toBeUndefined();
    expect(checkFit(big, gpu, { memoryBudgetBytes: 8 * GiB })).toMatchObject({
      verdict: 'no',
      reason: expect.stringMatching(/but the budget is 8\.0 GiB: the budget given$/),
    });
    expect(checkFit(big, gpu, { memoryBudgetBytes: 12 * GiB }).verdict).toBe('yes');
    expect(memoryBudget(gpu, { memoryBudgetBytes: GiB })).toEqual({ bytes: GiB, source: 'the budget given' });
  });

  it('splits a tensor larger than a binding and refuses only a row that does not fit one', () => {
    const defaults = { ...gpu, limits: { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB } };
    const small = checkFit(record('Llama-3.2-1B-Instruct-q4f16_1-MLC'), defaults); // 125 MiB embedding
    expect(small.verdict).toBe('yes');
    expect(small.warnings.filter((w) => /row chunks/.test(w))).toEqual([]);
    const llama8 = checkFit(record('Llama-3.1-8B-Instruct-q4f16_1-MLC'), defaults);
    expect(llama8.verdict).toBe('yes');
    expect(llama8.warnings).toContain(
      'model.embed_tokens.q_weight (251 MiB) is larger than one GPU buffer may be (128 MiB): it is uploaded in row chunks',
    );
    const narrow = checkFit(record('Llama-3.2-1B-Instruct-q0f32-MLC'), {
      ...gpu,
      limits: { maxStorageBufferBindingSize: 4096, maxBufferSize: 2 * GiB },
    });
    expect(narrow.verdict).toBe('no');
    expect(narrow.reason).toMatch(
      /^one row of tensor \S+ needs 32768 bytes in one GPU buffer \(rows cannot be split\) but this adapter allows maxStorageBufferBindingSize 4096 bytes$/,
    );
  });

  it('a model whose architecture the table lacks is "unknown", not yes or no', () => {
    const [future] = catalogFromModelList([
      {
        model: 'https://huggingface.co/mlc-ai/Llama-9-1B-q4f16_1-MLC',
        model_id: 'Llama-9-1B-q4f16_1-MLC',
        model_lib: 'x.wasm',
      },
    ]);
    const fit = checkFit(future, gpu);
    expect(fit.verdict).toBe('unknown');
    expect(fit.reason).toMatch(/not in this app's table .* checked against its mlc-chat-config.json when loaded/);
  });

  it('flags unverified architecture fields', () => {
    expect(checkFit(record('Hermes-2-Pro-Llama-3-8B-q4f16_1-MLC'), gpu).warnings.join()).toMatch(
      /unverified fields \(vocabSize/,
    );
  });
});

describe('precision', () => {
  it('says the model runs on the f32 path without shader-f16, and what that is expected to cost', () => {
    const tiny = record('TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC'); // web-llm needs shader-f16 for it
    const note = precisionNote([], tiny);
    expect(note).toMatchObject({ path: 'f32', shaderF16: false });
    expect(note.text).toMatch(
      /^f32 path \(no shader-f16 here: f16 data unpacked to f32 in the shaders\); expected up to about 2x slower to score and train than an f16 path \(estimate: /,
    );
    expect(note.text).toMatch(/web-llm itself cannot run this record here \(its wasm needs shader-f16\)$/);
    expect(checkFit(tiny, swiftShader).precision).toEqual(note);
    // With shader-f16 a hardware GPU takes the f16 matrix products; a software adapter keeps f32, and says why.
    expect(precisionNote(['shader-f16'], tiny)).toMatchObject({
      path: 'f16',
      shaderF16: true,
      text: expect.stringMatching(/^f16 path \(shader-f16\): matrix products in f16/),
    });
    expect(precisionNote(['shader-f16'], tiny, true)).toMatchObject({
      path: 'f32',
      shaderF16: true,
      text: expect.stringMatching(/^f32 path: this software adapter offers shader-f16 but runs it as f32/),
    });
    expect(precisionNote([], record('TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC')).text).not.toMatch(/web-llm itself/);
  });
});
