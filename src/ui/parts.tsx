/**
 * Small pieces the cards share: a labelled field (a select of fixed options, a number), a card's phase
 * pill, an error line, a dismissible notice, a figure of a stat grid, and a Delete button that asks first.
 */
import { useState, type ReactNode } from 'react';

/** A form control with its label's text above it; compact (as in the cards' forms) unless `className` says. */
export function Field({
  label,
  title,
  className = 'field field--compact',
  children,
}: {
  label: string;
  title?: string;
  className?: string;
  children: ReactNode;
}) {
  return (
    <label className={className} title={title}>
      <span className="field-label">{label}</span>
      {children}
    </label>
  );
}

/** A select of fixed string options, each shown as `text` gives it. */
export function SelectField<T extends string>({
  label,
  title,
  value,
  options,
  text = (option) => option,
  disabled,
  onChange,
  testId,
}: {
  label: string;
  title?: string;
  value: T;
  options: readonly T[];
  text?: (option: T) => ReactNode;
  disabled?: boolean;
  onChange: (value: T) => void;
  testId?: string;
}) {
  return (
    <Field label={label} title={title}>
      <select value={value} disabled={disabled} onChange={(e) => onChange(e.target.value as T)} data-testid={testId}>
        {options.map((option) => (
          <option key={option} value={option}>
            {text(option)}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** What a number input holds as a whole number in [min, max]: truncated; empty or not a number reads as min. */
export function wholeNumber(value: string, min: number, max = Infinity): number {
  return Math.min(max, Math.max(min, Math.trunc(Number(value) || min)));
}

/**
 * A number input; `onChange` gets the number that `read` makes of the text, and is not called when `read` says
 * null (the field then keeps its value). By default a whole number in [min, max] (see wholeNumber).
 */
export function NumberField({
  label,
  title,
  min,
  max,
  step,
  value,
  disabled,
  onChange,
  read = (text) => wholeNumber(text, min, max),
  testId,
}: {
  label: string;
  title?: string;
  min: number;
  max?: number;
  step?: number;
  value: number;
  disabled?: boolean;
  onChange: (value: number) => void;
  read?: (text: string) => number | null;
  testId?: string;
}) {
  return (
    <Field label={label} title={title}>
      <input
        type="number"
        min={min}
        max={max}
        step={step}
        value={value}
        disabled={disabled}
        onChange={(e) => {
          const number = read(e.target.value);
          if (number !== null) onChange(number);
        }}
        data-testid={testId}
      />
    </Field>
  );
}

/**
 * A card's phase in its head: `running` while it works, then failed, done or ended (anything else); the phase
 * itself in data-phase (the end-to-end tests wait on it).
 */
export function PhasePill({
  phase,
  running,
  testId,
  children,
}: {
  phase: string;
  running: boolean;
  testId: string;
  children: ReactNode;
}) {
  const pill = running ? 'running' : phase === 'error' ? 'error' : phase === 'done' ? 'success' : 'ended';
  return (
    <span className={`status-pill status-pill--${pill}`} data-testid={testId} data-phase={phase}>
      {children}
    </span>
  );
}

/** An error line, announced as it appears. */
export function ErrorText({ testId, children }: { testId?: string; children: ReactNode }) {
  return (
    <p className="error-text" role="alert" data-testid={testId}>
      {children}
    </p>
  );
}

/** A warning above the page's cards with a × that dismisses it. */
export function DismissibleNotice({
  testId,
  onDismiss,
  children,
}: {
  testId: string;
  onDismiss: () => void;
  children: ReactNode;
}) {
  return (
    <div className="notice notice--warning" role="alert" data-testid={testId}>
      <span>{children}</span>
      <button type="button" className="notice-close" onClick={onDismiss} aria-label="Dismiss message">
        ×
      </button>
    </div>
  );
}

/** One figure of a `stat-grid`: its name and its value. */
export function Stat({
  label,
  testId,
  title,
  children,
}: {
  label: ReactNode;
  testId?: string;
  title?: string;
  children: ReactNode;
}) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-testid={testId} title={title}>
        {children}
      </dd>
    </div>
  );
}

/**
 * "Delete…", then `question` with Delete and Keep: nothing is deleted before the second click. `name`, when
 * given, names the thing in the buttons' accessible names ("Delete x", "Yes, delete x", "Keep x").
 */
export function ConfirmDelete({
  question,
  name,
  disabled,
  onDelete,
}: {
  question: string;
  name?: string;
  disabled: boolean;
  onDelete: () => Promise<void>;
}) {
  const [confirming, setConfirming] = useState(false);
  const named = (text: string) => (name === undefined ? undefined : `${text} ${name}`);
  if (!confirming) {
    return (
      <button
        type="button"
        className="button button--small"
        disabled={disabled}
        onClick={() => setConfirming(true)}
        aria-label={named('Delete')}
      >
        Delete…
      </button>
    );
  }
  return (
    <span className="confirm">
      {question}{' '}
      <button
        type="button"
        className="button button--small"
        onClick={() => void onDelete().then(() => setConfirming(false))}
        aria-label={named('Yes, delete')}
      >
        Delete
      </button>
      <button
        type="button"
        className="button button--small"
        onClick={() => setConfirming(false)}
        aria-label={named('Keep')}
      >
        Keep
      </button>
    </span>
  );
}

/** A table's header row: a <th> per column that is not `false`; `titles` gives columns a tooltip by name. */
export function TableHead({
  columns,
  titles = {},
}: {
  columns: readonly (string | false)[];
  titles?: Readonly<Record<string, string>>;
}) {
  return (
    <thead>
      <tr>
        {columns.map(
          (column) =>
            column !== false && (
              <th key={column} title={titles[column]}>
                {column}
              </th>
            ),
        )}
      </tr>
    </thead>
  );
}
