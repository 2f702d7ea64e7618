"""rag/query.py: the request core of a question (pure, exact)."""

import pytest

from rag.query import request_core


@pytest.mark.parametrize(
    "question, core",
    [
        ("any papers on diffusion for protein backbones?", "diffusion for protein backbones?"),
        ("I'm looking for work on fast video quality scoring", "fast video quality scoring"),
        ("is there research about sleep staging from wearables?", "sleep staging from wearables?"),
        ("Hi, can you find papers about LoRA merging?", "LoRA merging?"),
        ("Do you know of any papers on graph transformers?", "graph transformers?"),
        ("tell me about Monolith", "Monolith"),
        ("research on mixture of experts routing", "mixture of experts routing"),
        ("Is there a paper that generates 3D human motion from text?", "generates 3D human motion from text?"),
        ("I'd like to know more about speculative decoding.", "speculative decoding."),
        ("does anyone know what frame rate SAM2Long runs at", "what frame rate SAM2Long runs at"),
        ("anyone know of papers on KV cache compression?", "KV cache compression?"),
        ("has anyone tried distilling diffusion into one step?", "distilling diffusion into one step?"),
        ("quick q: on how many vision tasks was MoSA evaluated?", "on how many vision tasks was MoSA evaluated?"),
        ("any idea how many FLOPs layer skipping saves?", "how many FLOPs layer skipping saves?"),
        ("I need TurboViT's latency", "TurboViT's latency"),
        ("looking for an SVD-based way to initialise adapters", "an SVD-based way to initialise adapters"),
        ("just curious, does pruning help LLMs?", "does pruning help LLMs?"),
        ("ok so what is DETR", "what is DETR"),
        ("I want to learn more about speculative decoding", "speculative decoding"),
        ("I need to know about LoRA", "LoRA"),
        ("searching for papers on KV cache", "KV cache"),
        # a filler is framing only before a comma or a question's first word, and "searching for",
        # "any idea", "curious" only with what makes them framing: otherwise they are content
        ("well-known results on ImageNet", "well-known results on ImageNet"),
        ("so-called lottery tickets", "so-called lottery tickets"),
        ("OK-VQA results of BLIP", "OK-VQA results of BLIP"),
        ("OK VQA results", "OK VQA results"),
        ("Well posed problems in RL", "Well posed problems in RL"),
        ("So far, what beats GPTQ?", "So far, what beats GPTQ?"),
        ("Searching for Efficient Multi-Stage Vision Transformers", "Searching for Efficient Multi-Stage Vision Transformers"),
        ("any idea generation papers?", "any idea generation papers?"),
        ("curious case of neural text degeneration", "curious case of neural text degeneration"),
        # content is never removed: a question that starts with content keeps it, as typed
        ("duplicated targets help DETR converge sooner?", "duplicated targets help DETR converge sooner?"),
        ("how do I prune a network without fine-tuning?", "how do I prune a network without fine-tuning?"),
        ("Is there a way to tune a diffusion model on preferences?", "Is there a way to tune a diffusion model on preferences?"),
        ("Are there multimodal LLMs without a vision encoder?", "Are there multimodal LLMs without a vision encoder?"),
        ("papers", "papers"),
    ],
)
def test_request_core(question, core):
    assert request_core(question) == core


@pytest.mark.parametrize("question", ["tell me more", "tell me more about the first one?", "any papers on it?", "show me other papers", "Hi!", "?", "any idea?", "I need more"])
def test_a_follow_up_or_a_bare_request_is_left_as_typed(question):
    assert request_core(question) == question


def test_the_core_is_a_suffix_of_the_question():
    for q in ["Please, could you help me find research on EEG decoding?", "okay so any work on tabular transformers"]:
        core = request_core(q)
        assert core and q.endswith(core) and core != q
