"""The studio's run page shows a run's cost per role and in total: the same figures and wording as
`kindling runs show` (the project's prices.yaml over the shipped one, local models at 0)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kindling.store.db import Store
from typer.testing import CliRunner

from kindling.cli import app
from kindling.studio.app import create_app
from tests.integration.test_run_costs import CALLS, seed_run

BASE = "http://127.0.0.1:8765"


def cost_section(html: str) -> str:
    return html.split('<section id="cost">', 1)[1].split("</section>", 1)[0]


def test_run_page_shows_the_cost_as_runs_show_does(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    store = Store(url)
    priced = seed_run(store, CALLS, kind="adversarial")
    local = seed_run(store, [("judge", "qwen-gguf", 5000, 5000)],
                     {"llm": {"backend": "local", "model": "qwen-gguf"}}, kind="judge")
    silent = seed_run(store, [], kind="judge")
    store.close()
    monkeypatch.chdir(tmp_path)  # runs show reads ./configs/prices.yaml; the studio the project's
    with TestClient(create_app(url, project=tmp_path), base_url=BASE) as client:
        page = client.get(f"/runs/{priced}").text
        section = cost_section(page)
        assert "3.5000" in section and "0.9800" in section  # judge, advocate (USD in the header)
        assert "cost in all: unknown" in section
        assert "no price for model my-private-model (add it to prices.yaml)" in section
        assert "0.0000" in cost_section(client.get(f"/runs/{local}").text)  # local: 0
        assert '<section id="cost">' not in client.get(f"/runs/{silent}").text

        (tmp_path / "configs").mkdir()
        (tmp_path / "configs" / "prices.yaml").write_text(
            "models:\n  my-private-model:\n    input: 1000000\n    output: 0\n"
            "    source: contract\n    read_on: 2026-12-06\n", encoding="utf-8")
        section = cost_section(client.get(f"/runs/{priced}").text)
        assert "no price for model" not in section
        assert 'id="cost-total">14.4800 USD<' in section
    shown = CliRunner().invoke(app, ["--db-url", url, "runs", "show", str(priced)],
                               terminal_width=200)
    assert "cost in all: 14.4800 USD" in shown.output  # the same figure

    (tmp_path / "configs" / "prices.yaml").write_text("models:\n  x:\n    input: cheap\n",
                                                      encoding="utf-8")
    with TestClient(create_app(url, project=tmp_path), base_url=BASE) as client:
        section = cost_section(client.get(f"/runs/{priced}").text)
    assert "is not valid" in section and "cheap" not in section
