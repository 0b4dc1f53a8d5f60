"""`kindling studio`'s HTTP API and pages on a real SQLite store (FastAPI's TestClient)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kindling.store.models import PrincipleVersion
from sqlalchemy import select

from kindling.studio.app import create_app
from tests.integration.studio_store import XSS, StudioStore, add_big_run, build_studio_store

BASE = "http://127.0.0.1:8765"
JSON_POST = {"Origin": BASE}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> StudioStore:
    return build_studio_store(tmp_path_factory.mktemp("studio"))


JUDGE_CONFIG = ("llm:\n  backend: openai\n  model: standin\n  base_url: http://127.0.0.1:9/v1\n"
                "  api_key_env: KINDLING_STUDIO_API_KEY\n")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The studio's project folder: a judge config at the top, a curate one in configs/, and a
    YAML file that is no run config."""
    folder = tmp_path_factory.mktemp("project")
    (folder / "configs").mkdir()
    (folder / "judge_http.yaml").write_text(JUDGE_CONFIG, encoding="utf-8")
    (folder / "configs" / "curate_small.yaml").write_text("limit: 1\n", encoding="utf-8")
    (folder / "mkdocs.yml").write_text("site_name: x\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def client(built: StudioStore, project: Path) -> Iterator[TestClient]:
    with TestClient(create_app(built.url, project=project), base_url=BASE) as c:
        yield c


def test_runs_list_pages_and_filters(client: TestClient, built: StudioStore) -> None:
    body = client.get("/api/runs", params={"limit": 3}).json()
    assert body["total"] >= 10 and len(body["runs"]) == 3 and body["limit"] == 3
    ids = [r["id"] for r in body["runs"]]
    assert ids == sorted(ids, reverse=True)
    curate = client.get("/api/runs", params={"kind": "curate"}).json()["runs"]
    row = next(r for r in curate if r["id"] == built.runs["curate"])
    assert (row["items"], row["done"], row["graph"]) == (3, 3, "curate")
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert f'href="/runs/{built.runs["grpo"]}"' in page.text
    def row_of(html: str, run: int) -> str:
        return html.split(f'<tr data-run="{run}">', 1)[1].split("</tr>", 1)[0]

    curate_row = row_of(page.text, built.runs["curate"])
    assert "3 done of 3" in curate_row and "3 of 3 (100%)" in curate_row
    assert "built-in" not in page.text
    # training runs show their own figures, never item counts of 0
    grpo_row = row_of(page.text, built.runs["grpo"])
    assert "last reward</span> 0.8" in grpo_row and "88 characters" in grpo_row
    assert "+110%" in grpo_row and "1 (first at step 5)" in grpo_row
    assert "items" not in grpo_row and "train_loss" not in grpo_row
    assert 'type="checkbox" name="runs"' in grpo_row
    assert 'type="checkbox"' not in row_of(page.text, built.runs["eval_rm"])
    # eval runs stored without a name are described by what they evaluated
    assert "eval policy: sft, grpo" in row_of(page.text, built.runs["eval_policy"])
    assert "judge accuracy 0.83 (length-only 0.83)" in row_of(page.text, built.runs["eval_judge"])
    # one kind: its figures as columns
    grpo_only = client.get("/", params={"kind": "grpo"}).text
    assert "<th>last reward</th><th>length</th><th>length drift</th><th>alerts</th>" in grpo_only


def test_run_detail_and_training_curves(client: TestClient, built: StudioStore) -> None:
    detail = client.get(f"/api/runs/{built.runs['curate']}").json()
    assert detail["kind"] == "curate" and detail["verdicts"]["good"] == 1
    assert {c["role"] for c in detail["call_stats"]} == {"advocate", "critic", "judge", "reflect"}
    curves = client.get(f"/api/runs/{built.runs['grpo']}/curves").json()["curves"]
    assert list(curves)[:3] == ["reward", "loss", "completions/mean_length"]
    assert curves["reward"][0] == [1.0, pytest.approx(0.1)] and len(curves["loss"]) == 8
    page = client.get(f"/runs/{built.runs['grpo']}").text
    # learning_rate is the same at every step: listed, not drawn
    assert page.count('<figure class="chart"') == len(curves) - 1
    assert 'data-series="reward"' in page and 'data-series="learning_rate"' not in page
    assert "learning_rate = 0.0001 at every step" in page
    # the charts' data: one JSON block, inert (not run), with every drawn chart
    data = page.split('<script type="application/json" class="chart-data">', 1)[1]
    records = json.loads(data.split("</script>", 1)[0])
    assert [r["name"] for r in records][:2] == ["reward", "watch/length_chars"]
    assert len(records) == len(curves) - 1 and records[0]["x"] == list(range(1, 9))
    assert all(r["alerts"] == [{"step": 5, "action": "warn"}] for r in records)
    # the reward-hacking signals: a section of their own, the alert escaped
    signals = page.split('id="charts-signals"', 1)[1].split("</section>", 1)[0]
    assert 'data-series="watch/length_drift"' in signals and "rising = more alike" in signals
    assert "step 5: <strong>length_drift &gt; 0.3 for 3 steps" in signals
    assert "<script>" not in signals and "&lt;script&gt;" in signals
    assert "length reference 46.0 characters (first batch)" in signals


def test_graph_run_page_draws_the_graph_and_items(client: TestClient, built: StudioStore) -> None:
    page = client.get(f"/runs/{built.runs['curate']}").text
    assert 'data-node="advocate"' in page and 'class="list items"' in page
    items = client.get(f"/api/runs/{built.runs['curate']}/items").json()
    assert items["total"] == 3 and {i["verdict"] for i in items["items"]} == {0, 1}


def test_item_transcripts_path_and_lit_nodes(client: TestClient, built: StudioStore) -> None:
    run = built.runs["curate"]
    key = client.get(f"/api/runs/{run}/items").json()["items"][0]["key"]
    item = client.get(f"/api/runs/{run}/items/{key}").json()
    roles = [c["role"] for c in item["calls"]]
    assert sorted(roles) == ["advocate", "critic", "judge", "reflect"]
    judge = next(c for c in item["calls"] if c["role"] == "judge")
    assert judge["template"] and judge["input"] and judge["raw_output"] and judge["parsed_output"]
    assert judge["latency_ms"] >= 0 and judge["error"] is None
    assert {"advocate", "critic", "judge", "reflect"} <= set(item["lit"])
    # the path is the checkpoints' `ran` nodes in order, less the input marker
    assert item["history"][0]["source"] == "input" and item["history"][0]["step"] == -1
    assert item["path"] == ["retrieve_exemplars", "advocate", "critic", "judge", "reflect",
                            "persist"]
    assert set(item["lit"]) == set(item["path"])
    judged = next(st for st in item["history"] if st["ran"] == ["judge"])
    assert judged["changed"]["initial_verdict"]["before"] is None
    assert judged["changed"]["initial_verdict"]["after"] in (0, 1)
    page = client.get(f"/runs/{run}/items/{key}").text
    assert 'class="node lit" data-node="judge"' in page and "parsed output" in page


def test_judge_and_adversarial_items(client: TestClient, built: StudioStore) -> None:
    judged = client.get(f"/api/runs/{built.runs['judge']}/items").json()
    assert judged["total"] == 3
    one = client.get(f"/api/runs/{built.runs['judge']}/items/{judged['items'][0]['key']}").json()
    assert [c["role"] for c in one["calls"]] == ["detect"] and one["lit"] == ["detect"]
    adv = client.get(f"/api/runs/{built.runs['adversarial']}/items").json()
    assert [i["key"] for i in adv["items"]] == ["it1:gen:0", "it1:det:0"]
    item = client.get(f"/api/runs/{built.runs['adversarial']}/items/it1:det:0").json()
    assert item["lit"] == ["detect"] and item["calls"][0]["parsed_output"] == {"verdict": 0}


def test_graph_svg_lights_requested_nodes(client: TestClient) -> None:
    svg = client.get("/api/graphs/curate.svg", params={"lit": "judge,reflect"})
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert 'class="node lit" data-node="judge"' in svg.text
    assert 'class="node" data-node="critic"' in svg.text
    assert client.get("/api/graphs/nope.svg").status_code == 404


def test_store_text_is_escaped_in_pages(client: TestClient, built: StudioStore) -> None:
    pages = [f"/runs/{built.runs['curate']}", f"/runs/{built.runs['judge']}",
             f"/runs/{built.runs['adversarial']}/items/it1:gen:0", "/principles",
             f"/principles/{built.versions[0]}"]
    key = next(i["key"] for i in client.get(f"/api/runs/{built.runs['curate']}/items").json()["items"]
               if XSS in (i["response"] or ""))
    pages.append(f"/runs/{built.runs['curate']}/items/{key}")
    for url in pages:
        text = client.get(url).text
        assert XSS not in text, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, url
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]


