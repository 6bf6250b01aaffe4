#!/usr/bin/env python3
"""Checks the Java runtime against Hugging Face transformers, on a machine with PyTorch and transformers.

Inputs are folders written by `bin/gemma dump-logits` (each holds manifest.json, ids.npy, logits_f32.npy,
logits_bf16.npy, for images pixel_values.npy, soft_*.npy and the image file, and the generated TorchScript).
For each folder it:

  1. loads the checkpoint with transformers (Gemma3ForCausalLM or Gemma3ForConditionalGeneration, eager
     attention) in float32 and bfloat16 and compares its logits with the runtime's (computed on a CPU);
  2. for images, compares transformers' vision tower + projector output with the runtime's soft tokens, and
     transformers' Gemma3ImageProcessor pixels with the runtime's preprocessing of the same file;
  3. runs the runtime's own generated TorchScript (torch.jit.load) on CUDA, with the checkpoint's tensors
     uploaded through the module's load_* methods, and compares with transformers on the same device.

With --shape-dir DIR (a folder holding a config.json and the TorchScript from `dump-logits --torchscript-only`)
it also builds a random model of that full-size shape with transformers on the GPU and compares the runtime's
TorchScript with it on a prompt longer than the sliding window, then times prefill and decode steps. With
--graph-ab (and --shape-dir) it then runs an A/B of the graph executor on the same TorchScript: decode steps with
growing contexts, graph-executor optimisation off with exact shapes (as the runtime's default, GraphMode.PLAIN)
against optimisation on (profiling executor, TensorExpr fuser) with shapes bucketed as the runtime's
GraphMode.OPTIMIZED pads them (ShapeBuckets), alternating off/on per round; it prints ms per step, the fusion groups
of the last optimised graph and the logits difference between the two. With --replay DIR (a folder
written by `bin/gemma record-steps`) it replays a step sequence recorded from the Java engine on the CPU (chunked
prefills beside decodes, a prefix-cache hit, greedy and seeded sampling) through the runtime's TorchScript on the
device, with a KV cache of the recorded geometry, and requires the CPU run's tokens exactly in float32. With
--vision-shape-dir DIR (a multimodal config, e.g. the 4B one) it does the same for the SigLIP tower and projector
(896x896 images, 4096 patches, 256 soft tokens) and times encoding.

Prints one JSON line per check; exits 1 when a check exceeds its tolerance. TF32 is disabled so float32 on
CUDA is float32.
"""
import argparse
import json
import os
import sys
import time
import traceback

import numpy as np
import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
# As GemmaModel does in Java by default: no graph-executor re-specialisation per input shape (shapes change every
# step); --graph-ab turns it on per call (torch.jit.optimized_execution) for its "on" runs only.
for _setter in ("_set_graph_executor_optimize", "_jit_set_graph_executor_optimize"):
    if hasattr(torch._C, _setter):
        getattr(torch._C, _setter)(False)
        break

# Tolerances on the largest row-wise relative L2 error of the logits (the Java tests use the same bounds).
F32_TOL = 1e-4
BF16_TOL = 3e-2
# Two bf16 implementations round differently, so bf16 is judged against float32: the runtime's bf16 error may be
# at most this factor times transformers' own bf16 error (or BF16_TOL, whichever is larger).
BF16_VS_HF_FACTOR = 1.25
PIXEL_TOL = 1e-5  # absolute, on values in [-1, 1]

FAILURES = []
OUT = None

# The text module's weight list (TensorTable.textModule(), FusedKind order): per entry, the module method that builds
# it from its parts and the parts' checkpoint names with the held form passed to the module's load (0 matrix, 1 norm).
LAYER_ENTRIES = [
    ("prep_attn_qkv", [("self_attn.q_proj.weight", 0), ("self_attn.k_proj.weight", 0),
                       ("self_attn.v_proj.weight", 0), ("input_layernorm.weight", 1)]),
    ("prep_attn_qk_norm", [("self_attn.q_norm.weight", 1), ("self_attn.k_norm.weight", 1)]),
    ("prep_attn_output", [("self_attn.o_proj.weight", 0)]),
    ("prep_attn_post_norm", [("post_attention_layernorm.weight", 1)]),
    ("prep_ffn_gate_up", [("mlp.gate_proj.weight", 0), ("mlp.up_proj.weight", 0),
                          ("pre_feedforward_layernorm.weight", 1)]),
    ("prep_ffn_down", [("mlp.down_proj.weight", 0)]),
    ("prep_ffn_post_norm", [("post_feedforward_layernorm.weight", 1)]),
]
MODEL_ENTRIES = [("prep_token_embedding", [("embed_tokens.weight", 0)]), ("prep_output_norm", [("norm.weight", 1)])]
# GemmaScript's input layout: contexts padded to a multiple of CONTEXT_ALIGN, padding keys at PAD_POSITION.
CONTEXT_ALIGN = 16
PAD_POSITION = 1 << 60


def emit(record):
    line = json.dumps(record, sort_keys=False)
    print(line, flush=True)
    if OUT:
        with open(os.path.join(OUT, "parity.jsonl"), "a") as f:
            f.write(line + "\n")


