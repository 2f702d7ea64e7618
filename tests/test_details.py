"""rag/details.py: which named thing a question asks for, and whether a text names one (pure)."""

import pytest

from rag.details import asked_detail, names_detail, unmentioned_names


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


GPTQ = (
    "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained Transformers. We propose GPTQ, a one-shot "
    "weight quantization method that quantizes OPT-175B and BLOOM-176B to 3 or 4 bits in four GPU hours."
)


def _unmentioned(question, others=(), df=None, titles=()):
    return unmentioned_names(
        question, GPTQ, other_papers=others, paper_df=lambda s: (df or {}).get(s, 0), is_title_name=lambda w: w in titles
    )


def test_unmentioned_names_are_the_question_names_the_paper_never_uses():
    assert _unmentioned("does GPTQ beat AWQ at 4-bit?") == ["AWQ"]
    assert _unmentioned("GPTQ on OPT-175B and an A100, vs SmoothQuant?") == ["A100", "SmoothQuant"]
    # names the abstract uses, in any case or form, and pieces of one character ("70B" -> "b"), are not missing
    assert _unmentioned("how does GPTQ handle bloom-176b in 4 bits?") == []
    assert _unmentioned("GPTQ on a 70B model?") == []
    assert _unmentioned("how does gptq quantize, in plain words?") == []


def test_unmentioned_names_leave_out_other_papers_names():
    """A comparison names two papers: the second paper's name is not a name GPTQ lacks."""
    assert _unmentioned("How do GPTQ and EfficientQAT differ?", titles={"efficientqat"}) == []
    others = [("EfficientQAT: Efficient Quantization-Aware Training for Large Language Models", "...")]
    assert _unmentioned("How do GPTQ and EfficientQAT differ?", others=others) == []
    # a rare word another retrieved paper uses in its abstract: that paper's own name
    others = [("Recognize Any Regions", "We propose RegionSpot, which freezes SAM and CLIP.")]
    assert _unmentioned("GPTQ versus RegionSpot?", others=others, df={"regionspot": 1}) == []
    # a common name other papers use is still one GPTQ lacks
    others = [("A Detector", "Results on ImageNet and COCO.")]
    assert _unmentioned("any numbers for GPTQ on ImageNet?", others=others, df={"imagenet": 40}) == ["ImageNet"]


def test_unmentioned_names_need_a_name_and_match_it_in_any_spelling():
    """A word that is only capitalised is not a name ("Need", "Plain English"); a name the
    abstract writes with or without hyphens, or in the singular, is mentioned."""
    assert _unmentioned("Does GPTQ Need Calibration Data, in Plain English?") == []
    assert _unmentioned("GPTQ on OPT175B and BLOOM 176B?") == []  # "OPT-175B", "BLOOM-176B"
    assert _unmentioned("GPTQ on BLOOMs?") == []
    assert _unmentioned("GPTQ's speedup vs AWQ's?") == ["AWQ"]