def test_eval_tables_put_the_length_baseline_beside_each_figure(client: TestClient,
                                                               built: StudioStore) -> None:
    judge = client.get(f"/api/runs/{built.runs['eval_judge']}/eval").json()["tables"][0]
    assert judge["columns"][2:4] == ["acc judge", "acc len>39"]
    assert judge["rows"][0][0] == "all" and len(judge["rows"]) == 6  # all, 4 bands, unseen
    rm = client.get(f"/api/runs/{built.runs['eval_rm']}/eval").json()["tables"]
    assert rm[0]["columns"][2:4] == ["rm", "longer"] and rm[1]["columns"][2] == "acc rm"
    policy = client.get(f"/api/runs/{built.runs['eval_policy']}/eval").json()["tables"][0]
    assert [r[0] for r in policy["rows"]] == ["sft", "grpo"] and "len>39" in policy["columns"]
    page = client.get("/eval").text
    assert "acc len&gt;39" in page and "policies on held-out prompts" in page


def test_principles_lineage_diff_and_version(client: TestClient, built: StudioStore) -> None:
    root, child = built.versions
    trees = client.get("/api/principles", params={"kind": "detector"}).json()["trees"]
    node = next(t for t in trees if t["version"]["id"] == root)
    assert [c["version"]["id"] for c in node["children"]] == [child]
    assert node["children"][0]["version"]["baseline_f1"] == 0.85
    diff = client.get("/api/principles/diff", params={"a": root, "b": child}).json()
    assert {"tag": "replace", "left": "规则二", "right": "规则二（改）"} in diff["rows"]
    assert any(line.startswith("+规则二（改）") for line in diff["unified"])
    assert "规则二（改）" in client.get("/principles/diff", params={"a": root, "b": child}).text
    version = client.get(f"/api/principles/{child}").json()
    assert version["lineage"] == [child, root] and version["text"].startswith("规则一")


