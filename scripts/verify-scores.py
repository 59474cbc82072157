#!/usr/bin/env python3
"""
Checks TWOSOME's action scores against an independent implementation: Hugging Face transformers'
LlamaForCausalLM and the `tokenizers` library, fed with weights this script decodes from the MLC files itself
(its own reader of tensor-cache.json, bf16 widening and q4 group dequantization, written from the format
description in shared/platform.md, not from twosome's TypeScript).

For each case it runs `twosome score --json` (the WebGPU engine, shared-prompt batch) and compares:
  - promptTokenIds = [BOS] + tokenizers' ids of the prompt; each action's tokenIds = the suffix of
    ids(prompt + " " + action) after ids(prompt) (spec section 1.1), exactly;
  - each action's summed log-prob, from transformers run in float64 on BOS + prompt + action alone (one
    sequence per action: the original implementation's method), within 1e-4;
  - the three policies (sum, token, word: softmax of S, S / tokens, S / words), within 1e-4.

  python3 scripts/verify-scores.py                       the shipped micro model, every task, a few states each
  python3 scripts/verify-scores.py --model DIR           any MLC Llama model directory (q4f16_1, q4f32_1, q0f16, q0f32)
  python3 scripts/verify-scores.py --variants            also random models from `twosome make-model` covering
                                                         GQA and MHA, tied and untied, Llama-3 rope scaling and
                                                         every quantization make-model writes
  python3 scripts/verify-scores.py --adapter RUN_DIR     with a PEFT LoRA adapter (a `twosome train` run or
                                                         PEFT's save_pretrained output), applied by PeftModel

Not part of `npm test` (CI installs no Python). Needs torch, transformers, tokenizers (and peft for --adapter).
Exit 0 when every case agrees; 1 with the first disagreement otherwise.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-4
# (task, replayed action indices): starts, and states a few steps in.
CASES = [
    ("tomato-salad", ""),
    ("tomato-salad", "0,2"),
    ("tomato-lettuce-salad", "0"),
    ("food-preparation", ""),
    ("food-preparation", "0,1"),
    ("entertainment", "0,1"),
]


def twosome(*args: str) -> str:
    out = subprocess.run(["node", str(ROOT / "bin/twosome.mjs"), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"twosome {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout


# --- MLC files -> float64 tensors -------------------------------------------------------------------------


def read_tensors(model_dir: Path) -> dict[str, np.ndarray]:
    index_path = model_dir / "tensor-cache.json"
    if not index_path.exists():
        index_path = model_dir / "ndarray-cache.json"
    index = json.loads(index_path.read_text())
    tensors = {}
    for shard in index["records"]:
        data = (model_dir / shard["dataPath"]).read_bytes()
        for r in shard["records"]:
            raw = data[r["byteOffset"] : r["byteOffset"] + r["nbytes"]]
            if r["dtype"] == "float32" and r["format"] == "f32-to-bf16":
                # bf16: the high half of a float32.
                a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                a = np.frombuffer(raw, dtype={"float32": "<f4", "float16": "<f2", "uint32": "<u4"}[r["dtype"]])
            tensors[r["name"]] = a.reshape(r["shape"])
    return tensors


def dequantize_q4(q_weight: np.ndarray, q_scale: np.ndarray) -> np.ndarray:
    """W[n, k] = (nibble k % 8 of word k / 8, low first) - 7, times scale[n, k / 32]."""
    n, words = q_weight.shape
    shifts = (4 * np.arange(8, dtype=np.uint32))[None, None, :]
    q = (q_weight[:, :, None] >> shifts) & 0xF  # [n, words, 8]
    q = q.reshape(n, words * 8).astype(np.float64) - 7.0
    scale = np.repeat(q_scale.astype(np.float64), 32, axis=1)[:, : words * 8]
    return q * scale


def weight(tensors: dict[str, np.ndarray], name: str) -> np.ndarray:
    if f"{name}.q_weight" in tensors:
        return dequantize_q4(tensors[f"{name}.q_weight"], tensors[f"{name}.q_scale"])
    return tensors[f"{name}.weight"].astype(np.float64)


def hf_model(model_dir: Path) -> tuple[LlamaForCausalLM, dict]:
    chat = json.loads((model_dir / "mlc-chat-config.json").read_text())
    mc = chat["model_config"]
    if chat.get("model_type") != "llama":
        raise SystemExit(f"{model_dir}: model_type {chat.get('model_type')!r}; this check covers Llama models")
    H, KVH, D = mc["num_attention_heads"], mc["num_key_value_heads"], mc["hidden_size"]
    hd = mc.get("head_dim") or D // H
    rope = {"rope_type": "default", "rope_theta": float(mc["position_embedding_base"])}
    if mc.get("rope_scaling"):
        s = mc["rope_scaling"]
        rope = {**rope, "rope_type": "llama3", **{k: s[k] for k in ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")}}
    config = LlamaConfig(
        vocab_size=mc["vocab_size"],
        hidden_size=D,
        intermediate_size=mc["intermediate_size"],
        num_hidden_layers=mc["num_hidden_layers"],
        num_attention_heads=H,
        num_key_value_heads=KVH,
        head_dim=hd,
        rms_norm_eps=mc["rms_norm_eps"],
        max_position_embeddings=mc.get("context_window_size", 4096),
        tie_word_embeddings=mc["tie_word_embeddings"],
        rope_parameters=rope,
        bos_token_id=chat.get("bos_token_id", 1),
    )
    model = LlamaForCausalLM(config).double().eval()
    t = read_tensors(model_dir)
    state = {"model.embed_tokens.weight": weight(t, "model.embed_tokens"), "model.norm.weight": weight(t, "model.norm")}
    for i in range(mc["num_hidden_layers"]):
        p = f"model.layers.{i}"
        qkv = weight(t, f"{p}.self_attn.qkv_proj")  # rows: Q heads, then K, then V
        q, k, v = np.split(qkv, [H * hd, (H + KVH) * hd])
        gate, up = np.split(weight(t, f"{p}.mlp.gate_up_proj"), 2)
        state.update(
            {
                f"{p}.input_layernorm.weight": weight(t, f"{p}.input_layernorm"),
                f"{p}.post_attention_layernorm.weight": weight(t, f"{p}.post_attention_layernorm"),
                f"{p}.self_attn.q_proj.weight": q,
                f"{p}.self_attn.k_proj.weight": k,
                f"{p}.self_attn.v_proj.weight": v,
                f"{p}.self_attn.o_proj.weight": weight(t, f"{p}.self_attn.o_proj"),
                f"{p}.mlp.gate_proj.weight": gate,
                f"{p}.mlp.up_proj.weight": up,
                f"{p}.mlp.down_proj.weight": weight(t, f"{p}.mlp.down_proj"),
            }
        )
    state["lm_head.weight"] = state["model.embed_tokens.weight"] if mc["tie_word_embeddings"] else weight(t, "lm_head")
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=False)
    missing = [m for m in missing if not (m == "lm_head.weight" and mc["tie_word_embeddings"])]
    if missing or unexpected:
        raise SystemExit(f"{model_dir}: weights missing {missing[:4]} unexpected {unexpected[:4]}")
    model.name_or_path = model_dir.name
    return model, chat


# --- the check -----------------------------------------------------------------------------------------


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def check_case(model, tokenizer: Tokenizer, bos: int, model_arg: str, task: str, replay: str, adapter: str | None) -> float:
    args = ["score", "--model", model_arg, "--task", task, "--json"]
    if replay:
        args += ["--actions", replay]
    if adapter:
        args += ["--adapter", adapter]
    ours = json.loads(twosome(*args))
    where = f"{task} after [{replay}]"
    ids = lambda text: tokenizer.encode(text, add_special_tokens=False).ids
    prompt_ids = ids(ours["prompt"])
    if ours["promptTokenIds"] != [bos, *prompt_ids]:
        raise SystemExit(f"{where}: prompt tokens differ from tokenizers' ([BOS] + ids(prompt))")
    worst = 0.0
    S, n_tokens, n_words = [], [], []
    for a in ours["actions"]:
        joint = ids(f"{ours['prompt']} {a['text']}")
        want = joint[len(prompt_ids) :] if joint[: len(prompt_ids)] == prompt_ids else None
        if want is None or a["tokenIds"] != want:
            raise SystemExit(f"{where}: tokens of {a['text']!r} are {a['tokenIds']}, tokenizers gives {want}")
        seq = torch.tensor([[bos, *prompt_ids, *want]])
        with torch.no_grad():
            logp = torch.log_softmax(model(seq).logits[0].double(), dim=-1)
        first = 1 + len(prompt_ids)
        s = sum(logp[first - 1 + j, tok].item() for j, tok in enumerate(want))
        err = abs(s - a["logprob"])
        if err > TOL:
            raise SystemExit(f"{where}: log-prob of {a['text']!r} is {a['logprob']:.7f}, transformers gives {s:.7f} (diff {err:.2e})")
        worst = max(worst, err)
        S.append(s)
        n_tokens.append(len(want))
        n_words.append(len(a["text"].split()))
    S = np.array(S)
    for mode, scores in (("sum", S), ("token", S / np.array(n_tokens)), ("word", S / np.array(n_words))):
        diff = np.abs(softmax(scores) - np.array(ours["policy"][mode])).max()
        if diff > TOL:
            raise SystemExit(f"{where}: {mode} policy differs by {diff:.2e}")
        worst = max(worst, float(diff))
    return worst


def check_model(model_dir: Path, model_arg: str, adapter: str | None, label: str) -> None:
    model, chat = hf_model(model_dir)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).double().eval()
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    bos = chat.get("bos_token_id", 1)
    worst = max(check_case(model, tokenizer, bos, model_arg, task, replay, adapter) for task, replay in CASES)
    print(f"ok  {label}: {len(CASES)} states, tokens identical, log-probs and policies within {worst:.1e} of transformers (float64)")


VARIANTS = [
    ("mha q4f16_1 untied", ["--heads", "4", "--kv-heads", "4"]),
    ("gqa q4f32_1 tied llama3-rope", ["--quant", "q4f32_1", "--tie-embeddings", "true", "--rope-scaling", "llama3", "--seed", "3"]),
    ("gqa q0f32 untied", ["--quant", "q0f32", "--seed", "5"]),
    ("gqa 3 layers hidden 96 q4f16_1 tied", ["--hidden", "96", "--layers", "3", "--heads", "6", "--kv-heads", "2", "--intermediate", "160", "--tie-embeddings", "true", "--seed", "7"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="micro", help="micro or an MLC model directory")
    parser.add_argument("--adapter", help="PEFT LoRA adapter directory")
    parser.add_argument("--variants", action="store_true", help="also random make-model variants")
    args = parser.parse_args()
    import tokenizers
    import transformers

    print(f"torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}")
    model_dir = ROOT / "public/models/micro" if args.model == "micro" else Path(args.model)
    check_model(model_dir, args.model, args.adapter, f"{args.model}{' + ' + args.adapter if args.adapter else ''}")
    if args.variants:
        with tempfile.TemporaryDirectory() as work:
            for label, flags in VARIANTS:
                out = Path(work) / label.replace(" ", "-")
                twosome("make-model", "--out", str(out), *flags)
                check_model(out, str(out), None, label)


if __name__ == "__main__":
    main()
