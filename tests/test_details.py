"""rag/details.py: which named thing a question asks for, and whether a text names one (pure)."""

import pytest

from rag.details import asked_detail, names_detail


@pytest.mark.parametrize(
    "question, phrase",
    [
        ("what license is OpenELM released under?", "the license"),
        ("which network backbones did the robust conformal prediction paper use?", "the backbones"),
        ("Which optimizer won the AlgoPerf training benchmark?", "the optimizer"),
        ("which datasets test the label-free fine-grained distillation method?", "the datasets"),
        ("Which vision-language-action policy is pretrained on the Open X-Embodiment dataset?", "the policy"),
        ("GPTQ at 3 bits, and which GPU did it run on?", "the gpu"),
        # questions about the paper or its idea, and adverbs, ask for no detail
        ("Which paper proposes collisionless embedding tables?", None),
        ("What problem does Monolith solve?", None),
        ("Which framework automatically trains and prunes a DNN once?", None),
        ("What is the main idea of Group DETR?", None),
        ("How does FlexRound learn the rounding?", None),
    ],
)
def test_asked_detail(question, phrase):
    detail = asked_detail(question)
    assert (detail.phrase if detail else None) == phrase


def test_names_detail_counts_a_word_of_the_same_kind():
    datasets = asked_detail("which datasets test the method?")
    assert names_detail("Extensive experiments on CUB-200-2011, Stanford Cars and FGVC Aircraft show ...", datasets)
    assert names_detail("We evaluate on three benchmarks.", datasets)
    assert not names_detail("We propose a distillation framework for fine-grained categories.", datasets)
    license_ = asked_detail("what license is OpenELM released under?")
    assert names_detail("Weights are released under the Apache 2.0 licence.", license_)
    assert not names_detail("OpenELM: An Efficient Language Model Family with Open-source Training and Inference Framework", license_)
    backbones = asked_detail("which backbones did it use?")
    assert names_detail("Experiments with ResNet-50 and ViT-B/16 show ...", backbones)
    assert not names_detail("We prove robustness guarantees for conformal prediction.", backbones)
    # a word of the same family counts: the check lets through more than it stops
    assert names_detail("This is an optimization problem.", asked_detail("which optimizer did they use?"))