def rel_error(actual, expected):
    a = np.asarray(actual, dtype=np.float64).reshape(len(expected), -1)
    b = np.asarray(expected, dtype=np.float64).reshape(len(expected), -1)
    per_row = np.linalg.norm(a - b, axis=1) / np.maximum(np.linalg.norm(b, axis=1), 1e-30)
    return float(per_row.max())


def compare(check, actual, expected, tol, **extra):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    err = rel_error(actual, expected)
    rec = {"check": check, "rel_error": err, "tolerance": tol, "ok": err <= tol,
           "max_abs_diff": float(np.abs(actual - expected).max()),
           "argmax_agree": float((actual.reshape(len(expected), -1).argmax(1)
                                  == expected.reshape(len(expected), -1).argmax(1)).mean())}
    rec.update(extra)
    emit(rec)
    if not rec["ok"]:
        FAILURES.append(check)


def compare_bf16(check, ours, hf_bf16, ref_f32, **extra):
    """The runtime's bf16 logits against float32 truth, next to transformers' bf16 against the same truth."""
    ours_err = rel_error(ours, ref_f32)
    hf_err = rel_error(hf_bf16, ref_f32)
    bound = max(BF16_TOL, BF16_VS_HF_FACTOR * hf_err)
    rec = {"check": check, "rel_error_vs_f32": ours_err, "hf_bf16_rel_error_vs_f32": hf_err,
           "rel_error_vs_hf_bf16": rel_error(ours, hf_bf16), "bound": bound, "ok": ours_err <= bound,
           "argmax_agree_with_f32": float((np.asarray(ours).reshape(len(ref_f32), -1).argmax(1)
                                           == np.asarray(ref_f32).reshape(len(ref_f32), -1).argmax(1)).mean())}
    rec.update(extra)
    emit(rec)
    if not rec["ok"]:
        FAILURES.append(check)


