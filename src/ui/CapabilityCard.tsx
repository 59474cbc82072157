/**
 * The Capability check card (issue 15): does the model still know what it knew? Zero-shot benchmarks scored as
 * lm-evaluation-harness scores them, on the playground's model, the base model beside the adapter in use (a
 * trained run's or a loaded one). Pick benchmarks, a sample size and where the data comes from (downloaded
 * from the Hugging Face hub, or files picked from disk), run it in the worker with progress and Cancel, and read
 * accuracy side by side with 95% intervals, the paired difference, the KL figure (mean KL(base || adapter) per
 * scored token, in nats, computed on the GPU) and a few questions the two answer differently. Self-contained: it
 * reads the capability slice and, for the caption, the model and adapter in use.
 */
import { useShallow } from 'zustand/react/shallow';
import { CARD_BENCHES, type CapabilityPhase } from '../state/capability';
import { useApp } from '../state/store';
import type { Accuracy, Estimate } from '../nlp-eval';
import type { CapabilityBenchResult, CapabilityEvent, Disagreement } from '../worker/capability-protocol';
import { formatBytes } from '../util/format';
import { Field, PhasePill, TableHead, wholeNumber } from './parts';
import { useSlice } from './useSlice';

const PHASE_TEXT: Record<CapabilityPhase, string> = {
  idle: 'not run',
  running: 'running',
  cancelling: 'cancelling…',
  done: 'done',
  cancelled: 'cancelled',
  error: 'failed',
};

export function CapabilityCard() {
  const phase = useApp((s) => s.capability.phase);
  return (
    <section className="card capability" aria-label="Capability check" data-testid="capability-card">
      <div className="card-head">
        <h2>Capability check</h2>
        <PhasePill phase={phase} running={phase === 'running' || phase === 'cancelling'} testId="capability-phase">
          {PHASE_TEXT[phase]}
        </PhasePill>
      </div>
      <p className="card-note">
        Does the model keep its general abilities? Zero-shot multiple-choice benchmarks, scored by log-likelihood as
        lm-evaluation-harness scores them, on the playground&apos;s model: the base model beside the adapter in use,
        question by question.
      </p>
      <Subject />
      <Form />
      <Buttons />
      <Progress />
      <CapabilityError />
      <Results />
    </section>
  );
}

/** What the check runs on now. */
function Subject() {
  const { modelId, adapter } = useApp(
    useShallow((s) => ({ modelId: s.playground.modelId, adapter: s.share.adapter?.label ?? null })),
  );
  return (
    <p className="card-hint capability-subject" data-testid="capability-subject">
      Model {modelId};{' '}
      {adapter
        ? `adapter ${adapter}`
        : 'no adapter in use: the base model alone (train a run or load an adapter to compare)'}
    </p>
  );
}

function Form() {
  const { form, files, phase, setForm, toggleBench, pickFiles } = useSlice(
    'capability',
    'form',
    'files',
    'phase',
    'setForm',
    'toggleBench',
    'pickFiles',
  );
  const busy = phase === 'running' || phase === 'cancelling';
  return (
    <div className="capability-form">
      <fieldset className="capability-benches" disabled={busy}>
        <legend className="field-label">Benchmarks</legend>
        {CARD_BENCHES.map((b) => (
          <label key={b.id} className="capability-bench">
            <input
              type="checkbox"
              checked={form.benches.includes(b.id)}
              onChange={() => toggleBench(b.id)}
              data-testid={`capability-bench-${b.id}`}
            />
            {b.label}
          </label>
        ))}
      </fieldset>
      <Field
        label="Questions each"
        title="The first N questions of each benchmark (of each subject for MMLU), as the harness's --limit"
      >
        {/* Not clamped to the input's max: a larger number typed in is taken as it is. */}
        <input
          type="number"
          min={1}
          max={2000}
          value={form.limit}
          disabled={busy}
          onChange={(e) => setForm({ limit: wholeNumber(e.target.value, 1) })}
          data-testid="capability-limit"
        />
      </Field>
      <fieldset className="capability-source" disabled={busy}>
        <legend className="field-label">Data</legend>
        <label>
          <input
            type="radio"
            name="capability-source"
            checked={form.source === 'hub'}
            onChange={() => setForm({ source: 'hub' })}
            data-testid="capability-source-hub"
          />
          Download from the Hugging Face hub
        </label>
        <input
          type="url"
          className="capability-endpoint"
          placeholder="https://huggingface.co"
          aria-label="Hub address"
          value={form.endpoint}
          disabled={form.source !== 'hub'}
          onChange={(e) => setForm({ endpoint: e.target.value })}
          data-testid="capability-endpoint"
        />
        <label>
          <input
            type="radio"
            name="capability-source"
            checked={form.source === 'files'}
            onChange={() => setForm({ source: 'files' })}
            data-testid="capability-source-files"
          />
          Files on this computer (official formats)
        </label>
        <span className="capability-pickers">
          <label className="button button--small">
            Pick files…
            <input
              type="file"
              multiple
              hidden
              onChange={(e) => pickFiles([...(e.target.files ?? [])])}
              data-testid="capability-files"
            />
          </label>
          <label
            className="button button--small"
            title="A folder laid out like the benchmarks' data directory (arc_easy/, piqa/, mmlu/test/, ...)"
          >
            Pick a folder…
            <input
              type="file"
              hidden
              ref={(input) => input?.setAttribute('webkitdirectory', '')}
              onChange={(e) => pickFiles([...(e.target.files ?? [])])}
              data-testid="capability-folder"
            />
          </label>
          <span className="card-hint" data-testid="capability-picked">
            {files.length === 0 ? 'none picked' : files.length === 1 ? files[0].file.name : `${files.length} files`}
          </span>
        </span>
      </fieldset>
    </div>
  );
}

