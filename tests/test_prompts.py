import pytest

from rag.errors import ConfigError
from rag.prompts import VARIABLES, load_prompt


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_project_prompts_load_with_their_variables(name):
    prompt = load_prompt(name)
    assert prompt.variables == VARIABLES[name]
    text = prompt.render(**{v: f"<{v}>" for v in prompt.variables})
    for v in prompt.variables:
        assert f"<{v}>" in text


def test_missing_and_unknown_variables_are_errors(tmp_path):
    (tmp_path / "answer_user.md").write_text("Question: $question $extra")
    with pytest.raises(ConfigError, match=r"answer_user.md: missing \$sources; unknown \$extra"):
        load_prompt("answer_user", tmp_path)


def test_invalid_placeholder(tmp_path):
    (tmp_path / "answer_user.md").write_text("Costs $5 $question $sources")
    with pytest.raises(ConfigError, match="invalid placeholder"):
        load_prompt("answer_user", tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="is missing"):
        load_prompt("answer_system", tmp_path)


def test_render_checks_values():
    with pytest.raises(ValueError):
        load_prompt("answer_user").render(question="q")
