/** Model ids: micro, catalog ids (from the cache), custom repo URLs; what the worker is told to load. */
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { beforeAll, describe, expect, it } from 'vitest';
import { catalogBaseUrl, catalogFromModelList, type WebLlmModelRecord } from '../llm/model/catalog';
import { addFolderModel, catalogError, catalogLoaded, catalogRecords, customLabel, customModel, findModel, loadCatalogWith, modelSpec } from './models';
import { parseSetup } from './url';

const MODEL_CATALOG = catalogFromModelList(prebuiltAppConfig.model_list as WebLlmModelRecord[]);

describe('models', () => {
  beforeAll(async () => {
    // Before web-llm's list is in, a catalog id is not a model (a link waits for catalogLoaded()).
    expect(findModel(MODEL_CATALOG[0].id)).toBeUndefined();
    await loadCatalogWith(async () => {
      throw new Error('no worker');
    });
    expect(catalogError()).toBe('no worker');
    void loadCatalogWith(async () => MODEL_CATALOG);
    await catalogLoaded();
    expect(catalogRecords()).toBe(MODEL_CATALOG);
    expect(catalogError()).toBeNull();
  });

  it('knows micro and every catalog record; catalog models come from the browser cache', () => {
    expect(findModel('micro')?.source).toBe('url');
    const record = MODEL_CATALOG[0];
    const choice = findModel(record.id);
    expect(choice).toMatchObject({ id: record.id, source: 'cache', url: catalogBaseUrl(record) });
    expect(modelSpec(choice!, 'http://localhost/')).toEqual({ id: record.id, label: record.id, url: catalogBaseUrl(record), source: 'cache' });
    expect(modelSpec(findModel('micro')!, 'http://localhost/app/').url).toBe('http://localhost/app/models/micro/');
  });

  it('a custom Hugging Face repo URL becomes its resolve/main base URL; bad input says why', () => {
    const c = customModel('https://huggingface.co/test/tiny');
    expect(c).toMatchObject({ id: 'https://huggingface.co/test/tiny/resolve/main/', label: 'test/tiny', source: 'cache' });
    expect(findModel(c.id)?.url).toBe(c.id);
    expect(customLabel('https://example.org/m/')).toBe('https://example.org/m/');
    expect(() => customModel('not a url')).toThrow(/not a model URL/);
    expect(() => customModel('http://example.com/model')).toThrow(/https:\/\//);
    expect(() => customModel('https://huggingface.co/only-org')).toThrow(/<org>\/<repo>/);
    expect(findModel('http://example.com/model')).toBeUndefined();
  });

  it('links accept catalog ids and custom URLs; unknown ids fall back with a notice', () => {
    const id = MODEL_CATALOG[1].id;
    expect(parseSetup(`?model=${id}`)).toMatchObject({ modelId: id, problems: [] });
    const url = 'https://huggingface.co/test/tiny/resolve/main/';
    expect(parseSetup(`?model=${encodeURIComponent(url)}`)).toMatchObject({ modelId: url, problems: [] });
    const bad = parseSetup('?model=llama-99b');
    expect(bad.modelId).toBe('micro');
    expect(bad.problems[0]).toContain('llama-99b');
  });

  it('a picked folder is a model of this page, loaded from its files', () => {
    const file = new File(['{}'], 'mlc-chat-config.json');
    const choice = addFolderModel('tiny', [{ path: 'tiny/mlc-chat-config.json', file }]);
    expect(findModel('folder:tiny')).toBe(choice);
    const spec = modelSpec(choice, 'http://localhost/');
    expect(spec).toMatchObject({ id: 'folder:tiny', source: 'files' });
    expect(spec.files?.[0].path).toBe('tiny/mlc-chat-config.json');
  });
});
