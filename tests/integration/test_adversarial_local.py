"""Path B for one iteration on the real offline backend (SmolLM2-135M, constrained decoding)."""

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from kindling.cli import app
from store.db import Store
from store.models import AgentCall, Run

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "adversarial_local.yaml"


def test_smollm2_runs_one_adversarial_iteration(tmp_path: Path, paper_data: Path) -> None:
    url = f"sqlite:///{tmp_path / 'adv.db'}"
    cli = CliRunner()
    assert cli.invoke(app, ["--db-url", url, "data", "import", "--from", str(paper_data)]).exit_code == 0
    ran = cli.invoke(app, ["--db-url", url, "adversarial", "--config", str(CONFIG),
                           "--set", "batch_size=1", "--set", "labelled_batch_size=1",
                           "--set", "validation_size=2"])
    assert ran.exit_code == 0, ran.output
    assert "reached 1 iterations" in ran.output
    store = Store(url)
    with store.session() as s:
        run = s.scalars(select(Run).where(Run.kind == "adversarial")).one()
        roles = set(s.scalars(select(AgentCall.role).where(AgentCall.run_id == run.id)))
    assert run.status == "finished"
    assert [h["iteration"] for h in run.metrics["history"]] == [0, 1]  # the start S_D, then it 1
    assert {"generate_flawed", "detect"} <= roles
    assert {"accuracy", "f1", "length_baseline"} <= set(run.metrics["history"][0])
