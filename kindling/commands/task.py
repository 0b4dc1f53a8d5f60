"""`kindling task list|show|new`: the tasks there are, the prompts a task's agents read, a
copy of a task to edit."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from kindling.context import console

app = typer.Typer(help="Tasks: what is written and how it is judged (see docs/tasks.md).",
                  no_args_is_help=True)


PROJECT_OPTION = typer.Option(None, "--project", help="The project folder whose tasks/ holds its own tasks (default: the current folder).")


@app.command("list")
def list_(project: Path = PROJECT_OPTION) -> None:
    """Built-in tasks and the project's own (./tasks/): name, language, summary."""
    from kindling.services.tasks import list_tasks

    rows = list_tasks(project)
    table = Table(title="tasks")
    for col in ("name", "language", "summary", "where"):
        table.add_column(col)
    for row in rows:
        table.add_row(escape(row.name), row.language, escape(row.summary), escape(row.where))
    console.print(table)


@app.command("show")
def show(
    name: str = typer.Argument(..., metavar="NAME|DIR", help="A built-in task, a task under ./tasks/ or a task folder."),
    role: str = typer.Option(None, "--role", help="Only this role's prompt: generate, advocate, critic, judge, reflect, detect, generate_flawed, detect_flawed, reflect_on_error, revise_principles, revise_strategies."),
) -> None:
    """The task's fields in brief, then each role's prompt rendered for the task's worked
    example: what the agents will read."""
    from kindling.agents.task import resolve_task
    from kindling.services.tasks import render_roles

    task = resolve_task(name)
    rendered = render_roles(task, role)
    console.print(f"[bold]{escape(task.name)}[/] ({task.language}, lengths in "
                  f"{task.length_unit}) {escape(task.spec.summary)}", highlight=False)
    console.print(f"folder {task.folder}\nhash {task.content_hash}", highlight=False)
    for role_name, template, text in rendered:
        console.rule(f"{role_name} · {template}")
        console.print(text, markup=False, highlight=False)


@app.command("new")
def new(
    name: str = typer.Argument(..., help="The new task's name: its folder is ./tasks/NAME."),
    source: str = typer.Option("greetings-zh", "--from", help="The task to copy (a name or a folder)."),
    language: str = typer.Option(None, "--language", help="Set the copy's language (an ISO 639 code, e.g. en)."),
    project: Path = PROJECT_OPTION,
) -> None:
    """Copy a task into ./tasks/NAME to edit (never over an existing folder)."""
    from kindling.services.tasks import new_task

    folder, languages = new_task(name, source, language, project)
    console.print(f"wrote {folder} (from {source}); edit task.yaml, then "
                  f"`kindling task show {name}`", highlight=False)
    if language is not None:
        has = language in languages
        console.print(f"language {language}: " + (
            "built-in templates exist" if has else
            f"no built-in templates (they exist in: {', '.join(languages)}); write every "
            f"template under {folder}/templates/ (docs/tasks.md)"), highlight=False)
        console.print("the copied task.yaml's texts are still in the language of "
                      f"{source}: translate them", highlight=False)
