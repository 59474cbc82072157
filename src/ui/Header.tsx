import { useEffect, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { FAMILIES, tasksOfFamily } from '../envs/registry';
import type { TaskId } from '../envs/types';
import { DEFAULT_MODEL, findModel, modelChoices } from '../state/models';
import { useApp } from '../state/store';
import { Field } from './parts';
import { useSlice } from './useSlice';

export function Header() {
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        <div className="brand-text">
          <h1>twosome-web</h1>
          <span className="brand-tagline" data-testid="brand-tagline">
            LLM agents acting in Overcooked and VirtualHome
          </span>
        </div>
      </div>
      <div className="topbar-controls">
        <TaskSelect />
        <SeedInput />
        <ModelSelect />
      </div>
      <GpuBadge />
    </header>
  );
}

function TaskSelect() {
  const { taskId, selectTask } = useSlice('playground', 'taskId', 'selectTask');
  return (
    <Field label="Task" className="field">
      <select value={taskId} onChange={(e) => void selectTask(e.target.value as TaskId)} data-testid="task-select">
        {FAMILIES.map(({ family, title }) => (
          <optgroup key={family} label={title}>
            {tasksOfFamily(family).map((t) => (
              <option key={t.id} value={t.id}>
                {t.split === 'unseen' ? `${t.title} (unseen)` : t.title}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
    </Field>
  );
}

/** The models the select offers: the built-in one, the cached ones (complete), and the current one. */
function useSelectableModels(current: string): { id: string; label: string; description: string }[] {
  const { cached, catalog, folders } = useSlice('models', 'cached', 'catalog', 'folders');
  const known = { catalog, folders };
  const out = modelChoices(known).filter((m) => m.id === DEFAULT_MODEL || (m.source ?? 'url') === 'url');
  const add = (id: string) => {
    if (out.some((m) => m.id === id)) return;
    const choice = findModel(known, id);
    if (choice) out.push(choice);
  };
  for (const m of cached ?? []) if (m.complete) for (const id of m.ids.length > 0 ? m.ids : [m.baseUrl]) add(id);
  add(current);
  return out;
}

/** The model that scores the actions: micro plus the cached models; "Models…" opens the Model panel. */
function ModelSelect() {
  const { modelId, selectModel, setOpen } = useApp(
    useShallow(({ playground, models }) => ({
      modelId: playground.modelId,
      selectModel: playground.selectModel,
      setOpen: models.setOpen,
    })),
  );
  const choices = useSelectableModels(modelId);
  return (
    <div className="model-field">
      <Field label="Model" className="field field--model">
        <select value={modelId} onChange={(e) => void selectModel(e.target.value)} data-testid="model-select">
          {choices.map((m) => (
            <option key={m.id} value={m.id} title={m.description}>
              {m.label}
            </option>
          ))}
        </select>
      </Field>
      <button
        type="button"
        className="button button--small"
        onClick={() => setOpen(true)}
        data-testid="open-model-panel"
        aria-haspopup="dialog"
      >
        Models…
      </button>
    </div>
  );
}

function SeedInput() {
  const { seed, selectSeed } = useSlice('playground', 'seed', 'selectSeed');
  const [text, setText] = useState(String(seed));
  useEffect(() => setText(String(seed)), [seed]);
  const commit = () => {
    const value = Number(text);
    if (text.trim() !== '' && Number.isSafeInteger(value) && value >= 0) void selectSeed(value);
    else setText(String(seed));
  };
  return (
    <Field label="Seed" className="field field--seed">
      <input
        type="number"
        min={0}
        step={1}
        inputMode="numeric"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
        }}
        data-testid="seed-input"
      />
    </Field>
  );
}

function GpuBadge() {
  const gpu = useApp((s) => s.gpu.webgpu);
  const text =
    gpu.status === 'ready'
      ? `WebGPU: ${[gpu.info.vendor, gpu.info.architecture].filter(Boolean).join(' · ') || gpu.info.description || 'adapter ready'}`
      : gpu.status === 'missing'
        ? 'WebGPU unavailable'
        : 'Detecting WebGPU…';
  return (
    <div className={`gpu-badge gpu-badge--${gpu.status}`} title={text}>
      <span className="dot" aria-hidden="true" />
      <span className="gpu-badge-text">{text}</span>
    </div>
  );
}
