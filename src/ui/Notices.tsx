import { useApp } from '../state/store';
import { DismissibleNotice } from './parts';
import { useSlice } from './useSlice';

/** Setup problems (e.g. an unknown task in the URL), dismissible. */
export function SetupNotices() {
  const { notices, dismissNotice: dismiss } = useSlice('playground', 'notices', 'dismissNotice');
  if (notices.length === 0) return null;
  return (
    <div className="notices">
      {notices.map((text, i) => (
        <DismissibleNotice key={text} testId="url-error" onDismiss={() => dismiss(i)}>
          {text}
        </DismissibleNotice>
      ))}
    </div>
  );
}

const REASON_TITLE = {
  'insecure-context': 'WebGPU needs a secure context',
  'no-webgpu': 'This browser has no WebGPU',
  'no-adapter': 'No WebGPU adapter is available',
  'adapter-error': 'WebGPU failed to start',
} as const;

/** Shown when WebGPU is missing: what is wrong and what to do. The environments keep working without it. */
export function WebGpuMissing() {
  const gpu = useApp((s) => s.gpu.webgpu);
  if (gpu.status !== 'missing') return null;
  return (
    <section
      className="notice notice--error webgpu-missing"
      role="alert"
      data-testid="webgpu-missing"
      data-problem={gpu.problem}
    >
      <div>
        <h2>{REASON_TITLE[gpu.problem]}</h2>
        <p>{gpu.detail}</p>
        <p>
          The environments and the 3D view below still work; running the language model (and training it) needs WebGPU.
          To enable it:
        </p>
        <ul>
          <li>
            Use a recent Chrome or Edge (version 113 or newer; Safari 26 and Firefox 141 on Windows also ship WebGPU).
          </li>
          <li>
            Turn on hardware acceleration (Chrome: Settings → System → “Use graphics acceleration when available”), then
            restart the browser.
          </li>
          <li>
            On Linux, enable <code>chrome://flags/#enable-unsafe-webgpu</code> (and <code>#enable-vulkan</code>), then
            restart.
          </li>
          <li>
            Open the playground over <code>https://</code> or from <code>http://localhost</code>; browsers hide WebGPU
            on plain http and <code>file://</code> pages.
          </li>
          <li>
            Check <code>chrome://gpu</code>: if WebGPU shows as blocklisted for your GPU or driver, update the driver.
          </li>
        </ul>
      </div>
    </section>
  );
}
