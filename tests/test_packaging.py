"""The project installed as a wheel (not editable) works from any directory."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from rag.settings import SOURCE_ROOT


@pytest.mark.slow
def test_wheel_installed_elsewhere_ingests_searches_and_answers(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(SOURCE_ROOT)],
        check=True, capture_output=True, timeout=600,
    )
    (wheel,) = wheels.glob("rag_papers-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    # reuse the installed dependencies: the test venv's own site-packages, appended after the new venv's
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # --target: a plain folder, as `pip install --user` or a vendored install would do; nothing
    # lands under <prefix>/share, so the bundled files must travel inside the package
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", "--no-warn-script-location",
                    "--target", str(site), str(wheel)], check=True, capture_output=True, timeout=300)
    bundled = site / "rag" / "_bundled"
    assert (bundled / "config" / "default.toml").is_file() and (bundled / "prompts" / "answer_user.md").is_file()
    assert (bundled / "config" / "presets" / "minilm.toml").is_file() and (bundled / "eval" / "datasets" / "claims.jsonl").is_file()
    assert len(list((bundled / "data" / "seeds").glob("*.txt"))) == len(list((SOURCE_ROOT / "data" / "seeds").glob("*.txt")))
    assert not (venv / "share").exists()

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1",
           "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"), "PYTHONPATH": ""}
    env.pop("RAG_HOME", None)
    rag = [str(py), "-m", "rag.cli"]

    def run(*args):
        proc = subprocess.run([*rag, *args], cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    where = run("info")  # before any ingest
    assert "built            no" in where
    store = tmp_path / "data" / "rag-papers" / ".rag"
    assert f"store            {store / 'chroma'}" in where, where
    code = subprocess.run([str(py), "-c", "import rag; print(rag.__file__)"], cwd=work, env=env, capture_output=True, text=True).stdout
    assert str(site) in code, code  # the wheel's copy, not the checkout
    run("ingest", "--no-progress")
    assert "papers           460" in run("info")
    out = run("search", "diffusion training on a tiny budget", "-k", "3")
    assert "Stretching Each Dollar" in out
    # the main job from the installed copy: its bundled prompts, the local model, a cited answer
    answer = run("ask", "How can a text-to-image diffusion model be trained on a small budget?")
    assert "[1]" in answer and "References:" in answer and "Stretching Each Dollar" in answer, answer
    assert not (work / ".rag").exists() and not (SOURCE_ROOT / "share").exists()
    # the developer's editable install is untouched (--ignore-installed: pip uninstalls nothing)
    from importlib import metadata

    assert metadata.distribution("rag-papers") is not None
