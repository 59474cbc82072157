/** Model ids: micro, catalog ids (from the cache), custom repo URLs; what the worker is told to load. */
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { beforeAll, describe, expect, it } from 'vitest';
import { catalogBaseUrl, catalogFromModelList, type WebLlmModelRecord } from '../llm/model/catalog';
import {
  customLabel,
  customModel,
  findModel,
  folderModel,
  modelProblem,
  modelSpec,
  NO_MODELS_KNOWN,
  type KnownModels,
} from './models';
import { createAppStore } from './store';
import { parseSetup } from './url';

const MODEL_CATALOG = catalogFromModelList(prebuiltAppConfig.model_list as WebLlmModelRecord[]);

describe('models', () => {
  /** What the page knows once web-llm's list is in (the models slice's state). */
  let known: KnownModels;
  beforeAll(async () => {
    const app = createAppStore();
    const models = () => app.getState().models;
    // Before web-llm's list is in, a catalog id is not a model (a link waits for catalogLoaded()).
    expect(findModel(models(), MODEL_CATALOG[0].id)).toBeUndefined();
    await models().loadCatalog(async () => {
      throw new Error('no worker');
    });
    expect(models().catalogError).toBe('no worker');
    expect(models().catalog).toEqual([]);
    void models().loadCatalog(async () => MODEL_CATALOG);
    await models().catalogLoaded();
    expect(models().catalog).toBe(MODEL_CATALOG);
    expect(models().catalogError).toBeNull();
    known = models();
  });

  it('knows micro and every catalog record; catalog models come from the browser cache', () => {
    expect(findModel(known, 'micro')?.source).toBe('url');
    const record = MODEL_CATALOG[0];
    const choice = findModel(known, record.id);
    expect(choice).toMatchObject({ id: record.id, source: 'cache', url: catalogBaseUrl(record) });
    expect(modelSpec(choice!, 'http://localhost/')).toEqual({
      id: record.id,
      label: record.id,
      url: catalogBaseUrl(record),
      source: 'cache',
    });
    const micro = findModel(known, 'micro')!;
    expect(modelSpec(micro, 'http://localhost/app/').url).toBe('http://localhost/app/models/micro/');
  });

  it('a custom Hugging Face repo URL becomes its resolve/main base URL; bad input says why', () => {
    const c = customModel('https://huggingface.co/test/tiny');
    expect(c).toMatchObject({
      id: 'https://huggingface.co/test/tiny/resolve/main/',
      label: 'test/tiny',
      source: 'cache',
    });
    expect(findModel(known, c.id)?.url).toBe(c.id);
    expect(customLabel('https://example.org/m/')).toBe('https://example.org/m/');
    expect(() => customModel('not a url')).toThrow(/not a model URL/);
    expect(() => customModel('http://example.com/model')).toThrow(/https:\/\//);
    expect(() => customModel('https://huggingface.co/only-org')).toThrow(/<org>\/<repo>/);
    expect(findModel(NO_MODELS_KNOWN, 'http://example.com/model')).toBeUndefined();
  });

  it('links accept catalog ids and custom URLs; unknown ids fall back with a notice', () => {
    const id = MODEL_CATALOG[1].id;
    expect(parseSetup(`?model=${id}`, known)).toMatchObject({ modelId: id, problems: [] });
    const url = 'https://huggingface.co/test/tiny/resolve/main/';
    expect(parseSetup(`?model=${encodeURIComponent(url)}`, known)).toMatchObject({ modelId: url, problems: [] });
    const bad = parseSetup('?model=llama-99b', known);
    expect(bad.modelId).toBe('micro');
    expect(bad.problems[0]).toContain('llama-99b');
  });

  it('a picked folder is a model of this page, loaded from its files', () => {
    const file = new File(['{}'], 'mlc-chat-config.json');
    const choice = folderModel('tiny', [{ path: 'tiny/mlc-chat-config.json', file }]);
    expect(findModel(known, 'folder:tiny')).toBeUndefined();
    expect(findModel({ ...known, folders: { [choice.id]: choice } }, 'folder:tiny')).toBe(choice);
    const spec = modelSpec(choice, 'http://localhost/');
    expect(spec).toMatchObject({ id: 'folder:tiny', source: 'files' });
    expect(spec.files?.[0].path).toBe('tiny/mlc-chat-config.json');
  });

  it('a model problem names the model once', () => {
    const id = 'Llama-3.2-1B-Instruct-q4f16_1-MLC';
    const missing = `${id} is not downloaded: download it in the Model panel (it is never downloaded without asking)`;
    expect(modelProblem(id, missing)).toBe(missing);
    expect(modelProblem(id, 'loading the model failed: HTTP 404')).toBe(`${id}: loading the model failed: HTTP 404`);
  });
});
