/**
 * Adapter files, bundles and share links (see README.md in this folder for the exact formats).
 *
 * Save (trainer/UI):   encodePeftAdapter(adapter, { baseModel: baseModelName(modelId) })  -> PEFT files
 *                      encodeBundle({ modelId, task, normalization, seed, training, adapter, critic, metrics })
 *                      encodeShareLink({ modelId, task, normalization, seed, weights: adapterWeightsOf(adapter) })
 * Load:                decodePeftAdapter({ config, weights }) / decodeBundle(bytes) / decodeShareLink(hash)
 *                      -> AdapterWeights (validated, model-independent), then
 *                      bindAdapter(weights, modelConfig, file, modelId) / bindBundle(bundle, modelConfig, modelId)
 *                      -> LoraAdapter for the trainer; checkBaseModel() for the base-model policy;
 *                      replaceAdapterWeights(live, loaded) to update a live adapter in place.
 * Errors:              AdapterFormatError (files), ShareLinkError (links, URLs): one-line messages.
 */
export * from './adapter';
export * from './bundle';
export * from './errors';
export * from './limits';
export * from './link';
export * from './peft';
export {
  readSafetensors,
  writeSafetensors,
  readSafetensorsHeaderLength,
  parseSafetensorsHeader,
  tensorData,
  SAFETENSORS_DTYPE_SIZES,
} from './safetensors';
export type {
  SafetensorsDtype,
  SafetensorsEntry,
  SafetensorsFile,
  SafetensorsHeader,
  SafetensorsTensorInfo,
} from './safetensors';