function Buttons() {
  const { phase, run, cancel, benches } = useApp(
    useShallow(({ capability: s }) => ({
      phase: s.phase,
      run: s.run,
      cancel: s.cancel,
      benches: s.form.benches.length,
    })),
  );
  const busy = phase === 'running' || phase === 'cancelling';
  return (
    <div className="train-buttons">
      <button
        type="button"
        className="button button--primary"
        disabled={busy || benches === 0}
        onClick={() => void run()}
        data-testid="capability-run"
      >
        Run check
      </button>
      <button
        type="button"
        className="button"
        disabled={phase !== 'running'}
        onClick={() => void cancel()}
        data-testid="capability-cancel"
      >
        Cancel
      </button>
    </div>
  );
}

function progressText(p: CapabilityEvent): { text: string; value: number; max: number } {
  if (p.type === 'download') {
    const files = `${p.filesDone}/${p.filesTotal} files`;
    const text = `Downloading ${p.bench}: ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)} (${files})`;
    return { text, value: p.bytesDone, max: Math.max(1, p.bytesTotal) };
  }
  return { text: `Scoring ${p.bench}: ${p.done} of ${p.total} questions`, value: p.done, max: Math.max(1, p.total) };
}

function Progress() {
  const { phase, progress } = useSlice('capability', 'phase', 'progress');
  if (phase !== 'running' && phase !== 'cancelling') return null;
  const shown = progress ? progressText(progress) : { text: 'Reading the benchmarks…', value: 0, max: 1 };
  return (
    <div className="capability-progress" data-testid="capability-progress" role="status">
      <progress value={shown.value} max={shown.max} />
      <span className="card-hint">{shown.text}</span>
    </div>
  );
}

