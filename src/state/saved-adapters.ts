/**
 * Turning a saved adapter (src/persist/adapter-store) back into a LoadedAdapter, through exactly the decoders
 * a fresh load uses: the stored files go through decodeAdapterBytes, a stored link through decodeLinkAdapter.
 * So a stored copy that was damaged or tampered with (another tab, an extension, a disk error) is refused
 * with the same checks and messages as a bad file, and the worker then checks it against its model as usual.
 */
import {
  checkSavedAdapter,
  SavedAdapterError,
  sizeText,
  type AdapterCaps,
  type SavedAdapterMeta,
} from '../persist/adapter-store';
import { PEFT_CONFIG_FILE } from '../share';
import { decodeAdapterBytes, decodeLinkAdapter, type LoadedAdapter } from './adapter-files';
import { describeError } from '../util/errors';

/**
 * A record read back by AdapterStore.get, checked and decoded. Throws SavedAdapterError for a malformed
 * record, or the decoder's error (AdapterFormatError, ShareLinkError) prefixed with the saved entry's name.
 */
export function decodeSavedAdapter(record: unknown, id: string): LoadedAdapter {
  const saved = checkSavedAdapter(record, id);
  const { payload } = saved;
  try {
    if (payload.kind === 'link') return decodeLinkAdapter(payload.fragment);
    return decodeAdapterBytes(
      payload.main.bytes,
      payload.main.name,
      payload.config?.bytes ?? null,
      payload.config?.name ?? PEFT_CONFIG_FILE,
    );
  } catch (error) {
    const message = describeError(error);
    throw new SavedAdapterError(
      JSON.stringify(saved.label),
      `it no longer decodes (${message.replace(/[.;:]\s*$/, '')})`,
    );
  }
}

/** "adapter_model.safetensors, run.zip" for the note that says which entries the cap dropped. */
export function droppedNote(dropped: readonly SavedAdapterMeta[], caps: Readonly<AdapterCaps>): string | null {
  if (dropped.length === 0) return null;
  const names = dropped.map((d) => `"${d.label}"`).join(', ');
  return `Dropped the oldest saved ${dropped.length === 1 ? 'adapter' : 'adapters'} (${names}) to keep at most ${caps.maxAdapters} adapters and ${sizeText(caps.maxBytes)}.`;
}
