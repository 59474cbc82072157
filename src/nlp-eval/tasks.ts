/**
 * The zero-shot templates of lm-evaluation-harness (EleutherAI, commit 4e7e0d47f33bc71070c1d38394bafbb52b117163,
 * `lm_eval/tasks/*`), one per benchmark, turning a parsed doc into its scored requests. The YAML lines quoted
 * above each task are the harness's; the Python quoted for Winogrande and HellaSwag is paraphrased from its
 * `preprocess_winogrande.py` and `hellaswag/utils.py`.
 *
 * How the harness builds a `multiple_choice` doc's requests (lm_eval/api/task.py, ConfigurableTask):
 * - context: `fewshot_context` with 0 shots = the task's `description` (if any) + `doc_to_text(doc)`;
 * - one request per choice: `(context, target_delimiter + choice)` for each `choice in doc_to_choice(doc)`,
 *   `target_delimiter` defaulting to " " (lm_eval/config/task.py); the gold index is `doc_to_target(doc)`;
 * - "multiple input" tasks (Winogrande: doc_to_text returns an int) swap the roles: each choice is a context,
 *   the continuation is " " + doc_to_target(doc) for all of them, and the gold index is doc_to_text(doc).
 */
import type { ArcDoc } from './formats/arc';
import type { BoolqDoc } from './formats/boolq';
import type { HellaswagDoc } from './formats/hellaswag';
import type { MmluDoc } from './formats/mmlu';
import type { OpenbookqaDoc } from './formats/openbookqa';
import type { PiqaDoc } from './formats/piqa';
import type { SiqaDoc } from './formats/siqa';
import type { WinograndeDoc } from './formats/winogrande';
import { pyCapitalize, pyLstrip, pyStrip } from './python-str';
import type { ChoiceText } from './question';

/** `target_delimiter`'s default (lm_eval/config/task.py). */
export const TARGET_DELIMITER = ' ';

/** A doc's requests and gold index. */
export interface DocRequests {
  gold: number;
  choices: ChoiceText[];
}

/** Context + " " + choice for each choice (every task but Winogrande). */
function standard(context: string, choices: readonly string[], gold: number): DocRequests {
  if (!Number.isInteger(gold) || gold < 0 || gold >= choices.length) {
    throw new RangeError(`gold index ${gold} outside the ${choices.length} choices`);
  }
  return { gold, choices: choices.map((text) => ({ text, context, continuation: TARGET_DELIMITER + text })) };
}

// arc/arc_easy.yaml (arc_challenge.yaml includes it with dataset_name: ARC-Challenge):
//   doc_to_text: "Question: {{question}}\nAnswer:"
//   doc_to_target: "{{choices.label.index(answerKey)}}"
//   doc_to_choice: "{{choices.text}}"
//   metric_list: acc, acc_norm
export function arcRequests(doc: ArcDoc): DocRequests {
  return standard(`Question: ${doc.question}\nAnswer:`, doc.choices.text, doc.choices.label.indexOf(doc.answerKey));
}

// piqa/piqa.yaml:
//   doc_to_text: "Question: {{goal}}\nAnswer:"
//   doc_to_target: label
//   doc_to_choice: "{{[sol1, sol2]}}"
//   metric_list: acc, acc_norm
export function piqaRequests(doc: PiqaDoc): DocRequests {
  return standard(`Question: ${doc.goal}\nAnswer:`, [doc.sol1, doc.sol2], doc.label);
}

// super_glue/boolq/default.yaml:
//   doc_to_text: "{{passage}}\nQuestion: {{question}}?\nAnswer:"
//   doc_to_target: label
//   doc_to_choice: ["no", "yes"]
//   metric_list: acc
export function boolqRequests(doc: BoolqDoc): DocRequests {
  return standard(`${doc.passage}\nQuestion: ${doc.question}?\nAnswer:`, ['no', 'yes'], doc.label);
}

// siqa/siqa.yaml:
//   doc_to_text: "Q: {{context}} {{question}}\nA:"
//   target_delimiter: " "
//   doc_to_choice: "{{[answerA, answerB, answerC]}}"
//   doc_to_target: "{{ (label|int) - 1 }}"
//   metric_list: acc
export function siqaRequests(doc: SiqaDoc): DocRequests {
  const choices = [doc.answerA, doc.answerB, doc.answerC];
  return standard(`Q: ${doc.context} ${doc.question}\nA:`, choices, Number(doc.label) - 1);
}

