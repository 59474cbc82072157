/**
 * The capability slice, the Capability check card's state: the form (benchmarks, sample size, where the data
 * comes from), the files picked, the check in the worker as its events report it, and the last results. The
 * worker does the work (CapabilityApi); this slice only mirrors what it reports.
 */
import type { CapabilityApi, Calls } from '../worker/api';
import type { CapabilityData, CapabilityEvent, CapabilityReply } from '../worker/capability-protocol';
import { describeError } from '../util/errors';
import type { SliceApi } from './store';

/** The benchmarks the card offers (nlp-eval's ids; "mmlu": every subject the data holds). */
export const CARD_BENCHES = [
  { id: 'arc-easy', label: 'ARC-Easy' },
  { id: 'arc-challenge', label: 'ARC-Challenge' },
  { id: 'piqa', label: 'PIQA' },
  { id: 'boolq', label: 'BoolQ' },
  { id: 'winogrande', label: 'WinoGrande' },
  { id: 'hellaswag', label: 'HellaSwag' },
  { id: 'siqa', label: 'SIQA' },
  { id: 'openbookqa', label: 'OpenBookQA' },
  { id: 'mmlu', label: 'MMLU' },
] as const;

export interface CapabilityForm {
  benches: string[];
  /** Questions per benchmark (per MMLU subject). */
  limit: number;
  source: 'hub' | 'files';
  /** The hub to download from; '' is huggingface.co. */
  endpoint: string;
}

export type CapabilityPhase = 'idle' | 'running' | 'cancelling' | 'done' | 'cancelled' | 'error';

export interface CapabilityState {
  form: CapabilityForm;
  /** Files picked for the 'files' source, with their paths inside a picked folder ('' for single files). */
  files: { path: string; file: File }[];
  phase: CapabilityPhase;
  /** The latest progress report of the check in progress. */
  progress: CapabilityEvent | null;
  result: Extract<CapabilityReply, { status: 'done' }> | null;
  error: string | null;
}

export interface CapabilityActions {
  /** Connects the slice to the worker's capability part (undefined: the worker did not start). */
  attach(client: Calls<CapabilityApi> | undefined): void;
  setForm(patch: Partial<CapabilityForm>): void;
  toggleBench(id: string): void;
  pickFiles(files: readonly File[]): void;
  run(): Promise<void>;
  cancel(): Promise<void>;
  /** Where the form reads benchmarks from now (the training probe reads them there too). */
  data(): CapabilityData;
}

export type CapabilitySlice = CapabilityState & CapabilityActions;

const initial: CapabilityState = {
  form: { benches: ['arc-easy'], limit: 50, source: 'hub', endpoint: '' },
  files: [],
  phase: 'idle',
  progress: null,
  result: null,
  error: null,
};

/** Download progress arrives per chunk: the card redraws at most this often. */
export const PROGRESS_MS = 150;

export function createCapabilitySlice({ get, set }: SliceApi<'capability'>): CapabilitySlice {
  let client: Calls<CapabilityApi> | null = null;
  let latest: CapabilityEvent | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (latest && get().phase === 'running') set({ progress: latest });
  };
  const onEvent = (event: CapabilityEvent) => {
    latest = event;
    // A new benchmark's first report, and the end of scoring, are shown at once.
    const now = event.type === 'scoring' && (event.done === 0 || event.done === event.total);
    if (now) flush();
    else timer ??= setTimeout(flush, PROGRESS_MS);
  };

  return {
    ...initial,
    attach(next) {
      client = next ?? null;
    },
    setForm(patch) {
      set({ form: { ...get().form, ...patch } });
    },
    toggleBench(id) {
      const { benches } = get().form;
      const next = benches.includes(id) ? benches.filter((b) => b !== id) : [...benches, id];
      set({ form: { ...get().form, benches: CARD_BENCHES.map((b) => b.id).filter((b) => next.includes(b)) } });
    },
    pickFiles(files) {
      // A File's folder path does not survive the trip to the worker: it travels beside it.
      set({
        files: files.map((file) => ({ path: file.webkitRelativePath ?? '', file })),
        form: { ...get().form, source: 'files' },
      });
    },
    async run() {
      if (!client) {
        set({ phase: 'error', error: 'the capability check is not available: the worker did not start' });
        return;
      }
      if (get().phase === 'running' || get().phase === 'cancelling') return;
      const { form } = get();
      const data = get().data();
      latest = null;
      set({ phase: 'running', progress: null, error: null });
      try {
        const reply = await client.run({ benches: form.benches, limit: form.limit, data }, onEvent);
        if (reply.status === 'done') set({ phase: 'done', result: reply });
        else if (reply.status === 'cancelled') set({ phase: 'cancelled' });
        else set({ phase: 'error', error: reply.message });
      } catch (error) {
        set({ phase: 'error', error: describeError(error) });
      } finally {
        if (timer !== null) clearTimeout(timer);
        timer = null;
        set({ progress: null });
      }
    },
    data() {
      const { form, files } = get();
      const endpoint = form.endpoint.trim() === '' ? null : form.endpoint.trim();
      return form.source === 'files' ? { kind: 'files', files } : { kind: 'hub', endpoint };
    },
    async cancel() {
      if (!client || get().phase !== 'running') return;
      set({ phase: 'cancelling' });
      await client.cancel();
    },
  };
}
