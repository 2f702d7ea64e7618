"""rag/environment.py: the package sets environment variables only as defaults, only when asked."""

import subprocess
import sys

from rag.environment import OFFLINE, set_defaults


def test_defaults_never_override_what_the_user_exported():
    env = {"HF_HUB_OFFLINE": "0"}
    added = set_defaults(OFFLINE, env)
    assert env["HF_HUB_OFFLINE"] == "0" and "HF_HUB_OFFLINE" not in added
    assert env["TOKENIZERS_PARALLELISM"] == "false" and added["TOKENIZERS_PARALLELISM"] == "false"
    assert set_defaults(OFFLINE, env) == {}  # a second call changes nothing


def test_importing_the_package_changes_no_environment_variable():
    code = (
        "import os; before = dict(os.environ)\n"
        "import rag.cli, rag.answer, rag.chunking, rag.embeddings, rag.retrieve, rag.serve, rag.chat, rag.evaluate\n"
        "changed = {k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)}\n"
        "assert not changed, changed\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
