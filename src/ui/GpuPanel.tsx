import { useApp } from '../state/store';
import { formatBytes } from '../util/format';

const HIGHLIGHT = ['shader-f16', 'subgroups', 'timestamp-query'];

/** The WebGPU adapter found on load, or why there is none. */
export function GpuPanel() {
  const gpu = useApp((s) => s.gpu.webgpu);
  return (
    <section className="card gpu" aria-label="WebGPU" data-testid="gpu-info" data-status={gpu.status}>
      <div className="card-head">
        <h2>WebGPU</h2>
        <span
          className={`status-pill status-pill--${gpu.status === 'ready' ? 'success' : gpu.status === 'missing' ? 'error' : 'loading'}`}
        >
          {gpu.status === 'ready' ? 'adapter ready' : gpu.status === 'missing' ? 'unavailable' : 'detecting…'}
        </span>
      </div>
      {gpu.status === 'ready' && (
        <>
          <dl className="kv">
            <dt>Vendor</dt>
            <dd data-testid="gpu-vendor">{gpu.info.vendor || '–'}</dd>
            <dt>Architecture</dt>
            <dd>{gpu.info.architecture || '–'}</dd>
            <dt>Description</dt>
            <dd>{gpu.info.description || gpu.info.device || '–'}</dd>
            <dt>Max storage binding</dt>
            <dd data-testid="gpu-max-storage">{formatBytes(gpu.info.limits.maxStorageBufferBindingSize)}</dd>
            <dt>Max buffer</dt>
            <dd data-testid="gpu-max-buffer">{formatBytes(gpu.info.limits.maxBufferSize)}</dd>
            <dt>Workgroup memory</dt>
            <dd>{formatBytes(gpu.info.limits.maxComputeWorkgroupStorageSize)}</dd>
          </dl>
          <ul className="features" aria-label="Features" data-testid="gpu-features">
            {HIGHLIGHT.map((f) => (
              <li key={f} className={gpu.info.features.includes(f) ? 'on' : 'off'}>
                {gpu.info.features.includes(f) ? '✓' : '✗'} {f}
              </li>
            ))}
          </ul>
          {gpu.info.isFallbackAdapter && (
            <p className="card-note">This is a fallback (software) adapter: expect it to be slow.</p>
          )}
          <details className="more">
            <summary>All features ({gpu.info.features.length})</summary>
            <p className="mono">{gpu.info.features.join(', ') || 'none'}</p>
          </details>
        </>
      )}
      {gpu.status === 'missing' && <p className="card-note">{gpu.detail}</p>}
      <ModelInfo />
    </section>
  );
}

/** The loaded model: its shape and what loading it took (in the worker, on its own WebGPU device). */
function ModelInfo() {
  const model = useApp((s) => s.playground.model);
  if (model.status !== 'ready') return null;
  const m = model.info;
  return (
    <dl className="kv kv--model" data-testid="model-info">
      <dt>Model</dt>
      <dd>{m.label}</dd>
      <dt>Shape</dt>
      <dd>
        {m.layers} layers · hidden {m.hidden} · vocab {m.vocabSize} · context {m.contextWindow}
      </dd>
      <dt>Weights</dt>
      <dd>
        {m.quantization} · {formatBytes(m.bytes)}
      </dd>
      <dt>Loaded in</dt>
      <dd data-testid="model-load-time">{(m.loadMs / 1000).toFixed(1)} s (download, upload, pipeline compile)</dd>
    </dl>
  );
}
