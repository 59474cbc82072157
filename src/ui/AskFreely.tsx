import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../state/store';
import { latestEntry } from '../state/timeline';
import type { FreeAnswer } from '../worker/ask-protocol';
import { NumberField } from './parts';

/** One answer: the text, and whether it is one of the offered actions. */
function Answer({
  who,
  label,
  answer,
  actions,
}: {
  who: 'base' | 'adapter';
  label: string;
  answer: FreeAnswer;
  actions: readonly string[];
}) {
  const matched = answer.action !== null;
  return (
    <li data-testid="ask-answer" data-who={who} data-match={matched ? 'yes' : 'no'} data-action={answer.action ?? ''}>
      <span className="field-label">{label}</span>
      <q className="ask-text" data-testid="ask-text">
        {answer.text}
      </q>
      <span className={`chip${matched ? ' chip--accent' : ''}`} data-testid="ask-verdict">
        {matched ? `offered action ${answer.action! + 1}: ${actions[answer.action!]}` : 'not an offered action'}
      </span>
      <span className="card-note">
        {answer.tokenIds.length} token{answer.tokenIds.length === 1 ? '' : 's'}, stopped at {STOP_TEXT[answer.stop]}
      </span>
    </li>
  );
}

const STOP_TEXT: Record<FreeAnswer['stop'], string> = {
  newline: 'a newline',
  eos: 'end of sequence',
  'max-tokens': 'the token limit',
  context: 'the context window',
};

type NumberOption = 'maxTokens' | 'temperature' | 'seed';

/** The answers' options, as number fields. */
const NUMBER_OPTIONS: readonly { key: NumberOption; label: string; min: number; max?: number; step: number }[] = [
  { key: 'maxTokens', label: 'Max tokens', min: 1, max: 256, step: 1 },
  { key: 'temperature', label: 'Temperature', min: 0, max: 10, step: 0.1 },
  { key: 'seed', label: 'Seed', min: 0, step: 1 },
];

/** Any finite number as typed; empty or not a number changes nothing. */
function readNumber(text: string): number | null {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : null;
}

/**
 * "Ask freely": the model continues the latest prompt as plain text, without the list of actions, with and
 * without the adapter in use; each text is marked with the offered action it names, if any. An LLM asked this
 * way often proposes what the environment does not offer, which is what TWOSOME's scoring of the offered
 * actions avoids.
 */
export function AskFreely() {
  const { options, phase, reply, error, ask, setOptions, latestStep, modelReady } = useApp(
    useShallow((s) => ({
      options: s.ask.options,
      phase: s.ask.phase,
      reply: s.ask.reply,
      error: s.ask.error,
      ask: s.ask.ask,
      setOptions: s.ask.setOptions,
      latestStep: latestEntry(s.playground)?.stepId ?? null,
      modelReady: s.playground.model.status === 'ready',
    })),
  );
  const current = reply !== null && reply.stepId === latestStep;
  return (
    <section className="card" aria-label="Ask freely" data-testid="ask-freely">
      <div className="card-head">
        <h2>Ask freely</h2>
      </div>
      <p className="card-note">
        The model continues the prompt as plain text, not choosing from the actions; with and without the adapter in
        use. A text counts as an offered action only if it equals one exactly (after trimming spaces).
      </p>
      <div className="toolbar">
        <button
          type="button"
          className="button"
          onClick={() => void ask()}
          disabled={!modelReady || phase === 'asking' || latestStep === null}
          data-testid="ask-freely-button"
        >
          {phase === 'asking' ? 'Asking…' : 'Ask freely'}
        </button>
        {NUMBER_OPTIONS.map(({ key, label, min, max, step }) => (
          <NumberField
            key={key}
            label={label}
            min={min}
            max={max}
            step={step}
            value={options[key]}
            onChange={(n) => setOptions({ [key]: n })}
            read={readNumber}
          />
        ))}
      </div>
      {phase === 'error' && error && (
        <p className="error-text" data-testid="ask-error">
          {error}
        </p>
      )}
      {reply && (
        <>
          {!current && <p className="card-note">These answers are about an earlier step; ask again for this one.</p>}
          <ol className="ask-answers" data-testid="ask-answers" data-step={reply.stepId}>
            <Answer who="base" label="Base model" answer={reply.base} actions={reply.actions} />
            {reply.adapted && (
              <Answer
                who="adapter"
                label={`With ${reply.adapterLabel ?? 'the adapter'}`}
                answer={reply.adapted}
                actions={reply.actions}
              />
            )}
          </ol>
          {!reply.adapted && <p className="card-note">No adapter is in use: train one or load one to compare.</p>}
          <p className="card-note">
            {reply.options.temperature === 0
              ? 'greedy'
              : `sampled at temperature ${reply.options.temperature}, seed ${reply.options.seed}`}{' '}
            · {Math.round(reply.ms)} ms
          </p>
        </>
      )}
    </section>
  );
}