function CapabilityError() {
  const error = useApp((s) => s.capability.error);
  if (!error) return null;
  return (
    <p className="notice notice--error" role="alert" data-testid="capability-error">
      {error}
    </p>
  );
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** "52.0% [45.1, 58.9]": the mean and its 95% interval (mean ± 1.96 stderr, the harness's stderr). */
function EstimateCell({
  estimate,
  signed = false,
  testId,
}: {
  estimate: Estimate | null;
  signed?: boolean;
  testId: string;
}) {
  if (!estimate) return <td data-testid={testId}>–</td>;
  const sign = signed && estimate.mean >= 0 ? '+' : '';
  const ci = estimate.ci95 ? ` [${(100 * estimate.ci95[0]).toFixed(1)}, ${(100 * estimate.ci95[1]).toFixed(1)}]` : '';
  return (
    <td data-testid={testId} data-value={estimate.mean}>
      {sign}
      {pct(estimate.mean)}
      <span className="capability-ci">{ci}</span>
    </td>
  );
}

function metricRows(r: CapabilityBenchResult) {
  const rows: { metric: string; pick: (a: Accuracy) => Estimate | null }[] = [{ metric: 'acc', pick: (a) => a.acc }];
  if (r.base.accNorm) rows.push({ metric: 'acc_norm', pick: (a) => a.accNorm });
  return rows;
}

const KL_HEAD = 'KL(base ‖ adapter)';

function Results() {
  const result = useApp((s) => s.capability.result);
  if (!result) return null;
  const withAdapter = result.adapter !== null;
  return (
    <div className="capability-results" data-testid="capability-results">
      <p className="card-hint">
        {result.modelId}
        {withAdapter ? ` with adapter ${result.adapter} (as it was when the check started)` : ', no adapter'} ·{' '}
        {(result.ms / 1000).toFixed(1)} s · accuracy [95% interval]
      </p>
      <table className="eval-table capability-table" data-testid="capability-table">
        <TableHead
          columns={[
            'Benchmark',
            'Metric',
            'n',
            'Base',
            withAdapter && 'Adapter',
            withAdapter && 'Adapter − base (paired)',
            KL_HEAD,
          ]}
          titles={{
            [KL_HEAD]: 'Mean KL(base ‖ adapter) of the next-token distributions over the scored tokens, in nats',
          }}
        />
        <tbody>
          {result.results.flatMap((r) =>
            metricRows(r).map(({ metric, pick }) => (
              <tr key={`${r.bench}-${metric}`} data-testid="capability-row" data-bench={r.bench} data-metric={metric}>
                <td>{r.title}</td>
                <td>{metric}</td>
                <td data-testid="cap-n">{r.n}</td>
                <EstimateCell estimate={pick(r.base)} testId="cap-base" />
                {withAdapter && <EstimateCell estimate={r.adapted ? pick(r.adapted) : null} testId="cap-adapted" />}
                {withAdapter && (
                  <EstimateCell estimate={r.difference ? pick(r.difference) : null} signed testId="cap-difference" />
                )}
                <KlCell kl={r.meanKl} adapter={withAdapter} />
              </tr>
            )),
          )}
        </tbody>
      </table>
      {result.modelId === 'micro' && (
        <p className="card-hint" data-testid="capability-chance-note">
          The micro model&apos;s weights are random: its scores are chance level (1 in the number of choices) and show
          that the check runs, not that anything is known.
        </p>
      )}
      {withAdapter && result.results.map((r) => <Disagreements key={r.bench} result={r} />)}
    </div>
  );
}

function KlCell({ kl, adapter }: { kl: number | null; adapter: boolean }) {
  if (!adapter) return <td data-testid="cap-kl">no adapter</td>;
  if (kl === null) {
    return (
      <td data-testid="cap-kl" className="capability-na" title="No token was scored">
        –
      </td>
    );
  }
  // Significant digits: a LoRA adapter that barely moves the model has a KL of 1e-6 or less.
  return (
    <td data-testid="cap-kl" data-value={kl} title="nats per scored token">
      {kl.toPrecision(3)}
    </td>
  );
}

function Disagreements({ result }: { result: CapabilityBenchResult }) {
  return (
    <details
      className="capability-disagreements"
      data-testid="capability-disagreements"
      data-bench={result.bench}
      open={result.disagreements.length > 0}
    >
      <summary>
        {result.title}: the two answer {result.disagreeing} of {result.n} questions differently
        {result.disagreeing > result.disagreements.length ? ` (the first ${result.disagreements.length})` : ''}
      </summary>
      {result.disagreements.map((d) => (
        <DisagreementItem key={d.index} d={d} />
      ))}
    </details>
  );
}

function DisagreementItem({ d }: { d: Disagreement }) {
  return (
    <div
      className="capability-question"
      data-testid="capability-disagreement"
      data-index={d.index}
      data-base={d.base}
      data-adapted={d.adapted}
      data-gold={d.gold}
    >
      <p className="capability-context">
        #{d.index + 1}: {d.context.length > 400 ? `${d.context.slice(0, 400)}…` : d.context}
      </p>
      <ol className="capability-choices">
        {d.choices.map((c, k) => (
          <li key={k} className={k === d.gold ? 'capability-gold' : undefined}>
            {c}
            {k === d.gold && <span className="capability-mark"> ✓ answer</span>}
            {k === d.base && <span className="capability-mark"> · base</span>}
            {k === d.adapted && <span className="capability-mark"> · adapter</span>}
          </li>
        ))}
      </ol>
    </div>
  );
}
