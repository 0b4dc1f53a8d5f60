"""A thread killed after a node's writes were saved but before its step's checkpoint still has
work: LangGraph leaves that task out of `snapshot.next`, and `unfinished` must not."""

from typing import TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from kindling.checkpoints import unfinished


class State(TypedDict):
    n: int


async def test_saved_writes_without_a_checkpoint_are_unfinished_work() -> None:
    graph = StateGraph(State)
    graph.add_node("one", lambda s: {"n": s["n"] + 1})
    graph.add_node("two", lambda s: {"n": s["n"] * 10})
    graph.add_edge(START, "one")
    graph.add_edge("one", "two")
    graph.add_edge("two", END)
    saver = InMemorySaver()
    app = graph.compile(checkpointer=saver, interrupt_before=["two"])
    config = {"configurable": {"thread_id": "t"}}
    await app.ainvoke({"n": 1}, config)
    snapshot = await app.aget_state(config)
    assert snapshot.next == ("two",) and unfinished(snapshot)
    task = snapshot.tasks[0]  # "two" finished and saved its writes; then the process died
    await saver.aput_writes(snapshot.config, [("n", 20)], task.id)
    killed = await app.aget_state(config)
    assert killed.next == () and unfinished(killed)
    await app.ainvoke(None, config)  # resuming applies the saved writes and ends
    done = await app.aget_state(config)
    assert done.values == {"n": 20} and not unfinished(done)