def guarded(name, fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # report and go on: one broken check must not hide the others
        emit({"check": name, "ok": False, "error": repr(e), "trace": traceback.format_exc()[-2000:]})
        FAILURES.append(name)
        return None


def load_hf(path, multimodal, dtype, device):
    import transformers
    cls = transformers.Gemma3ForConditionalGeneration if multimodal else transformers.Gemma3ForCausalLM
    try:
        model = cls.from_pretrained(path, dtype=dtype, attn_implementation="eager")
    except TypeError:
        model = cls.from_pretrained(path, torch_dtype=dtype, attn_implementation="eager")
    return model.to(device).eval()


def hf_logits(model, ids, manifest, pixel_values, device, dtype):
    input_ids = torch.tensor(ids, dtype=torch.long, device=device)[None]
    kwargs = {"input_ids": input_ids}
    if pixel_values is not None:
        tt = np.zeros(len(ids), dtype=np.int64)
        tt[np.asarray(manifest["softPositions"], dtype=np.int64)] = 1
        kwargs["pixel_values"] = torch.tensor(pixel_values, device=device, dtype=dtype)
        kwargs["token_type_ids"] = torch.tensor(tt, device=device)[None]
    with torch.no_grad():
        return model(**kwargs).logits[0].float().cpu().numpy()


def hf_image_features(model, pixel_values, device, dtype):
    with torch.no_grad():
        out = model.get_image_features(pixel_values=torch.tensor(pixel_values, device=device, dtype=dtype))
    if not torch.is_tensor(out):
        out = out.pooler_output if getattr(out, "pooler_output", None) is not None else out[0]
    return out.float().reshape(-1, out.shape[-1]).cpu().numpy()


def check_image_processor(d, manifest, pixel_values):
    from PIL import Image
    from transformers import Gemma3ImageProcessor
    size = manifest["imageSize"]
    proc = Gemma3ImageProcessor(size={"height": size, "width": size}, resample=Image.BILINEAR, do_rescale=True,
                                rescale_factor=1 / 255, do_normalize=True, image_mean=[0.5] * 3,
                                image_std=[0.5] * 3, do_convert_rgb=True, do_pan_and_scan=False)
    emit({"image_processor_class": type(proc).__module__ + "." + type(proc).__name__})
    theirs = proc(images=Image.open(os.path.join(d, manifest["images"][0])), return_tensors="np")["pixel_values"]
    ours = pixel_values[:1].astype(np.float64)
    delta = np.abs(theirs.astype(np.float64) - ours)
    # transformers may resize with torchvision instead of PIL: allow one 8-bit level (2/255 after normalising)
    # there, and hold the runtime to PIL itself exactly below.
    level = 2 / 255 + PIXEL_TOL
    ok = float(delta.max()) <= level
    emit({"check": "image_processor_transformers", "dir": d, "max_abs_diff": float(delta.max()),
          "values_differing": float((delta > PIXEL_TOL).mean()), "tolerance": level, "ok": ok})
    if not ok:
        FAILURES.append("image_processor_transformers")
    img = Image.open(os.path.join(d, manifest["images"][0])).convert("RGB").resize((size, size), Image.BILINEAR)
    pil = (np.asarray(img, dtype=np.float64).transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    diff = float(np.abs(pil - ours[0]).max())
    ok = diff <= PIXEL_TOL
    emit({"check": "image_preprocessing_vs_pil", "dir": d, "max_abs_diff": diff, "tolerance": PIXEL_TOL, "ok": ok})
    if not ok:
        FAILURES.append("image_preprocessing_vs_pil")


# ---- the runtime's TorchScript, driven from Python ----

def text_prefix(state_dict):
    for k in state_dict:
        if k.endswith("embed_tokens.weight") and "vision" not in k:
            return k[: -len("embed_tokens.weight")]
    raise KeyError("no embed_tokens.weight in " + ", ".join(list(state_dict)[:5]))


def upload_weights(module, tensors, layers, device):
    """Builds the module's weight list as GemmaModel.load does: raw file bytes through the module's load method,
    each entry's parts through its prep_* method (fusing Q/K/V and gate/up, folding and scaling norms)."""
    prefix = text_prefix(tensors)

    def load(t, held):
        t = t.contiguous()
        if t.dtype not in TORCH_DTYPE_CODES:
            t = t.float()
        raw = t.view(torch.uint8).reshape(-1).to(device)
        return module.load(raw, TORCH_DTYPE_CODES[t.dtype], list(t.shape), held)

    lst = module.new_list()
    entries = [(f"layers.{i}.", e) for i in range(layers) for e in LAYER_ENTRIES] + [("", e) for e in MODEL_ENTRIES]
    for layer, (prep, parts) in entries:
        loaded = [load(tensors[prefix + layer + name], held) for name, held in parts]
        lst = module.append(lst, getattr(module, prep)(loaded))
    return lst


def align(n):
    return (n + CONTEXT_ALIGN - 1) // CONTEXT_ALIGN * CONTEXT_ALIGN


def pad_cols(t, width, fill):
    """(rows, n) -> (rows, width), the new columns set to fill."""
    out = torch.full((t.shape[0], width), fill, dtype=torch.long, device=t.device)
    out[:, :t.shape[1]] = t
    return out.reshape(-1)


def pack_step(q, ids, pos, wslot, rows, soft_idx, soft, ctx, kpos, spans_q=None, spans_k=None):
    """forward()'s packed inputs for one attention group (GemmaScript's table): B sequences of q new tokens each in
    flat order (q == 1: decode; else B == 1), each with the same context slots for both layer types, shipped as slots
    (not as blocks). ctx, kpos: (B, L); spans_*: image span per query / key (-1: text), for a single multi-token
    sequence with images."""
    b = ids.shape[0] // q
    width = align(ctx.shape[1])
    sections = [ids, pos, wslot, wslot, rows, soft_idx]
    for _ in range(2):  # sliding, then full: the same slots here
        sections += [pad_cols(ctx, width, 0), pad_cols(kpos, width, PAD_POSITION)]
    images = spans_q is not None
    if images:
        sections += [spans_q.reshape(-1), pad_cols(spans_k, width, -1), pad_cols(spans_k, width, -1)]
    dims = [ids.shape[0], rows.shape[0], soft_idx.shape[0], 1, 0, b, q, width, width, 1 if images else 0, 0, 0]
    return dict(buf=torch.cat(sections), sizes=[int(x.shape[0]) for x in sections], dims=dims, soft=soft)


def prefill_args(ids, device, soft=None, soft_positions=(), spans=()):
    """forward() arguments of one sequence's prefill over slots 0..T-1."""
    t = len(ids)
    ar = torch.arange(t, dtype=torch.long, device=device)
    soft_idx = torch.tensor(list(soft_positions), dtype=torch.long, device=device)
    soft_t = (torch.tensor(soft, dtype=torch.float32, device=device) if soft is not None
              else torch.zeros((0, 1), dtype=torch.float32, device=device))
    ids = list(ids)
    for p in soft_positions:  # as BatchTensors does: image tokens look up row 0, then are replaced
        ids[p] = 0
    grp = None
    if spans:
        grp = torch.full((1, t), -1, dtype=torch.long, device=device)
        for k, (start, length) in enumerate(spans):
            grp[0, start:start + length] = k
    return pack_step(t, torch.tensor(ids, dtype=torch.long, device=device), ar, ar, ar, soft_idx, soft_t, ar[None],
                     ar[None], grp, grp)


def run_script(module, w, layers, args, slots, device):
    kv = module.alloc_cache([slots] * layers, args["buf"])
    with torch.no_grad():
        out = module.forward(w, kv, module.rows_view(kv), args["buf"], args["sizes"], args["dims"], args["soft"])
    return out, kv


def check_dump(d, device):
    from safetensors.torch import load_file
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    ckpt = manifest["model"] if os.path.isdir(manifest["model"]) else os.path.join(d, "ckpt")
    ids = np.load(os.path.join(d, "ids.npy"))
    ours = {p: np.load(os.path.join(d, f"logits_{p}.npy")) for p in ("f32", "bf16")}
    multimodal = "images" in manifest
    pixels = np.load(os.path.join(d, "pixel_values.npy")) if multimodal else None
    name = os.path.basename(os.path.normpath(d))
    emit({"dir": name, "tokens": int(len(ids)), "multimodal": multimodal, "checkpoint": ckpt})

    if multimodal:
        guarded(name + ":image_processor", check_image_processor, d, manifest, pixels)

    hf = {}
    for label, dtype, dev in (("f32_cpu", torch.float32, "cpu"), ("f32_cuda", torch.float32, device),
                              ("bf16_cuda", torch.bfloat16, device)):
        def run(label=label, dtype=dtype, dev=dev):
            m = load_hf(ckpt, multimodal, dtype, dev)
            hf[label] = hf_logits(m, ids, manifest, pixels, dev, dtype)
            if multimodal and label != "f32_cpu":
                soft = np.load(os.path.join(d, "soft_f32.npy" if dtype == torch.float32 else "soft_bf16.npy"))
                compare(f"{name}:soft_tokens:runtime_vs_hf_{label}", soft,
                        hf_image_features(m, pixels, dev, dtype), F32_TOL if dtype == torch.float32 else BF16_TOL)
            del m
        guarded(f"{name}:hf_{label}", run)
    if "f32_cpu" in hf:
        compare(f"{name}:logits:runtime_f32_vs_hf_f32_cpu", ours["f32"], hf["f32_cpu"], F32_TOL)
    if "f32_cuda" in hf:
        compare(f"{name}:logits:runtime_f32_vs_hf_f32_cuda", ours["f32"], hf["f32_cuda"], F32_TOL)
        compare(f"{name}:logits:runtime_bf16_vs_hf_f32_cuda", ours["bf16"], hf["f32_cuda"], BF16_TOL)
    if "bf16_cuda" in hf and "f32_cuda" in hf:
        compare_bf16(f"{name}:logits:runtime_bf16_vs_hf_bf16_cuda", ours["bf16"], hf["bf16_cuda"], hf["f32_cuda"])

    # The generated TorchScript on CUDA, weights straight from the checkpoint files.
    tensors = {}
    for f in sorted(os.listdir(ckpt)):
        if f.endswith(".safetensors"):
            tensors.update(load_file(os.path.join(ckpt, f)))
    layers = manifest["layers"]
    soft_positions = manifest.get("softPositions", [])
    spans = list(zip(manifest.get("spanStarts", []), manifest.get("spanLengths", [])))
    for path, tag, ref_label, tol in (("F32", "f32", "f32_cuda", F32_TOL), ("BF16_PLAIN", "bf16", "bf16_cuda", BF16_TOL)):
        def run_ts(path=path, tag=tag, ref_label=ref_label, tol=tol):
            module = torch.jit.load(os.path.join(d, manifest["torchscript"][path]), map_location=device)
            w = upload_weights(module, tensors, layers, device)
            soft = np.load(os.path.join(d, f"soft_{tag}.npy")) if multimodal else None
            args = prefill_args(ids.tolist(), device, soft, soft_positions, spans)
            out, _ = run_script(module, w, layers, args, len(ids), device)
            got = out.float().cpu().numpy()
            compare(f"{name}:torchscript_{path}_cuda_vs_runtime_cpu_{tag}", got, ours[tag], tol)
            if path == "F32" and ref_label in hf:
                compare(f"{name}:torchscript_{path}_cuda_vs_hf_{ref_label}", got, hf[ref_label], tol)
            elif ref_label in hf and "f32_cuda" in hf:
                compare_bf16(f"{name}:torchscript_{path}_cuda_vs_hf_{ref_label}", got, hf[ref_label], hf["f32_cuda"])
        guarded(f"{name}:torchscript_{path}", run_ts)


def check_shape(d, device, prompt_len, decode_batches, graph_ab_steps=0):
    """A full-size random model of the config's shape: TorchScript vs transformers on CUDA, then step timings."""
    import transformers
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    cfg = transformers.Gemma3TextConfig.from_json_file(os.path.join(d, "config.json"))
    torch.manual_seed(0)
    try:
        cfg._attn_implementation = "eager"
    except Exception:  # older or newer config classes: set it on the model below
        pass
    with torch.device(device):
        ref = transformers.Gemma3ForCausalLM(cfg)
    if hasattr(ref, "set_attn_implementation"):
        ref.set_attn_implementation("eager")
    ref = ref.to(device=device, dtype=torch.float32).eval()
    emit({"shape_config": {"attn": getattr(ref.config, "_attn_implementation", None),
                           "rope": str(getattr(cfg, "rope_parameters", getattr(cfg, "rope_scaling", None))),
                           "layer_types": list(getattr(cfg, "layer_types", []) or [])[:8]}})
    with torch.no_grad():  # random norms too, so (1 + w) is exercised
        for n, p in ref.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(torch.randn_like(p) * 0.1)
            else:
                p.copy_(torch.randn_like(p) * 0.02)
    layers = manifest["layers"]
    window = cfg.sliding_window
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, cfg.vocab_size, (prompt_len,), generator=g).tolist()
    emit({"shape": os.path.basename(os.path.normpath(d)), "layers": layers, "hidden": cfg.hidden_size,
          "window": window, "prompt_tokens": prompt_len, "device": torch.cuda.get_device_name(0)})
    state = {k: v.detach() for k, v in ref.state_dict().items()}
    if not any(k.endswith("embed_tokens.weight") for k in state):
        raise KeyError("unexpected state dict keys: " + ", ".join(list(state)[:5]))
    input_ids = torch.tensor(ids, device=device)[None]
    truth = {}
    for path, dtype, tol in (("F32", torch.float32, F32_TOL), ("BF16_PLAIN", torch.bfloat16, BF16_TOL)):
        def one(path=path, dtype=dtype, tol=tol):
            model = ref.to(dtype)
            with torch.no_grad():
                expected = model(input_ids=input_ids).logits[0].float().cpu().numpy()
            module = torch.jit.load(os.path.join(d, manifest["torchscript"][path]), map_location=device)
            w = upload_weights(module, {k: v.to(dtype) for k, v in state.items()}, layers, device)
            args = prefill_args(ids, device)
            out, _ = run_script(module, w, layers, args, prompt_len, device)
            got = out.float().cpu().numpy()
            if dtype == torch.float32:
                truth["f32"] = expected
                compare("shape:torchscript_F32_cuda_vs_hf_f32_cuda", got, expected, tol, prompt_tokens=prompt_len,
                        window=window)
            else:
                compare_bf16("shape:torchscript_BF16_PLAIN_cuda_vs_hf_bf16_cuda", got, expected, truth["f32"],
                             prompt_tokens=prompt_len, window=window)
            if path == "BF16_PLAIN":
                time_steps(module, w, layers, ids, device, decode_batches)
                if graph_ab_steps > 0:
                    graph_ab(module, w, layers, prompt_len, device, decode_batches, graph_ab_steps, 2)
        guarded("shape:" + path, one)


SIGLIP_BLOCK = [  # TensorKind's VISION_LAYER order, with the held form passed to load (0: matrix, 2: float32 as is)
    ("layer_norm1.weight", 2), ("layer_norm1.bias", 2), ("self_attn.q_proj.weight", 0), ("self_attn.q_proj.bias", 2),
    ("self_attn.k_proj.weight", 0), ("self_attn.k_proj.bias", 2), ("self_attn.v_proj.weight", 0),
    ("self_attn.v_proj.bias", 2), ("self_attn.out_proj.weight", 0), ("self_attn.out_proj.bias", 2),
    ("layer_norm2.weight", 2), ("layer_norm2.bias", 2), ("mlp.fc1.weight", 0), ("mlp.fc1.bias", 2),
    ("mlp.fc2.weight", 0), ("mlp.fc2.bias", 2),
]
TORCH_DTYPE_CODES = {torch.bfloat16: 15, torch.float16: 5, torch.float32: 6}


def sync_time(fn, reps):
    """Seconds per call of fn on the GPU: one warm-up call, then the mean of reps calls between synchronisations."""
    fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / reps


def upload_siglip(module, tower, proj, layers, device):
    """The encoder's weight list as ImageEncoder.load builds it: raw bytes through the module's load method."""
    t = {k: v.detach() for k, v in tower.state_dict().items()}
    p = {k: v.detach() for k, v in proj.state_dict().items()}
    lst = module.new_list()

    def key(state, suffix):  # transformers versions differ in the module prefix ("vision_model." or none)
        found = [k for k in state if k == suffix or k.endswith("." + suffix)]
        if len(found) != 1:
            raise KeyError(f"{suffix}: {found or list(state)[:4]}")
        return state[found[0]]

    def add(tensor, kind):
        tensor = tensor.contiguous()
        raw = tensor.view(torch.uint8).reshape(-1).to(device)
        return module.append(lst, module.load(raw, TORCH_DTYPE_CODES[tensor.dtype], list(tensor.shape), kind))

    lst = add(key(t, "embeddings.patch_embedding.weight"), 0)
    lst = add(key(t, "embeddings.patch_embedding.bias"), 2)
    lst = add(key(t, "embeddings.position_embedding.weight"), 2)
    for i in range(layers):
        for name, kind in SIGLIP_BLOCK:
            lst = add(key(t, f"encoder.layers.{i}.{name}"), kind)
    lst = add(key(t, "post_layernorm.weight"), 2)
    lst = add(key(t, "post_layernorm.bias"), 2)
    lst = add(key(p, "mm_soft_emb_norm.weight"), 1)
    lst = add(key(p, "mm_input_projection_weight"), 3)
    return lst


def check_vision_shape(d, device, batches):
    """The full SigLIP tower + projector of a multimodal config: the runtime's TorchScript vs transformers."""
    import transformers
    from transformers.models.gemma3.modeling_gemma3 import Gemma3MultiModalProjector
    from transformers.models.siglip.modeling_siglip import SiglipVisionModel
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    cfg = transformers.Gemma3Config.from_json_file(os.path.join(d, "config.json"))
    vcfg = cfg.vision_config
    for c in (cfg, vcfg):
        try:
            c._attn_implementation = "eager"
        except Exception:
            pass
    torch.manual_seed(2)
    with torch.device(device):
        tower = SiglipVisionModel(vcfg)
        proj = Gemma3MultiModalProjector(cfg)
    tower = tower.to(device=device, dtype=torch.float32).eval()
    proj = proj.to(device=device, dtype=torch.float32).eval()
    with torch.no_grad():
        for n, prm in list(tower.named_parameters()) + list(proj.named_parameters()):
            if "layer_norm" in n or "post_layernorm" in n:
                prm.copy_((1.0 if n.endswith("weight") else 0.0) + torch.randn_like(prm) * 0.1)
            elif n.endswith("mm_soft_emb_norm.weight"):
                prm.copy_(torch.randn_like(prm) * 0.1)
            else:
                prm.copy_(torch.randn_like(prm) * 0.02)
    size = vcfg.image_size
    emit({"vision_shape": os.path.basename(os.path.normpath(d)), "layers": vcfg.num_hidden_layers,
          "hidden": vcfg.hidden_size, "image_size": size, "tokens_per_image": cfg.mm_tokens_per_image,
          "text_hidden": cfg.text_config.hidden_size, "device": torch.cuda.get_device_name(0)})
    px = torch.rand((2, 3, size, size), generator=torch.Generator().manual_seed(3)).to(device) * 2 - 1
    truth = {}
    for path, dtype, tol in (("F32", torch.float32, F32_TOL), ("BF16", torch.bfloat16, BF16_TOL)):
        def one(path=path, dtype=dtype, tol=tol):
            tw, pj = tower.to(dtype), proj.to(dtype)
            with torch.no_grad():
                expected = pj(tw(pixel_values=px.to(dtype)).last_hidden_state).float()
            expected = expected.reshape(-1, expected.shape[-1]).cpu().numpy()
            module = torch.jit.load(os.path.join(d, manifest["siglip"][path]), map_location=device)
            w = upload_siglip(module, tw, pj, vcfg.num_hidden_layers, device)
            with torch.no_grad():
                out = module.forward(w, px.float())
            got = out.float().reshape(-1, out.shape[-1]).cpu().numpy()
            if path == "F32":
                truth["f32"] = expected
                compare("vision_shape:siglip_F32_cuda_vs_hf_f32_cuda", got, expected, tol, images=int(px.shape[0]))
            else:
                compare_bf16("vision_shape:siglip_BF16_cuda_vs_hf_bf16_cuda", got, expected, truth["f32"],
                             images=int(px.shape[0]))
                for b in batches:
                    batch = (torch.rand((b, 3, size, size), device=device) * 2 - 1).float()

                    def encode():
                        with torch.no_grad():
                            module.forward(w, batch)
                    sec = sync_time(encode, 3)
                    emit({"bench": "siglip_encode_bf16", "batch": b, "seconds": sec, "images_per_s": b / sec,
                          "device": torch.cuda.get_device_name(0)})
        guarded("vision_shape:" + path, one)


def time_steps(module, w, layers, ids, device, decode_batches):
    """Prefill of the prompt, then decode steps of B sequences sharing no slots (each its own context)."""
    t = len(ids)

    args = prefill_args(ids, device)
    prefill_s = sync_time(lambda: run_script(module, w, layers, args, t, device), 3)
    emit({"bench": "torchscript_prefill_bf16", "tokens": t, "seconds": prefill_s, "tokens_per_s": t / prefill_s,
          "device": torch.cuda.get_device_name(0)})
    for b in decode_batches:
        slots = b * (t + 1)
        kv = module.alloc_cache([slots] * layers, args["buf"])
        kv_rows = module.rows_view(kv)
        base = torch.arange(b, dtype=torch.long, device=device) * (t + 1)
        ctx = base[:, None] + torch.arange(t + 1, dtype=torch.long, device=device)[None]
        kpos = torch.arange(t + 1, dtype=torch.long, device=device)[None].repeat(b, 1)
        step = pack_step(1, torch.full((b,), 5, dtype=torch.long, device=device),
                         torch.full((b,), t, dtype=torch.long, device=device), base + t,
                         torch.arange(b, dtype=torch.long, device=device), torch.zeros(0, dtype=torch.long, device=device),
                         torch.zeros((0, 1), dtype=torch.float32, device=device), ctx, kpos)

        def decode():
            with torch.no_grad():
                module.forward(w, kv, kv_rows, step["buf"], step["sizes"], step["dims"], step["soft"])
        s = sync_time(decode, 20)
        emit({"bench": "torchscript_decode_step_bf16", "batch": b, "context": t + 1, "seconds": s,
              "tokens_per_s": b / s, "device": torch.cuda.get_device_name(0)})


def row_bucket(n, unit=1):
    """ShapeBuckets.up: the smallest unit * m >= n with m a power of two or three times a power of two."""
    m = (n + unit - 1) // unit
    p = 1 << (m.bit_length() - 1)
    b = p if m == p else (p + p // 2 if p > 1 and m <= p + p // 2 else 2 * p)
    return b * unit


def ctx_bucket(n):
    return row_bucket(n, CONTEXT_ALIGN)


def decode_step_args(b, pos, stride, scratch, device, bucketed):
    """forward() inputs of one decode step of b sequences at position pos (sequence j's slots j*stride + 0..pos),
    shaped as BatchTensors builds them: exact (contexts aligned to 16) or bucketed (GraphMode.OPTIMIZED: sequences,
    logit rows and contexts padded to their buckets; padding sequences at position 0 with fully masked contexts,
    writing the scratch slot)."""
    rows_b = row_bucket(b) if bucketed else b
    length = pos + 1
    width = ctx_bucket(length) if bucketed else align(length)
    lng = dict(dtype=torch.long, device=device)
    base = torch.arange(b, **lng) * stride
    ids = torch.zeros(rows_b, **lng)
    ids[:b] = 5
    p = torch.zeros(rows_b, **lng)
    p[:b] = pos
    wslot = torch.full((rows_b,), scratch, **lng)
    wslot[:b] = base + pos
    rows = torch.zeros(rows_b, **lng)  # padding logit rows repeat row 0
    rows[:b] = torch.arange(b, **lng)
    ctx = torch.zeros((rows_b, width), **lng)
    ctx[:b, :length] = base[:, None] + torch.arange(length, **lng)[None]
    kpos = torch.full((rows_b, width), PAD_POSITION, **lng)
    kpos[:b, :length] = torch.arange(length, **lng)[None]
    sections = [ids, p, wslot, wslot, rows, torch.zeros(0, **lng)]
    for _ in range(2):
        sections += [ctx.reshape(-1), kpos.reshape(-1)]
    dims = [rows_b, rows_b, 0, 1, 0, rows_b, 1, width, width, 0, 0, 0]
    return dict(buf=torch.cat(sections), sizes=[int(x.shape[0]) for x in sections], dims=dims,
                soft=torch.zeros((0, 1), dtype=torch.float32, device=device))


def fusion_groups():
    """Fusion-group nodes of the last graph the executor optimised (0 when none or not available)."""
    try:
        g = torch.jit.last_executed_optimized_graph()
    except Exception:
        return None
    kinds = {}
    for n in g.nodes():
        stack = [n]
        while stack:
            x = stack.pop()
            if "Group" in x.kind() or "Fusion" in x.kind():
                kinds[x.kind()] = kinds.get(x.kind(), 0) + 1
            for blk in x.blocks():
                stack.extend(blk.nodes())
    return kinds


def graph_ab(module, w, layers, prompt_len, device, batches, steps, rounds):
    """Decode steps from context prompt_len + 1 over `steps` positions: optimisation off with exact shapes against
    on with bucketed shapes, alternating per round. Each pass runs the same steps twice: the first includes the
    profiling runs and fusion compiles of new shapes, the second is the steady state."""
    if hasattr(torch._C, "_jit_set_profiling_executor"):
        torch._C._jit_set_profiling_executor(True)
    if hasattr(torch._C, "_jit_set_texpr_fuser_enabled"):
        torch._C._jit_set_texpr_fuser_enabled(True)
    if hasattr(torch._C, "_jit_override_can_fuse_on_gpu"):
        torch._C._jit_override_can_fuse_on_gpu(True)
    flags = {k: getattr(torch._C, k)() for k in ("_jit_texpr_fuser_enabled", "_jit_can_fuse_on_gpu",
                                                 "_jit_can_fuse_on_cpu") if hasattr(torch._C, k)}
    emit({"graph_ab_flags": flags})
    for b in batches:
        stride = prompt_len + steps + 1
        scratch = b * stride  # one slot after the sequences' own (KvStorage.scratchSlot)
        caches = {}
        for mode in ("off", "on"):
            kv = module.alloc_cache([scratch + 1] * layers, torch.zeros(1, device=device))
            caches[mode] = (kv, module.rows_view(kv))
        plans = {mode: [decode_step_args(b, prompt_len + i, stride, scratch, device, mode == "on")
                        for i in range(steps)] for mode in ("off", "on")}
        last = {}
        for rnd in range(rounds):
            for mode in ("off", "on"):
                kv, kv_rows = caches[mode]
                shapes = len({(a["dims"][0], a["dims"][7]) for a in plans[mode]})
                for pass_no in (1, 2):
                    torch.cuda.synchronize()
                    start = time.perf_counter()
                    with torch.no_grad(), torch.jit.optimized_execution(mode == "on"):
                        for a in plans[mode]:
                            out = module.forward(w, kv, kv_rows, a["buf"], a["sizes"], a["dims"], a["soft"])
                    torch.cuda.synchronize()
                    ms = (time.perf_counter() - start) * 1e3 / steps
                    last[mode] = out[:b].float()
                    emit({"bench": "graph_ab_decode_step_bf16", "mode": mode, "round": rnd + 1, "pass": pass_no,
                          "batch": b, "contexts": [prompt_len + 1, prompt_len + steps], "steps": steps,
                          "distinct_shapes": shapes, "ms_per_step": round(ms, 3), "tokens_per_s": round(b * 1e3 / ms, 1),
                          "fusion_groups": fusion_groups() if mode == "on" else None,
                          "device": torch.cuda.get_device_name(0)})
        if "off" in last and "on" in last:
            diff = (last["on"] - last["off"]).abs().max().item()
            emit({"graph_ab_logits_max_abs_diff": diff, "batch": b,
                  "logits_max_abs": last["off"].abs().max().item()})


def check_replay(d, device):
    """Replays a recording of `bin/gemma record-steps` on the device: the runtime's TorchScript with the checkpoint's
    weights, a KV cache of the recorded geometry, and each step's recorded forward/sample inputs; the tokens must equal
    the CPU run's in float32 (bf16: the first divergent step is reported as information)."""
    from safetensors.torch import load_file
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    ckpt = next((c for c in (manifest["model"], os.path.join(d, manifest.get("modelRelative", "")),
                             os.path.join(d, "ckpt")) if os.path.isdir(c)), None)
    if ckpt is None:
        raise FileNotFoundError(f"checkpoint of {d}: none of {manifest['model']}, modelRelative, ckpt/")
    precision = manifest["precision"]
    name = "replay:" + os.path.basename(os.path.normpath(d))
    kvm = manifest["kv"]
    emit({"dir": name, "checkpoint": ckpt, "precision": precision, "steps": len(manifest["steps"]),
          "summary": manifest.get("summary"), "kv_slots_per_layer": kvm["slotsPerLayer"],
          "cached_prompt_tokens": {r["id"]: r["cachedPromptTokens"] for r in manifest.get("requests", [])}})
    tensors = {}
    for f in sorted(os.listdir(ckpt)):
        if f.endswith(".safetensors"):
            tensors.update(load_file(os.path.join(ckpt, f)))
    module = torch.jit.load(os.path.join(d, manifest["torchscript"][manifest["replayScript"]]), map_location=device)
    w = upload_weights(module, tensors, manifest["layers"], device)
    kv = module.alloc_cache([int(x) for x in kvm["slotsPerLayer"]], torch.zeros(1, dtype=torch.float32, device=device))
    kv_rows = module.rows_view(kv)

    def load(rel, dtype):
        return torch.from_numpy(np.load(os.path.join(d, rel))).to(device=device, dtype=dtype)

    rows = 0
    first_divergence = None
    for step in manifest["steps"]:
        buf = load(step["buffer"], torch.long)
        shape = [int(x) for x in step["softShape"]]
        soft = (load(step["soft"], torch.float32) if step["soft"] else
                torch.zeros(shape, dtype=torch.float32, device=device))
        with torch.no_grad(), torch.jit.optimized_execution(bool(step["optimized"])):
            logits = module.forward(w, kv, kv_rows, buf, [int(x) for x in step["sizes"]],
                                    [int(x) for x in step["dims"]], soft)
        sm = step["sample"]
        if not sm:
            continue
        allowed = (load(sm["allowed"], torch.int32) if sm["allowed"] else
                   torch.zeros(0, dtype=torch.int32, device=device))
        with torch.no_grad():
            out = module.sample(logits, load(sm["params"], torch.long), int(sm["kmax"]), bool(sm["logprobs"]),
                                allowed, bool(sm["whole"]))
        got = out[:, 0].cpu().numpy()
        expected = np.load(os.path.join(d, sm["tokens"]))
        rows += len(expected)
        if first_divergence is None and not np.array_equal(got, expected):
            first_divergence = {"step": step["index"], "dims": step["dims"][:4], "cuda_tokens": got.tolist(),
                                "cpu_tokens": expected.tolist()}
            if precision != "FLOAT32":
                break  # later steps run on another history (the CPU's tokens, different KV): nothing to learn
    check = f"{name}:tokens_cuda_vs_cpu_{precision.lower()}"
    rec = {"check": check, "sampled_rows": rows, "first_divergence": first_divergence,
           "device": torch.cuda.get_device_name(0) if device == "cuda" else device}
    if precision == "FLOAT32":
        rec["ok"] = first_divergence is None
        emit(rec)
        if not rec["ok"]:
            FAILURES.append(check)
    else:
        rec["info"] = "bf16 rounds differently on another device: the divergence step is information, not a failure"
        emit(rec)


def main():
    global OUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dumps", nargs="*", help="folders written by bin/gemma dump-logits")
    ap.add_argument("--shape-dir", help="folder with config.json and dump-logits --torchscript-only output")
    ap.add_argument("--vision-shape-dir", help="folder with a multimodal config.json and dump-logits "
                    "--torchscript-only output: the full SigLIP tower + projector against transformers")
    ap.add_argument("--vision-batches", default="1,8")
    ap.add_argument("--prompt-len", type=int, default=640)
    ap.add_argument("--decode-batches", default="1,16,64")
    ap.add_argument("--graph-ab", type=int, default=0, metavar="STEPS",
                    help="with --shape-dir: A/B of graph-executor optimisation + bucketed shapes against the "
                    "default over STEPS decode steps per batch of --decode-batches (e.g. 256)")
    ap.add_argument("--replay", action="append", default=[], metavar="DIR",
                    help="a folder written by bin/gemma record-steps: replay its engine steps on the device and "
                    "compare the sampled tokens with the CPU run's (repeatable)")
    ap.add_argument("--out", help="folder to append parity.jsonl to")
    args = ap.parse_args()
    OUT = args.out
    if OUT:
        os.makedirs(OUT, exist_ok=True)
    import transformers
    device = "cuda" if torch.cuda.is_available() else "cpu"
    emit({"torch": torch.__version__, "transformers": transformers.__version__, "device": device,
          "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None})
    for d in args.dumps:
        guarded("dump:" + d, check_dump, d, device)
    if args.shape_dir:
        guarded("shape", check_shape, args.shape_dir, device, args.prompt_len,
                [int(x) for x in args.decode_batches.split(",")], args.graph_ab)
    if args.vision_shape_dir:
        guarded("vision_shape", check_vision_shape, args.vision_shape_dir, device,
                [int(x) for x in args.vision_batches.split(",")])
    for d in args.replay:
        guarded("replay:" + d, check_replay, d, device)
    emit({"summary": "fail" if FAILURES else "pass", "failures": FAILURES})
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