def test_save_makes_a_new_immutable_version_and_activate_flips_the_flag(
        client: TestClient, built: StudioStore) -> None:
    root, child = built.versions
    before = client.get(f"/api/principles/{child}").json()
    saved = client.post("/api/principles", headers=JSON_POST,
                        json={"parent_id": child, "text": "规则一\r\n规则四  \n", "name": "手改"})
    assert saved.status_code == 201
    new = saved.json()
    assert (new["parent_id"], new["origin"], new["kind"], new["text"]) == (
        child, "manual", "detector", "规则一\n规则四")
    assert client.get(f"/api/principles/{child}").json() == before  # the parent is unchanged
    again = client.post("/api/principles", headers=JSON_POST,
                        json={"parent_id": child, "text": "规则一\n规则四"})
    assert again.status_code == 200 and again.json() == {**new, "created": False}
    for vid in (root, new["id"]):
        assert client.post(f"/api/principles/{vid}/activate", headers=JSON_POST, json={}).json()["active"]
        with built.store.session() as s:
            active = s.scalars(select(PrincipleVersion.id).where(
                PrincipleVersion.kind == "detector", PrincipleVersion.active.is_(True))).all()
        assert active == [vid]


def test_bad_input_is_422_naming_the_field_and_unknowns_are_404(client: TestClient,
                                                                 built: StudioStore) -> None:
    empty = client.post("/api/principles", headers=JSON_POST, json={"parent_id": 1, "text": " \n"})
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "text"]
    extra = client.post("/api/principles", headers=JSON_POST,
                        json={"parent_id": 1, "text": "x", "active": True})
    assert extra.status_code == 422 and extra.json()["detail"][0]["loc"] == ["body", "active"]
    limit = client.get("/api/runs", params={"limit": 201})
    assert limit.status_code == 422 and limit.json()["detail"][0]["loc"] == ["query", "limit"]
    for url in ("/api/runs/99999", "/api/runs/99999/items", "/api/principles/99999",
                f"/api/runs/{built.runs['curate']}/items/nope",
                f"/api/runs/{built.runs['judge']}/items/nope", "/api/principles/diff?a=1&b=99999"):
        response = client.get(url)
        detail = response.json()["detail"]
        assert response.status_code == 404 and ("does not exist" in detail or "no item" in detail
                                                 or "no run with id 99999 in the store" in detail)
    missing = client.post("/api/principles", headers=JSON_POST, json={"parent_id": 99999, "text": "x"})
    assert missing.status_code == 404
    assert client.post("/api/principles/99999/activate", headers=JSON_POST, json={}).status_code == 404
    assert client.get("/runs/99999").status_code == 404


