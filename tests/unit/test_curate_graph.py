import pytest
from kindling.agents.curate.config import CurateConfig
from kindling.graphs.curate import route_after_generation, route_after_judge, route_after_retrieval
from kindling.store.db import Store
from kindling.store.models import AgentCall, Verdict
from sqlalchemy import func, select

from kindling.services.curate import CurateRunner
from tests.fakes import ScriptedChatModel, default_scripts, seed_tiny_data

ITEMS = [("生日祝福", "生日快乐", 0),
         ("生日祝福", "亲爱的朋友，生日快乐！愿你新的一岁眼里有光、心中有爱，所求皆如愿，所行皆坦途，岁岁常欢愉。", 1),
         ("新年祝福", "新年好", 0)]


def test_routers() -> None:
    assert route_after_retrieval({"candidate": None}) == "generate_candidate"
    assert route_after_retrieval({"candidate": "x"}) == ["advocate", "critic"]
    assert route_after_generation({"errors": ["generate: bad"]}) == "persist"
    assert route_after_generation({"errors": []}) == ["advocate", "critic"]
    assert route_after_judge({"errors": ["critic: x"]}) == "persist"
    assert route_after_judge({}) == "reflect"


async def test_curate_dataset_items_end_to_end(sqlite_store: Store) -> None:
    seed_tiny_data(sqlite_store, ITEMS)
    model = ScriptedChatModel(scripts=default_scripts())
    runner = CurateRunner(sqlite_store, CurateConfig(), chat_models={"agents": model},
                          show_progress=False)
    outcome = await runner.run()
    assert outcome.counts == {"done": 3}
    with sqlite_store.session() as s:
        verdicts = {v.item_key: v.final_verdict for v in s.scalars(select(Verdict))}
        roles = s.execute(select(AgentCall.role, func.count()).group_by(AgentCall.role)).all()
    assert sorted(verdicts.values()) == [0, 0, 1]
    assert dict(roles) == {"advocate": 3, "critic": 3, "judge": 3, "reflect": 3}
    judge_prompts = [p for role, p in model.seen if role == "judge"]
    # the paper's judge weighs the two analyses only: strict rule, no principle list
    assert "各个方面都达到良好时才判 1" in judge_prompts[0]
    assert "贴合 query 描述的场景" not in judge_prompts[0]
    assert "- 流畅" in judge_prompts[0] and "- 略显空泛" in judge_prompts[0]
    advocate_prompts = [p for role, p in model.seen if role == "advocate"]
    assert "参考范例" not in advocate_prompts[0]  # exemplars feed only the generation prompt
    assert "9. 其他亮点" in advocate_prompts[0]  # the nine dimensions


async def test_kindling_prompt_set_reads_principles_and_shows_exemplars(sqlite_store: Store) -> None:
    seed_tiny_data(sqlite_store, ITEMS)
    model = ScriptedChatModel(scripts=default_scripts())
    runner = CurateRunner(sqlite_store, CurateConfig(prompt_set="kindling"),
                          chat_models={"agents": model}, show_progress=False)
    assert (await runner.run()).counts == {"done": 3}
    judge_prompt = next(p for role, p in model.seen if role == "judge")
    assert "贴合 query 描述的场景" in judge_prompt  # principles come from the YAML file
    assert "参考范例" in next(p for role, p in model.seen if role == "critic")


def test_paper_prompt_set_refuses_a_principle_set() -> None:
    with pytest.raises(ValueError, match="set prompt_set: kindling to judge by principles"):
        CurateConfig(principles="path_a_judge")


def test_path_a_resolves_its_rules_as_every_principle_set(sqlite_store: Store) -> None:
    """None under the paper's prompts; the task's starting file, then its active version once
    one is activated, and a set named in the config over both."""
    from kindling.agents.task import resolve_task
    from kindling.store.principles import activate, add_version

    from kindling.services.curate import path_a_version

    task = resolve_task(None)
    assert path_a_version(sqlite_store, CurateConfig(), task) is None
    start = path_a_version(sqlite_store, CurateConfig(prompt_set="kindling"), task)
    assert (start.kind, start.name, start.origin) == ("debate_judge", "path_a_judge", "file")
    mine, _ = add_version(sqlite_store, kind="debate_judge", name="mine", text="只看是否押韵",
                          origin="manual", task=task.name)
    activate(sqlite_store, mine)
    assert path_a_version(sqlite_store, CurateConfig(prompt_set="kindling"), task).id == mine
    named = CurateConfig(prompt_set="kindling", principles=str(start.id))
    assert path_a_version(sqlite_store, named, task).id == start.id


