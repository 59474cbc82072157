/**
 * The training probe's part of the Training form (TWOSOME only, issue 15): a benchmark the Capability check card
 * offers, a sample size and an interval in updates. The benchmark's data is read where the Capability check card
 * reads it (files picked there, or the hub), so the fields say which, and what is missing.
 */
import { useShallow } from 'zustand/react/shallow';
import { CARD_BENCHES } from '../state/capability';
import { useApp } from '../state/store';
import type { ProbeForm } from '../state/training';
import { MAX_PROBE_SIZE } from '../worker/training-protocol';
import { Field, NumberField } from './parts';

export function ProbeFields({ busy }: { busy: boolean }) {
  const { probe, setForm, source, picked } = useApp(
    useShallow((s) => ({
      probe: s.training.form.probe,
      setForm: s.training.setForm,
      source: s.capability.form.source,
      picked: s.capability.files.length,
    })),
  );
  const set = (patch: Partial<ProbeForm>) => setForm({ probe: { ...probe, ...patch } });
  const where =
    source === 'hub'
      ? 'downloaded from the hub (as the Capability check card is set)'
      : picked > 0
        ? `read from the ${picked} file${picked === 1 ? '' : 's'} picked in the Capability check card`
        : 'read from files picked in the Capability check card: none are picked yet';
  return (
    <fieldset className="probe-fields" disabled={busy} data-testid="probe-fields">
      <label
        className="probe-toggle"
        title="Scores a fixed sample of a benchmark with the run's adapter, beside the base model, between updates"
      >
        <input
          type="checkbox"
          checked={probe.on}
          onChange={(e) => set({ on: e.target.checked })}
          data-testid="probe-on"
        />
        Probe general abilities while training
      </label>
      {probe.on && (
        <>
          <Field label="Probe benchmark">
            <select value={probe.bench} onChange={(e) => set({ bench: e.target.value })} data-testid="probe-bench">
              {CARD_BENCHES.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.label}
                </option>
              ))}
            </select>
          </Field>
          <NumberField
            label="Questions"
            title="Questions in the probe, chosen once by a fixed seed"
            min={1}
            max={MAX_PROBE_SIZE}
            value={probe.size}
            onChange={(size) => set({ size })}
            testId="probe-size"
          />
          <NumberField
            label="Every N updates"
            title="The probe runs after updates N, 2N, 3N, ..."
            min={1}
            value={probe.every}
            onChange={(every) => set({ every })}
            testId="probe-every"
          />
          <span className="card-hint" data-testid="probe-source">
            Questions {where}.
          </span>
        </>
      )}
    </fieldset>
  );
}
