#!/usr/bin/env python3
"""
Checks that adapters move between twosome-web and Hugging Face PEFT, in both directions, on the Hugging Face
model that matches the built-in micro model (public/models/micro: Llama, hidden 64, 2 layers, 4 heads, 2 KV
heads, intermediate 128, vocab 710).

  1. twosome -> PEFT: a run directory's adapter_config.json + adapter_model.safetensors (written by
     `twosome train`) loads with PeftModel.from_pretrained; every LoRA tensor lands in the right module with no
     missing or unexpected keys, and each wrapped projection computes base(x) + (alpha/r) * B A x.
  2. PEFT -> twosome: an adapter PEFT saves with save_pretrained (q_proj, v_proj, r 8, alpha 16, B made
     non-zero) passes `twosome adapter inspect --model micro`, imports into a bundle and exports back to PEFT
     files whose tensors are bit-identical to PEFT's.

Not part of `npm test` (CI installs no Python). Run it where torch, transformers, peft and safetensors are
installed:  python3 scripts/verify-peft.py RUN_DIR   (RUN_DIR: a `twosome train --model micro` output)
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent


def micro_hf_model() -> LlamaForCausalLM:
    mlc = json.loads((ROOT / "public/models/micro/mlc-chat-config.json").read_text())["model_config"]
    config = LlamaConfig(
        hidden_size=mlc["hidden_size"],
        intermediate_size=mlc["intermediate_size"],
        num_attention_heads=mlc["num_attention_heads"],
        num_key_value_heads=mlc["num_key_value_heads"],
        num_hidden_layers=mlc["num_hidden_layers"],
        head_dim=mlc["head_dim"],
        vocab_size=mlc["vocab_size"],
        rms_norm_eps=mlc["rms_norm_eps"],
        rope_theta=mlc["position_embedding_base"],
        tie_word_embeddings=mlc["tie_word_embeddings"],
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    # What from_pretrained would set: PEFT writes it as base_model_name_or_path, which twosome checks.
    model.name_or_path = "micro"
    return model


def twosome(*args: str) -> str:
    out = subprocess.run(["node", str(ROOT / "bin/twosome.mjs"), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"twosome {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout


def check_ours_in_peft(run_dir: Path) -> None:
    ours = load_file(str(run_dir / "adapter_model.safetensors"))
    config = json.loads((run_dir / "adapter_config.json").read_text())
    assert any(t.abs().max() > 0 for name, t in ours.items() if "lora_B" in name), "the run's lora_B are all zero: train a few updates first"
    model = PeftModel.from_pretrained(micro_hf_model(), str(run_dir))
    params = dict(model.named_parameters())
    lora_params = {n for n in params if "lora_" in n}
    # PEFT names a loaded tensor "<saved name without .weight>.default.weight".
    expected = {n.replace(".weight", ".default.weight") for n in ours}
    assert lora_params == expected, f"missing {sorted(expected - lora_params)[:4]}, unexpected {sorted(lora_params - expected)[:4]}"
    for name, tensor in ours.items():
        loaded = params[name.replace(".weight", ".default.weight")]
        assert torch.equal(loaded.detach(), tensor), f"{name} changed on loading"
    scale = config["lora_alpha"] / config["r"]
    x = torch.randn(1, 3, model.config.hidden_size)
    for layer in range(model.config.num_hidden_layers):
        for target in config["target_modules"]:
            module = getattr(model.base_model.model.model.layers[layer].self_attn, target)
            a = ours[f"base_model.model.model.layers.{layer}.self_attn.{target}.lora_A.weight"]
            b = ours[f"base_model.model.model.layers.{layer}.self_attn.{target}.lora_B.weight"]
            with torch.no_grad():
                delta = module(x) - module.base_layer(x)
            want = scale * (x @ a.T @ b.T)
            err = (delta - want).abs().max().item()
            assert err < 1e-5, f"layer {layer} {target}: PEFT's delta differs from (alpha/r) B A x by {err}"
    print(f"ok  twosome -> PEFT: {len(ours)} tensors of {run_dir} load into PeftModel with no missing or unexpected keys; deltas equal (alpha/r) B A x")


def check_peft_in_ours(work: Path) -> None:
    model = get_peft_model(micro_hf_model(), LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    peft_dir = work / "peft"
    model.save_pretrained(str(peft_dir))
    summary = json.loads(twosome("adapter", "inspect", str(peft_dir), "--model", "micro", "--json"))
    bundle = work / "adapter.twosome.zip"
    twosome("adapter", "import", str(peft_dir), "--out", str(bundle), "--model", "micro")
    back = work / "back"
    twosome("adapter", "export", str(bundle), "--out", str(back))
    theirs = load_file(str(peft_dir / "adapter_model.safetensors"))
    again = load_file(str(back / "adapter_model.safetensors"))
    assert theirs.keys() == again.keys(), f"names differ: {sorted(set(theirs) ^ set(again))[:4]}"
    for name in theirs:
        assert theirs[name].dtype == again[name].dtype and torch.equal(theirs[name], again[name]), f"{name} differs after import/export"
    print(f"ok  PEFT -> twosome: save_pretrained output passes `adapter inspect` (r {summary.get('r', '?')}, base model {summary.get('baseModel', '?')}) and round-trips bit-identically ({len(theirs)} tensors)")


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    import peft
    import transformers

    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")
    check_ours_in_peft(Path(sys.argv[1]))
    with tempfile.TemporaryDirectory() as work:
        check_peft_in_ours(Path(work))


if __name__ == "__main__":
    main()