def test_debate_findings_read_in_the_seeds_shapes() -> None:
    from kindling.agents.curate.schemas import DebateAnalysis

    nested = DebateAnalysis.model_validate({"points": [{"point": "流畅", "reason": "通顺"}]})
    flat = DebateAnalysis.model_validate({"流畅": "通顺", "真挚": "有温度"})
    strings = DebateAnalysis.model_validate({"points": ["流畅"]})
    assert nested.lines() == ["流畅：通顺"] and flat.lines() == ["流畅：通顺", "真挚：有温度"]
    assert strings.lines() == ["流畅"] and DebateAnalysis.model_validate({}).lines() == []


async def test_rerun_of_a_finished_run_makes_no_calls(sqlite_store: Store) -> None:
    seed_tiny_data(sqlite_store, ITEMS)
    model = ScriptedChatModel(scripts=default_scripts())
    cfg = CurateConfig()
    await CurateRunner(sqlite_store, cfg, chat_models={"agents": model}, show_progress=False).run()
    calls = len(model.seen)
    again = await CurateRunner(sqlite_store, cfg, chat_models={"agents": model},
                               show_progress=False).run()
    assert len(model.seen) == calls and again.counts == {"done": 3}


async def test_generate_source_makes_candidates(sqlite_store: Store) -> None:
    seed_tiny_data(sqlite_store, ITEMS)
    model = ScriptedChatModel(scripts=default_scripts())
    cfg = CurateConfig(source="generate", samples_per_query=2)
    outcome = await CurateRunner(sqlite_store, cfg, chat_models={"agents": model},
                                 show_progress=False).run()
    assert outcome.counts == {"done": 4}  # 2 distinct queries × 2 samples


@pytest.mark.parametrize("broken_role", ["critic", "judge", "reflect"])
async def test_unparseable_role_records_failure_not_loss(sqlite_store: Store, broken_role: str) -> None:
    seed_tiny_data(sqlite_store, ITEMS[:1])
    scripts = default_scripts() | {broken_role: lambda p: "I refuse to answer in JSON."}
    model = ScriptedChatModel(scripts=scripts)
    outcome = await CurateRunner(sqlite_store, CurateConfig(), chat_models={"agents": model},
                                 show_progress=False).run()
    assert outcome.counts == {"failed": 1}
    with sqlite_store.session() as s:
        v = s.scalars(select(Verdict)).one()
        attempts = s.scalars(select(AgentCall.attempt).where(AgentCall.role == broken_role)).all()
    assert v.status == "failed" and broken_role in (v.error or "")
    assert sorted(attempts) == [1, 2, 3]  # parse_attempts re-asks, each recorded


async def test_retry_failed_redoes_only_the_failed_part(sqlite_store: Store) -> None:
    seed_tiny_data(sqlite_store, ITEMS)
    broken = ScriptedChatModel(scripts=default_scripts() | {"reflect": lambda p: "no JSON"})
    first = await CurateRunner(sqlite_store, CurateConfig(), chat_models={"agents": broken},
                               show_progress=False).run()
    assert first.counts == {"failed": 3}
    fixed = ScriptedChatModel(scripts=default_scripts())
    again = await CurateRunner(sqlite_store, CurateConfig(), retry_failed=True,
                               chat_models={"agents": fixed}, show_progress=False).run()
    assert again.counts == {"done": 3} and again.run_id == first.run_id
    assert {role for role, _ in fixed.seen} == {"reflect"}  # debate and judge results were reused
    with sqlite_store.session() as s:
        assert s.scalar(select(func.count()).select_from(Verdict)) == 3


async def test_curate_principles_by_version_id_and_kind_checked(sqlite_store: Store) -> None:
    from kindling.store.principles import PrincipleNotFound, add_version

    seed_tiny_data(sqlite_store, ITEMS)
    judge_id, _ = add_version(sqlite_store, kind="debate_judge", name="mine", text="只看是否押韵",
                              origin="manual")
    detector_id, _ = add_version(sqlite_store, kind="detector", name="sd", text="规则",
                                 origin="manual")
    model = ScriptedChatModel(scripts=default_scripts())
    runner = CurateRunner(sqlite_store, CurateConfig(prompt_set="kindling",
                                                        principles=str(judge_id)),
                          chat_models={"agents": model}, show_progress=False)
    assert (await runner.run()).counts == {"done": 3}
    assert "只看是否押韵" in next(p for role, p in model.seen if role == "judge")
    with pytest.raises(PrincipleNotFound, match="a detector set, not debate_judge"):
        CurateRunner(sqlite_store, CurateConfig(prompt_set="kindling",
                                                principles=str(detector_id)),
                     chat_models={"agents": model}, show_progress=False)