// openbookqa/openbookqa.yaml:
//   doc_to_text: question_stem
//   doc_to_target: "{{choices.label.index(answerKey.lstrip())}}"
//   doc_to_choice: "{{choices.text}}"
//   metric_list: acc, acc_norm
export function openbookqaRequests(doc: OpenbookqaDoc): DocRequests {
  return standard(doc.question_stem, doc.choices.text, doc.choices.label.indexOf(pyLstrip(doc.answerKey)));
}

// mmlu/default/_default_template_yaml:
//   doc_to_text: "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}
//                 \nAnswer:"   (one line in the YAML, split here)
//   doc_to_choice: ["A", "B", "C", "D"]
//   doc_to_target: answer
//   metric_list: acc
// and per subject (mmlu/default/mmlu_<subject>.yaml, made by _generate_configs.py), e.g.
//   "description": "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
// (the subject's words joined by spaces).
export function mmluDescription(subject: string): string {
  return `The following are multiple choice questions (with answers) about ${subject.split('_').join(' ')}.\n\n`;
}

export function mmluRequests(doc: MmluDoc): DocRequests {
  const [a, b, c, d] = doc.choices;
  const text = `${pyStrip(doc.question)}\nA. ${a}\nB. ${b}\nC. ${c}\nD. ${d}\nAnswer:`;
  return standard(mmluDescription(doc.subject) + text, ['A', 'B', 'C', 'D'], doc.answer);
}

// hellaswag/hellaswag.yaml with utils.py:
//   process_docs: !function utils.process_docs
//   doc_to_text: "{{query}}"
//   doc_to_target: "{{label}}"       (process_docs also sets gold = int(label), the same index)
//   doc_to_choice: "choices"
//   metric_list: acc, acc_norm
// utils.process_docs, per doc:
//   ctx = ctx_a + " " + ctx_b.capitalize()
//   query = preprocess(activity_label + ": " + ctx);  choices = [preprocess(e) for e in endings]
// utils.preprocess(text): text.strip(); replace " [title]" by ". "; delete every re "\[.*?\]"; replace "  " by " ".
export function hellaswagPreprocess(text: string): string {
  // "Brackets are artifacts of the WikiHow dataset portion of HellaSwag" (utils.py).
  return pyStrip(text)
    .replaceAll(' [title]', '. ')
    .replace(/\[.*?\]/g, '')
    .replaceAll('  ', ' ');
}

export function hellaswagRequests(doc: HellaswagDoc): DocRequests {
  const ctx = `${doc.ctx_a} ${pyCapitalize(doc.ctx_b)}`;
  const query = hellaswagPreprocess(`${doc.activity_label}: ${ctx}`);
  return standard(query, doc.endings.map(hellaswagPreprocess), doc.label);
}

// winogrande/default.yaml with preprocess_winogrande.py (partial scoring, a "multiple input" task):
//   doc_to_text: !function preprocess_winogrande.doc_to_text      -> {"1": 0, "2": 1}[answer], the gold index
//   doc_to_target: !function preprocess_winogrande.doc_to_target  -> sentence[sentence.index("_") + 1:].strip()
//   doc_to_choice: !function preprocess_winogrande.doc_to_choice
//                                    -> [sentence[:idx] + option1, sentence[:idx] + option2], idx = index of "_"
//   metric_list: acc
// Each choice is a context (the sentence up to the blank, completed by the option); the continuation, the rest
// of the sentence, is the same for both; the prediction is the context under which it is most likely.
export function winograndeRequests(doc: WinograndeDoc): DocRequests {
  const blank = doc.sentence.indexOf('_');
  const target = pyStrip(doc.sentence.slice(blank + 1));
  const contexts = [doc.sentence.slice(0, blank) + doc.option1, doc.sentence.slice(0, blank) + doc.option2];
  const choices = contexts.map((text) => ({ text, context: text, continuation: TARGET_DELIMITER + target }));
  return { gold: { '1': 0, '2': 1 }[doc.answer], choices };
}