def test_editor_rules_are_checked_as_the_cli_checks_them(client: TestClient,
                                                         built: StudioStore) -> None:
    child = built.versions[1]
    repeated = client.post("/api/principles", headers=JSON_POST,
                           json={"parent_id": child, "text": "规则甲\n\n  规则乙\n规则乙"})
    assert repeated.status_code == 422 and "duplicates rule 2" in str(repeated.json()["detail"])
    spaced = client.post("/api/principles", headers=JSON_POST,
                         json={"parent_id": child, "text": "  规则甲\n\n规则乙  "})
    assert spaced.status_code == 201 and spaced.json()["text"] == "规则甲\n规则乙"
    from kindling.store.principles import add_version

    parent, _ = add_version(built.store, kind="detector", name="长" * 200, text="规则丁",
                            origin="manual")
    edited = client.post("/api/principles", headers=JSON_POST,
                         json={"parent_id": parent, "text": "规则丙"})
    assert edited.status_code == 201  # the default name fits the 200-character column
    assert edited.json()["name"] == "长" * 191 + " (edited)"


def test_reading_an_item_creates_no_checkpoint_store(tmp_path: Path) -> None:
    from kindling.store.db import Store

    from tests.fakes import seed_tiny_data

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    store = Store(url)
    seed_tiny_data(store, [("祝福", "你好", 0)])
    with store.session() as s:
        from kindling.store.models import Run, RunItem
        run = Run(kind="curate", config={}, code_version="t", status="running")
        s.add(run)
        s.flush()
        s.add(RunItem(run_id=run.id, item_key="r1", query_id=1, response_id=1))
        run_id = run.id
    with TestClient(create_app(url), base_url=BASE) as fresh:
        item = fresh.get(f"/api/runs/{run_id}/items/r1")
    assert item.status_code == 200 and item.json()["history"] == []
    assert not list(tmp_path.glob("*.langgraph.sqlite"))  # a read wrote nothing


