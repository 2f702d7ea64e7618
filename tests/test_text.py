"""rag/text.py: LaTeX left in scraped abstracts, and the papers' first person in answers."""

import pytest

from rag.text import detex, third_person, without_lead_in


@pytest.mark.parametrize(
    "raw, clean",
    [
        (r"with only \1,890 economical cost", "with only $1,890 economical cost"),  # a "\$" that lost its "$"
        ("1.8times faster than RT-DETR", "1.8× faster than RT-DETR"),
        ("~20.57times speed-up", "~20.57× speed-up"),
        (r"up to 40\% and 5\%", "up to 40% and 5%"),
        (r"a 1.16$\times$ speed-up", "a 1.16× speed-up"),
        (r"the {\em glassiness} of", "the glassiness of"),
        (r"Q\&A (\eg text prompts)", "Q&A (e.g. text prompts)"),
        (r"regularization, \etc. However", "regularization, etc. However"),
        (r"see \url{https://github.com/x/y}", "see https://github.com/x/y"),
        ("From $r$ to $Q^*$: Your Language Model", "From r to Q^*: Your Language Model"),
        (r"HyperZ$\cdot$Z$\cdot$W Operator", "HyperZ·Z·W Operator"),
        (r"Fast Regression with $\ell_\infty$ Guarantee, unlike $\ell_2$", "Fast Regression with ℓ∞ Guarantee, unlike ℓ2"),
        # English and unknown macros stay
        ("25 times more data, sometimes", "25 times more data, sometimes"),
        (r"framework named {\name}, \METHOD learns", r"framework named {\name}, \METHOD learns"),
        ("costs $5 and $10 per hour", "costs $5 and $10 per hour"),
        ("plain text", "plain text"),
    ],
)
def test_detex(raw, clean):
    assert detex(raw) == clean


def test_detex_is_idempotent():
    for raw in (r"\1,890 and 40\%", "2.4times", r"{\em x} \eg"):
        assert detex(detex(raw)) == detex(raw)


@pytest.mark.parametrize(
    "sentence, said",
    [
        ("We propose to mask 75% of the patches [1].", "The authors propose to mask 75% of the patches [1]."),
        ("In this work, we train our model on US data.", "In this work, the authors train their model on US data."),
        ("Our contributions are twofold: first, we crafted ours.", "Their contributions are twofold: first, the authors crafted theirs."),
        ("This allows us to scale ourselves.", "This allows them to scale themselves."),
        # words that merely contain the letters, capitals, contractions
        ("The welder used westward power; WE embeddings.", "The welder used westward power; WE embeddings."),
        ("We'd say so.", "We'd say so."),
        ("No first person here.", "No first person here."),
        # a stray capital mid-sentence is not kept; one after a colon or an opening quote is
        ("Results demonstrate that Our framework works.", "Results demonstrate that their framework works."),
        ('They ask: "How should We design it?"', 'They ask: "How should the authors design it?"'),
        ('Two aims: Our speed, "We" said.', 'Two aims: Their speed, "The authors" said.'),
    ],
)
def test_third_person(sentence, said):
    assert third_person(sentence) == said


@pytest.mark.parametrize(
    "sentence, alone",
    [
        ("To address this challenge, we propose AGVM.", "We propose AGVM."),
        ("To overcome these challenges, we propose a co-design [1].", "We propose a co-design [1]."),
        ("Inspired by this, we propose an assignment-then-diffusion strategy.", "We propose an assignment-then-diffusion strategy."),
        ("To this end, we introduce ECO-M2F.", "We introduce ECO-M2F."),
        ("In this paper, we present Monolith.", "We present Monolith."),
        ("Specifically, our method masks patches.", "Our method masks patches."),
        # "we address <what came before> and propose X": the problem is in sentences not shown
        ("In this paper, we address these issues and propose the BLSP approach.", "We propose the BLSP approach."),
        ("We address this challenge, and propose GPTQ, a new method.", "We propose GPTQ, a new method."),
        ("We address these issues by proposing X.", "We address these issues by proposing X."),
        ("We propose X and address these issues.", "We propose X and address these issues."),
        ("To address this challenge, in this paper we study how to reduce I/O.", "We study how to reduce I/O."),
        ("To this end, in this work, we introduce X.", "We introduce X."),
        # the opening carries content, contrasts, or is not followed by the paper's own statement
        ("Inspired by the stealthiness of backdoor attacks, we propose X.", "Inspired by the stealthiness of backdoor attacks, we propose X."),
        ("However, we find the opposite.", "However, we find the opposite."),
        ("To address this, the model uses Y.", "To address this, the model uses Y."),
        ("In this work, a method is proposed.", "In this work, a method is proposed."),
        # no comma right after the opening: the clause up to the next comma is the sentence's own
        ("To address these limitations we introduce FooNet, our framework for sparse attention.",
         "To address these limitations we introduce FooNet, our framework for sparse attention."),
        ("Inspired by this we design BarNet, our new detector.", "Inspired by this we design BarNet, our new detector."),
        ("To address these issues for low-resource languages, we train X.", "To address these issues for low-resource languages, we train X."),
    ],
)
def test_without_lead_in(sentence, alone):
    assert without_lead_in(sentence) == alone


def test_third_person_with_advice_speaks_to_the_reader():
    said = "To speed up sampling, you can use Bottleneck Sampling, which the authors propose [1]."
    assert third_person("To speed up sampling, we can use Bottleneck Sampling, which we propose [1].", advice=True) == said
    assert third_person("We could also prune.", advice=True) == "You could also prune."
    assert third_person("We can prune 50% of weights.") == "The authors can prune 50% of weights."  # a quote: the authors


def test_redact_credentials():
    from rag.text import redact_credentials

    line = 'HTTP Request: POST http://alice:sk-SECRET@127.0.0.1:9/v1/chat/completions?api-key=sk-2&x=1 "HTTP/1.1 200 OK"'
    assert redact_credentials(line) == 'HTTP Request: POST http://***@127.0.0.1:9/v1/chat/completions?api-key=***&x=1 "HTTP/1.1 200 OK"'
    assert redact_credentials("https://host:8080/v1?token=abc#frag") == "https://host:8080/v1?token=***#frag"
    assert redact_credentials("mail alice@example.org, no URL") == "mail alice@example.org, no URL"


def test_cli_log_lines_never_show_url_credentials():
    """The HTTP client logs every request URL (openai 3 logs through 'httpx2', at INFO with -v)."""
    import subprocess
    import sys

    code = (
        "import logging; from rag.cli import _setup_logging; _setup_logging(2);"
        "logging.getLogger('httpx2').debug('HTTP Request: POST %s', 'http://alice:sk-SECRET@127.0.0.1:9/v1/chat/completions');"
        "logging.getLogger('rag').warning('endpoint %s', 'http://bob:pw123@h/v1?api_key=sk-KEY')"
    )
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert "http://***@127.0.0.1:9/v1/chat/completions" in err and "http://***@h/v1?api_key=***" in err
    assert "SECRET" not in err and "pw123" not in err and "sk-KEY" not in err and "alice" not in err