def test_writes_refuse_other_origins_and_non_json(client: TestClient, built: StudioStore) -> None:
    vid = built.versions[0]
    evil = client.post(f"/api/principles/{vid}/activate", headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    site = client.post(f"/api/principles/{vid}/activate", headers={"Sec-Fetch-Site": "cross-site"})
    assert site.status_code == 403
    form = client.post("/api/principles", headers=JSON_POST, data={"parent_id": "1", "text": "x"})
    assert form.status_code == 415


def test_loopback_app_refuses_other_host_names(built: StudioStore) -> None:
    with TestClient(create_app(built.url), base_url="http://rebound.example:8765") as c:
        assert c.get("/api/runs").status_code == 400
    with TestClient(create_app(built.url), base_url="http://localhost:8765") as c:
        assert c.get("/api/runs").status_code == 200


def test_token_is_required_off_loopback(built: StudioStore) -> None:
    app = create_app(built.url, token="s3cret", allowed_hosts=None)
    with TestClient(app, base_url="http://10.1.2.3:8765") as c:
        assert c.get("/api/runs").status_code == 401
        assert c.get("/").status_code == 401
        assert c.get("/api/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/runs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/?token=wrong", follow_redirects=False).status_code == 401
        login = c.get("/?token=s3cret", follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == "/"
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/api/runs").status_code == 200  # the cookie now carries the token


def test_items_of_a_10000_item_run_come_one_page_at_a_time(client: TestClient,
                                                            built: StudioStore) -> None:
    run = add_big_run(built.store, 10_000)
    body = client.get(f"/api/runs/{run}/items", params={"offset": 9_990, "limit": 200}).json()
    assert body["total"] == 10_000 and len(body["items"]) == 10
    body = client.get(f"/api/runs/{run}/items", params={"limit": 200}).json()
    assert len(body["items"]) == 200 and body["items"][0]["key"] == "r0"
    page = client.get(f"/runs/{run}", params={"offset": 50, "limit": 25}).text
    assert page.count('class="item-link"') == 25 and "51–75 of 10000" in page


def test_static_assets_ship_and_pages_name_no_external_url(client: TestClient,
                                                           built: StudioStore) -> None:
    css = client.get("/static/studio.css")
    assert css.status_code == 200 and ".graph .node.lit" in css.text
    js = client.get("/static/studio.js")
    assert js.status_code == 200 and "innerHTML" not in js.text
    for url in ("/", f"/runs/{built.runs['curate']}", "/principles", "/eval"):
        text = client.get(url).text
        # every src/href names the studio itself (a path), never another host
        links = re.findall(r'(?:src|href)="([^"]*)"', text)
        assert links and all(link.startswith(("/", "#", "?")) for link in links), (url, links)


def test_bind_address_decides_host_names_and_token(built: StudioStore) -> None:
    from kindling.commands.studio import access_for

    hosts, token = access_for("127.0.0.2", None)
    assert hosts is not None and "127.0.0.2" in hosts and "localhost" in hosts and token is None
    hosts, token = access_for("0.0.0.0", None)
    assert hosts is None and token and len(token) >= 24
    assert access_for("0.0.0.0", "mine") == (None, "mine")
    with TestClient(create_app(built.url, allowed_hosts=access_for("127.0.0.2", None)[0]),
                    base_url="http://127.0.0.2:8765") as other_loopback:
        assert other_loopback.get("/").status_code == 200


def test_cli_registers_studio() -> None:
    from typer.testing import CliRunner

    from kindling.cli import app

    out = CliRunner().invoke(app, ["studio", "--help"])
    assert out.exit_code == 0 and "--token" in out.output and "--port" in out.output
    wide = CliRunner().invoke(app, ["studio", "--help"], env={"COLUMNS": "200"})
    assert "--project" in wide.output and "--allow-endpoint-overrides" in wide.output


def test_pyproject_ships_templates_and_static() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = data["tool"]["setuptools"]["package-data"]["kindling.studio"]
    studio = root / "kindling" / "studio"
    for pattern in shipped:
        assert list(studio.glob(pattern)), pattern
    static = {p for p in (studio / "static").rglob("*") if p.is_file()}
    assert static == {p for pattern in shipped for p in studio.glob(pattern)
                      if p.is_relative_to(studio / "static")}  # every static file ships
    assert {"charts.js", "uPlot-1.6.32.iife.min.js", "uPlot-1.6.32.min.css",
            "LICENSE"} <= {p.name for p in static}


def test_items_filter_by_verdict_label_and_agreement(client: TestClient,
                                                     built: StudioStore) -> None:
    run = built.runs["curate_b"]  # a judge that likes everything: two bad texts judged good

    def keys(**where: str) -> list[int]:
        body = client.get(f"/api/runs/{run}/items", params=where).json()
        return [(i["verdict"], i["label"]) for i in body["items"]]

    assert sorted(keys()) == [(1, 0), (1, 0), (1, 1)]
    assert keys(agreement="disagree") == [(1, 0), (1, 0)]
    assert keys(agreement="agree") == [(1, 1)]
    assert keys(label="1") == [(1, 1)] and keys(verdict="0") == []
    assert keys(status="failed") == [] and keys(label="none") == []
    assert client.get(f"/api/runs/{run}/items", params={"agreement": "maybe"}).status_code == 422


def test_item_api_gives_the_label_warnings_and_trace(client: TestClient,
                                                     built: StudioStore) -> None:
    run = built.runs["curate_b"]
    key = client.get(f"/api/runs/{run}/items", params={"label": "1"}).json()["items"][0]["key"]
    item = client.get(f"/api/runs/{run}/items/{key}").json()
    assert item["label"]["value"] == 1 and item["label"]["agrees"] is True
    assert any("'最终理由' is copied" in w for w in item["warnings"])
    assert [t["node"] for t in item["trace"]] == ["advocate", "critic", "judge", "reflect"]
    assert max(t["share"] for t in item["trace"]) == 100.0


def test_two_curate_runs_compared_item_by_item(client: TestClient, built: StudioStore) -> None:
    a, b = built.runs["curate"], built.runs["curate_b"]
    page = client.get("/compare", params={"a": a, "b": b}).text
    assert "<strong>3</strong> items in both runs: 1 same verdict, <strong>2</strong> differ" in page
    assert f"run {a} agrees on 3 (100%), run {b} on 1 (33%)" in page
    assert XSS not in page and "&lt;script&gt;" in page
    changed = client.get("/compare", params={"a": a, "b": b, "changed": "true"}).text
    assert changed.count('<tr class="changed">') == 2
    wrong = client.get("/compare", params={"a": a, "b": built.runs["sft"]})
    assert wrong.status_code == 404 and "not a curate run" in wrong.text


def test_live_view_of_a_run(client: TestClient, built: StudioStore) -> None:
    live = client.get(f"/api/runs/{built.runs['curate']}/live").json()
    assert live["status"] == "finished" and live["items"]["done"] == 3
    assert len(live["verdicts"]) == 3 and live["in_flight"] == []
    assert {v["label"] for v in live["verdicts"]} == {0, 1}
    grpo = client.get(f"/api/runs/{built.runs['grpo']}/live").json()
    assert grpo["steps"] == 8 and grpo["last_step"]["step"] == 8
    fragment = client.get(f"/runs/{built.runs['grpo']}/charts").text
    assert 'data-series="reward"' in fragment and "<html" not in fragment


def test_debug_api_refuses_what_the_graph_cannot_take(client: TestClient,
                                                      built: StudioStore) -> None:
    start = client.post("/api/debug/sessions", json={"graph": "wizard"}, headers=JSON_POST)
    assert start.status_code == 400 and "unknown graph 'wizard'" in start.json()["detail"]
    node = client.post("/api/debug/sessions", json={"graph": "curate", "break_before": ["x"]},
                       headers=JSON_POST)
    assert node.status_code == 400 and "no node 'x'" in node.json()["detail"]
    fork = client.post("/api/debug/fork", json={"run_id": built.runs["curate"], "item": "r1",
                                                "at": 99}, headers=JSON_POST)
    assert fork.status_code == 400 and "checkpoints" in fork.json()["detail"]
    gone = client.post("/api/debug/sessions/nosuch", json={"action": "continue"},
                       headers=JSON_POST)
    assert gone.status_code == 404 and "no open debug session" in gone.json()["detail"]
    assert client.get("/debug/nosuch").status_code == 404
    foreign = client.post("/api/debug/sessions", json={"graph": "curate"},
                          headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    page = client.get("/debug").text
    assert 'value="judge"' in page and "pause before" in page
    outside = client.post("/api/debug/sessions", json={"graph": "judge", "query": "q",
                                                       "response": "r", "config": "/etc/hostname"},
                          headers=JSON_POST)
    assert outside.status_code == 400 and "not one of the project's configs" in \
        outside.json()["detail"]


def test_debug_start_offers_the_project_configs(client: TestClient, project: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    listing = client.get("/api/debug/configs").json()
    assert listing["project"] == str(project.resolve())
    assert listing["configs"] == {"curate": ["judge_http.yaml", "configs/curate_small.yaml"],
                                  "judge": ["judge_http.yaml"], "adversarial": ["judge_http.yaml"]}
    assert listing["unusable"] == [{"name": "mkdocs.yml", "problem": "not a run config of "
                                    "curate, adversarial or judge"}]
    assert listing["allow_endpoint_overrides"] is False and "key_variables" not in listing
    page = client.get("/debug").text
    assert f'<code id="debug-project">{project.resolve()}</code>' in page
    root = project.resolve()
    assert ('<option value="configs/curate_small.yaml" data-graphs="curate" '
            f'data-file="{root / "configs" / "curate_small.yaml"}">') in page
    assert ('<option value="judge_http.yaml" data-graphs="curate adversarial judge" '
            f'data-file="{root / "judge_http.yaml"}">') in page
    assert "<code>mkdocs.yml</code>: not a run config" in page
    monkeypatch.setenv("KINDLING_STUDIO_API_KEY", "k")
    started = client.post("/api/debug/sessions", headers=JSON_POST, json={
        "graph": "judge", "config": "judge_http.yaml", "query": "生日祝福", "response": "生日快乐",
        "sets": ["samples=2", "llm.temperature=0.2"]})
    assert started.status_code == 201, started.text
    view = client.get(f"/api/debug/sessions/{started.json()['id']}", params={"wait": 30}).json()
    assert view["next"] == ["guard_response"] and view["error"] is None
    assert view["config"]["file"] == str(root / "judge_http.yaml")
    run = client.get(f"/api/runs/{view['run_id']}").json()
    assert run["config"]["samples"] == 2 and run["config"]["llm"]["temperature"] == 0.2
    quit_ = client.post(f"/api/debug/sessions/{started.json()['id']}", json={"action": "quit"},
                        headers=JSON_POST)
    assert quit_.json()["ended"] is True
    moved = client.post("/api/debug/sessions", headers=JSON_POST, json={
        "graph": "judge", "config": "judge_http.yaml", "query": "q", "response": "r",
        "sets": ["llm.model=other"]})
    assert moved.status_code == 400 and "llm.model" in moved.json()["detail"]
