"""The reliability suite's table: every command with bad inputs of each kind.

A case is the command line (after `kindling`), the words its one-line error must contain, and
optional environment variables. `{root}`, `{db}`, `{ro}`, `{paper}`, `{configs}`, `{key}` and
the world's run ids are filled in by `World.fill`; `{db}` is the world's store unless a case
gives another URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    needles: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def case(id_: str, args: str | list[str], *needles: str, **env: str) -> Case:
    argv = args.split() if isinstance(args, str) else args
    return Case(id_, tuple(argv), needles, env)


OPENAI = ["--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
          "--api-key-env", "KINDLING_REL_KEY"]
"""An endpoint backend that is cheap to build (nothing listens there: no case gets that far)."""

# every command that opens the store, with otherwise valid arguments
STORE_COMMANDS: dict[str, list[str]] = {
    "data-import": ["data", "import", "--from", "{paper}"],
    "data-stats": ["data", "stats"],
    "curate": ["curate", "--limit", "1"],
    "judge": ["judge", "--dataset", "evaluation_set", "--limit", "1"],
    "adversarial": ["adversarial", "--iterations", "1"],
    "pairs-build": ["pairs", "build", "--run", "{curate_run}"],
    "pairs-export": ["pairs", "export", "--run", "{import_run}", "--out", "{root}/new_export"],
    "runs": ["runs"],
    "runs-show": ["runs", "show", "{import_run}"],
    "principles-list": ["principles", "list"],
    "principles-show": ["principles", "show", "{sd}"],
    "principles-diff": ["principles", "diff", "{sd}", "{sg}"],
    "principles-activate": ["principles", "activate", "{sd}"],
    "principles-export": ["principles", "export", "{sd}", "--out", "{root}/new.yaml"],
    "principles-import": ["principles", "import", "{root}/p_good.yaml"],
    "principles-edit": ["principles", "edit", "{sd}"],
    "eval-judge": ["eval", "judge", "--judge-run", "{judge_run}"],
    "eval-rm": ["eval", "rm", "--model", "{root}/no_model"],
    "eval-policy": ["eval", "policy", "--model", "{root}/no_model"],
    "model-init": ["model", "init", "--tiny", "--out", "{root}/new_model"],
    "train-sft": ["train", "sft", "--config", "{configs}/sft_tiny.yaml"],
    "train-rm": ["train", "rm", "--config", "{configs}/rm_tiny.yaml"],
    "train-grpo": ["train", "grpo", "--config", "{configs}/grpo_tiny.yaml"],
    "graph-step": ["graph", "step", "curate"],
    "graph-replay": ["graph", "replay", "{curate_run}", "--list"],
    "quickstart": ["quickstart", "--workdir", "{root}/new_qs", "--from", "{paper}"],
    "experiment-paper": ["experiment", "paper", "-c", "{configs}/experiment_tiny.yaml", "--set",
                         "workdir={root}/new_exp"],
    "endpoint-check": ["endpoint", "check", "--base-url", "http://127.0.0.1:9/v1", "--model",
                       "m", "--api-key-env", "KINDLING_REL_KEY"],
}

BAD_STORES: dict[str, tuple[str, str]] = {
    "foo-scheme": ("foo://", "unsupported database 'foo'"),
    "not-a-url": ("not-a-url", "is not a database URL"),
    "missing-folder": ("sqlite:///{root}/no_such_folder/k.db", "does not exist"),
    "folder": ("sqlite:///{root}/adir", "is a folder, not a SQLite file"),
    "text-file": ("sqlite:///{root}/notdb.txt", "is not a SQLite database"),
    "pg-refused": ("postgresql://postgres@127.0.0.1:1/test", "Connection refused"),
    "pg-no-database": ("postgresql://postgres@127.0.0.1:5432/kindling_rel_nosuch",
                       '"kindling_rel_nosuch" does not exist'),
    "mysql": ("mysql://root@127.0.0.1/test", "unsupported database 'mysql'"),
}

# commands that write to the store, against a read-only one (SQLite's mode=ro)
WRITERS = ["data-import", "curate", "judge", "adversarial", "pairs-build", "principles-activate",
           "principles-import", "principles-edit", "eval-judge", "eval-rm", "eval-policy",
           "train-sft", "train-rm", "train-grpo", "graph-step", "quickstart", "endpoint-check", "experiment-paper"]


def store_cases() -> list[Case]:
    cases = [case(f"store-{bad}-{name}", ["--db-url", url, *argv], message, EDITOR="true",
                  KINDLING_REL_KEY="k")
             for bad, (url, message) in BAD_STORES.items()
             for name, argv in STORE_COMMANDS.items()]
    cases += [case(f"store-read-only-{name}", ["--db-url", "{ro}", *STORE_COMMANDS[name]],
                   "is read-only", "this command needs to write", EDITOR="true",
                   KINDLING_REL_KEY="k")
              for name in WRITERS]
    return cases


# commands that take a run config and --set: (argv before the config path, argv before --set,
# the prefix of their LLM section)
CONFIG_COMMANDS: dict[str, tuple[list[str], list[str], str]] = {
    "curate": (["curate", "--config"], ["curate"], "llm"),
    "judge": (["judge", "--dataset", "evaluation_set", "--config"],
              ["judge", "--dataset", "evaluation_set"], "llm"),
    "adversarial": (["adversarial", "--config"], ["adversarial"], "llm"),
    "graph-step": (["graph", "step", "curate", "--config"], ["graph", "step", "curate"], "llm"),
    "eval-judge": (["eval", "judge", "--principles", "{sd}", "--judge-config"],
                   ["eval", "judge", "--principles", "{sd}"], "llm"),
    "eval-policy": (["eval", "policy", "--model", "{root}/no_model", "--judge-config"],
                    ["eval", "policy", "--model", "{root}/no_model", "--principles", "{sd}"],
                    "llm"),
}
CONFIG_FILES = {
    "missing": ("{root}/nope.yaml", "nope.yaml"),
    "folder": ("{root}/adir", "is a folder, not a YAML config file"),
    "utf16": ("{root}/cfg_utf16.yaml", "cfg_utf16.yaml: not UTF-8"),
    "broken-yaml": ("{root}/cfg_broken.yaml", "cfg_broken.yaml: not valid YAML", "line 2"),
    "not-a-mapping": ("{root}/cfg_list.yaml", "top level must be a mapping"),
    "unknown-key": ("{root}/cfg_unknown.yaml", "cfg_unknown.yaml: field nope"),
}


def config_cases() -> list[Case]:
    cases = []
    for name, (with_config, with_sets, llm) in CONFIG_COMMANDS.items():
        for bad, (path, *needles) in CONFIG_FILES.items():
            cases.append(case(f"config-{bad}-{name}", [*with_config, path], *needles))
        for bad, value, needle in [
            ("set-not-yaml", f"{llm}.model=[x", "not valid YAML"),
            ("set-no-equals", f"{llm}.model", "expected key=value"),
            ("set-unknown", f"{llm}.temprature=0.1",
             f"--set {llm}.temprature: unknown key (did you mean {llm}.temperature?)"),
            ("set-bad-value", f"{llm}.temperature=hot", f"--set {llm}.temperature: "),
            ("set-out-of-range", f"{llm}.max_retries=99", f"--set {llm}.max_retries: "),
            ("key-as-variable", f"{llm}.api_key_env={{key}}", "looks like an API key"),
            ("base-url", f"{llm}.base_url=not a url", "must be an http(s) URL"),
        ]:
            cases.append(case(f"config-{bad}-{name}", [*with_sets, "--set", value], needle))
    for kind in ("sft", "rm", "grpo"):
        train = ["train", kind, "--config"]
        shipped = ["train", kind, "--config", f"{{configs}}/{kind}_tiny.yaml"]
        cases += [
            case(f"train-missing-config-{kind}", [*train, "{root}/nope.yaml"], "nope.yaml"),
            case(f"train-config-folder-{kind}", [*train, "{root}/adir"], "adir"),
            case(f"train-utf16-{kind}", [*train, "{root}/cfg_utf16.yaml"], "not UTF-8"),
            case(f"train-broken-{kind}", [*train, "{root}/cfg_broken.yaml"], "not valid YAML"),
            case(f"train-unknown-{kind}", [*train, "{root}/train_unknown.yaml"], "nope"),
            case(f"train-set-not-yaml-{kind}", [*shipped, "--set", "trl.learning_rate=[x"],
                 "not valid YAML"),
            case(f"train-set-unknown-{kind}", [*shipped, "--set", "trl.no_such_field=1"],
                 "no_such_field"),
            case(f"train-out-users-folder-{kind}",
                 [*shipped, "--set", "trl.output_dir={root}/precious"],
                 "trl.output_dir", "not made by Kindling"),
            case(f"train-out-file-{kind}", [*shipped, "--set", "trl.output_dir={root}/afile.txt"],
                 "is a file"),
            case(f"train-model-missing-{kind}",
                 [*shipped, "--set", "kindling.model={root}/no_model",
                  "--set", "trl.output_dir={root}/new_train"], "no_model"),
            case(f"train-name-long-{kind}", [*shipped, "--name", "x" * 201], "kindling.name"),
        ]
    return cases


# every place the CLI takes a run (an id or a name), RUN standing for it; True: a run that is
# not in the store is an error there (False: a filter that then matches nothing)
RUN_ARGS: dict[str, tuple[str, bool]] = {
    "runs-show": ("runs show RUN", True),
    "pairs-build": ("pairs build --run RUN", True),
    "pairs-export": ("pairs export --run RUN --out {root}/new_export", True),
    "eval-judge-judge-run": ("eval judge --judge-run RUN", True),
    "eval-judge-curate-run": ("eval judge --curate-run RUN", True),
    "eval-rm-pairs-run": ("eval rm --model {root}/users_model --pairs-run RUN", True),
    "graph-replay": ("graph replay RUN --list", True),
    "curate-policy": ("curate --policy run:RUN", True),
    "eval-policy-model": ("eval policy --model run:RUN", True),
    "principles-list-run": ("principles list --run RUN", False),
    "principles-diff-best-run": ("principles diff --best --run RUN", False),
    "principles-activate-best-run": ("principles activate --best --run RUN", False),
}
NO_SUCH_RUNS = {
    "negative": "run:-1", "zero": "0", "2e63": str(2**63), "huge": "9" * 40,
    "name": "run:no-such-name",
}
"""Run references no run has: ids out of any store's range (never sent to the database) and
a name; `largest`, 2^63 - 1, is in SQLite's range and simply not there."""


def run_ref_cases() -> list[Case]:
    """A run no store holds is "no such run" naming the store (a SQLite file by its absolute
    path), never a traceback; a name close to a run's name in the store (`grpo_rm` for the
    world's grpo-rm) suggests that name, a nonsense one suggests nothing."""
    cases = []
    for name, (line, must_exist) in RUN_ARGS.items():
        refs = {**NO_SUCH_RUNS, **({"largest": str(2**63 - 1)} if must_exist else {})}
        for ref_id, ref in refs.items():
            ref = ref.removeprefix("run:") if "run:RUN" in line else ref
            asked = "no run named 'no-such-name'" if ref_id == "name" else "no run with id"
            cases.append(case(f"no-run-{ref_id}-{name}", line.replace("RUN", ref).split(),
                              asked, "in the store {root}/kindling.db"))
        ref = "grpo_rm" if "run:RUN" in line else "run:grpo_rm"
        cases.append(case(f"no-run-near-name-{name}", line.replace("RUN", ref).split(),
                          "no run named 'grpo_rm' in the store {root}/kindling.db",
                          "did you mean grpo-rm?"))
    return cases


def version_ref_cases() -> list[Case]:
    """A principle version id beyond the id column is "does not exist" naming the store, never a
    traceback."""
    big = str(2**63)
    return [case(f"no-version-2e63-{name}", line.replace("V", big).split(),
                 f"principle version {big} does not exist in the store {{root}}/kindling.db")
            for name, line in {"show": "principles show V", "activate": "principles activate V",
                               "export": "principles export V --out {root}/new.yaml",
                               "diff": "principles diff {sd} V",
                               "eval-judge": "eval judge --principles V"}.items()]


def id_cases() -> list[Case]:
    return [
        case("id-runs-show", "runs show 9999", "no run with id 9999"),
        case("id-runs-show-full", "runs show 9999 --full", "no run with id 9999"),
        case("name-curate-long", ["curate", "--name", "x" * 201], "1 to 200 characters"),
        case("name-curate-blank", ["curate", "--name", " "], "1 to 200 characters"),
        case("name-adversarial-long", ["adversarial", "--name", "x" * 201],
             "1 to 200 characters"),
        case("name-graph-step-long", ["graph", "step", "curate", "--name", "x" * 201],
             "1 to 200 characters"),
        case("id-runs-kind", "runs --kind wizard", "'wizard' is not one of 'import'"),
        case("id-runs-limit", "runs --limit 0", "--limit 0"),
        case("id-principles-show", "principles show 9999", "9999"),
        case("id-principles-diff", "principles diff {sd} 9999", "9999"),
        case("principles-diff-none", "principles diff", "give two version ids, or --best"),
        case("principles-diff-one", "principles diff {sd}", "give two version ids, or --best"),
        case("principles-diff-kinds", "principles diff {sd} {sg}",
             "diff two versions of one kind"),
        case("principles-diff-best-none", "principles diff --best --kind generator",
             "no generator version has validation metrics"),
        case("principles-diff-kind-no-best", "principles diff {sd} {sd} --kind detector",
             "--kind and --run only go with --best"),
        case("id-principles-activate", "principles activate 9999", "9999"),
        case("id-principles-export", "principles export 9999 --out {root}/new.yaml", "9999"),
        case("id-principles-list-kind", "principles list --kind wizard", "wizard"),
        case("id-pairs-build-missing", "pairs build --run 9999", "no run with id 9999"),
        case("id-pairs-build-kind", "pairs build --run {import_run}", "not a curate run"),
        case("pairs-per-query", "pairs build --run {curate_run} --per-query 0",
             "expected a number of pairs (1, 2, ...) or all"),
        case("id-pairs-export-missing", "pairs export --run 9999 --out {root}/new_export",
             "no run with id 9999"),
        case("id-pairs-export-kind", "pairs export --run {judge_run} --out {root}/new_export",
             "not a pairs or import run"),
        case("id-eval-judge-missing", "eval judge --judge-run 9999", "no run with id 9999"),
        case("id-eval-judge-kind", "eval judge --curate-run {judge_run}", "not a 'curate' run"),
        case("id-eval-judge-none", "eval judge", "exactly one of"),
        case("id-eval-bands", "eval judge --judge-run {judge_run} --bands 40,20",
             "strictly increasing"),
        case("id-eval-policy-run", "eval policy --model run:9999", "run:9999"),
        case("id-eval-rm-pairs-run", "eval rm --model {root}/users_model --pairs-run 9999",
             "9999"),
        case("id-graph-replay-missing", "graph replay 9999", "9999"),
        case("id-graph-replay-kind", "graph replay {sft_run}", "sft"),
        case("id-judge-principles", ["judge", "--dataset", "evaluation_set", "--principles",
                                     "9999"], "9999"),
        case("id-judge-principles-kind", ["judge", "--dataset", "evaluation_set",
                                          "--principles", "{sg}"], "not detector"),
        case("id-adversarial-principles", ["adversarial", *OPENAI, "--set",
                                           "detector_principles=9999"],
             "9999", KINDLING_REL_KEY="k"),
        case("id-graph-step-item", "graph step curate --item nosuch", "item 'nosuch'"),
        case("id-graph-step-node", "graph step curate --break-before nonode", "no node 'nonode'"),
        case("id-graph-step-judge", "graph step judge", "--query and --response"),
        case("id-graph-step-name", "graph step wizard", "'wizard' is not one of 'curate'"),
        case("id-graph-show-name", "graph show wizard", "wizard"),
        case("id-graph-show-format", "graph show curate --format pdf", "pdf"),
    ]


def output_cases() -> list[Case]:
    export = "pairs export --run {import_run} --out"
    return [
        case("out-export-non-empty", f"{export} {{root}}/precious", "not empty; pass --overwrite"),
        case("out-export-cwd", f"{export} .", "not empty; pass --overwrite"),
        case("out-export-file", f"{export} {{root}}/afile.txt", "is a file"),
        case("out-export-users-file", f"{export} {{root}}/user_export --overwrite",
             "pairs.jsonl not written by Kindling"),
        case("out-export-format", f"{export} {{root}}/new_export --format csv", "is not one of 'trl'"),
        case("out-judge-folder", "judge --dataset evaluation_set --out {root}/adir", "is a folder"),
        case("out-judge-missing-parent", "judge --dataset evaluation_set --out {root}/no/x.jsonl",
             "folder {root}/no does not exist"),
        case("out-judge-exists", "judge --dataset evaluation_set --out {root}/existing.jsonl",
             "file exists; pass --overwrite"),
        case("out-principles-export-folder", "principles export {sd} --out {root}/adir",
             "is a folder"),
        case("out-principles-export-exists", "principles export {sd} --out {root}/existing.yaml",
             "file exists"),
        case("out-principles-export-parent", "principles export {sd} --out {root}/no/x.yaml",
             "does not exist"),
        case("out-graph-show-folder", "graph show curate --out {root}/adir", "is a folder"),
        case("out-graph-show-exists", "graph show curate --out {root}/existing.yaml",
             "file exists"),
        case("out-graph-show-parent", "graph show curate --out {root}/no/g.md", "does not exist"),
        case("out-eval-policy-exists", "eval policy --model {root}/users_model --out "
             "{root}/existing.jsonl", "file exists"),
        case("out-model-init-users", "model init --tiny --out {root}/precious",
             "not made by Kindling"),
        case("out-model-init-file", "model init --tiny --out {root}/afile.txt", "is a file"),
        case("out-quickstart-users-step-folder", "quickstart --workdir {root}/qs_work --from "
             "{paper}", "qs_work/models/tiny", "not made by Kindling"),
        case("out-quickstart-missing-data", "quickstart --workdir {root}/new_qs --from "
             "{root}/no_data", "--from", "does not exist"),
        case("out-experiment-users-step-folder", f"{EXP} --set workdir={{root}}/exp_users",
             "exp_users/runs/sft", "not made by Kindling"),
        case("out-experiment-foreign-state", f"{EXP} --set workdir={{root}}/exp_state",
             "exp_state/experiment.json", "not written by kindling experiment"),
        case("out-upstream-cache-users-file", "data import --upstream --cache-dir "
             "{root}/cache_bad", "random_query.txt is not the upstream file"),
        case("out-upstream-cache-file", "data import --upstream --cache-dir {root}/afile.txt",
             "is a file"),
        case("out-init-users-config", "init {root}/my_project", "exists there: configs/sft_tiny.yaml",
             "never overwrites"),
        case("out-init-file", "init {root}/afile.txt", "is a file"),
    ]


EXP = "experiment paper -c {configs}/experiment_tiny.yaml"


def experiment_cases() -> list[Case]:
    """A bad field of the experiment or of a step's own config stops it before any work."""
    exp = EXP.split()
    return [
        case("experiment-missing-config", "experiment paper -c {root}/nope.yaml", "nope.yaml",
             "does not exist"),
        case("experiment-bad-field", f"{EXP} --set path_a.queries=0", "path_a.queries"),
        case("experiment-unknown-field", f"{EXP} --set nope=1", "nope"),
        case("experiment-missing-step-config", f"{EXP} --set sft.config=nope.yaml",
             "sft.config", "nope.yaml does not exist"),
        case("experiment-bad-step-override", [*exp, "--set", "sft.set={{trl.nope: 1}}"],
             "step sft", "trl.nope"),
        case("experiment-bad-pairs-per-query", f"{EXP} --set path_a.pairs_per_query=some",
             "path_a.pairs_per_query"),
        case("experiment-plan-missing-config", "experiment plan -c {root}/nope.yaml",
             "nope.yaml", "does not exist"),
        case("experiment-plan-bad-field",
             "experiment plan -c {configs}/experiment_tiny.yaml --set launch.processes=0",
             "launch.processes"),
        case("experiment-step-unknown", "experiment step nope -c {configs}/experiment_tiny.yaml "
             "--result-file {root}/r.json", "no experiment step 'nope'"),
        case("experiment-step-existing-result", "experiment step compare -c "
             "{configs}/experiment_tiny.yaml --result-file {root}/p_good.yaml",
             "exists; a step writes only a new file"),
    ]


def data_cases() -> list[Case]:
    judge = "judge --file"
    imp = "principles import"
    own = "data import --file"
    return [
        case("own-file-no-shape", f"{own} {{root}}/items_nofield.jsonl --dataset x",
             "--file needs --as"),
        case("own-file-no-field", f"{own} {{root}}/items_nofield.jsonl --as labelled --dataset x",
             "items_nofield.jsonl line 1: field response: missing field"),
        case("own-file-bad-json", f"{own} {{root}}/items_badjson.jsonl --as responses "
             "--dataset x", "items_badjson.jsonl line 2", "invalid JSON"),
        case("own-file-utf16", f"{own} {{root}}/items_utf16.jsonl --as prompts --dataset x",
             "items_utf16.jsonl", "invalid UTF-8"),
        case("own-file-paper-name", f"{own} {{root}}/existing.jsonl --as prompts --dataset sft",
             "the paper's data uses that name"),
        case("own-file-folder", f"{own} {{root}}/adir --as prompts --dataset x", "adir"),
        case("own-file-blank", f"{own} {{root}}/items_blank.jsonl --as responses --dataset x",
             "line 1: field response: empty text"),
        case("own-shape-without-file", "data import --from {paper} --as labelled",
             "go with --file"),
        case("curate-file-no-field", "curate --file {root}/items_nofield.jsonl",
             "items_nofield.jsonl line 1: field response: missing field"),
        case("curate-file-with-policy", "curate --file {root}/existing.jsonl --policy x",
             "does not go with --policy"),
        case("data-import-missing", "data import --from {root}/no_data", "does not exist"),
        case("data-import-missing-new-store", "--db-url sqlite:///{root}/fresh.db data import "
             "--from {root}/no_data", "does not exist"),  # and no fresh.db is left behind
        case("data-import-file", "data import --from {root}/afile.txt", "afile.txt"),
        case("data-import-folder-for-file", "data import --from {root}/data_folder_for_file",
             "random_query.txt", "is a folder"),
        case("data-import-both", "data import --from {paper} --upstream", "exactly one of"),
        case("judge-file-missing", f"{judge} {{root}}/none.jsonl", "none.jsonl"),
        case("judge-file-folder", f"{judge} {{root}}/adir", "adir"),
        case("judge-file-bad-json", f"{judge} {{root}}/items_badjson.jsonl",
             "items_badjson.jsonl:2", "not a JSON object"),
        case("judge-file-no-field", f"{judge} {{root}}/items_nofield.jsonl",
             "items_nofield.jsonl:1", "field response: missing"),
        case("judge-file-list", f"{judge} {{root}}/items_list.jsonl", "items_list.jsonl:1"),
        case("judge-file-blank", f"{judge} {{root}}/items_blank.jsonl", "field response"),
        case("judge-file-huge", f"{judge} {{root}}/items_huge.jsonl", "1000000 characters"),
        case("judge-file-utf16", f"{judge} {{root}}/items_utf16.jsonl", "not UTF-8"),
        case("judge-file-empty", f"{judge} {{root}}/items_empty.jsonl", "no items"),
        case("judge-file-and-dataset", f"{judge} {{root}}/items_blank.jsonl --dataset x",
             "exactly one of"),
        case("principles-import-missing", f"{imp} {{root}}/none.yaml", "none.yaml"),
        case("principles-import-folder", f"{imp} {{root}}/adir", "adir"),
        case("principles-import-many", f"{imp} {{root}}/p_many.yaml", "50 rules, at most 10"),
        case("principles-import-huge", f"{imp} {{root}}/p_huge.yaml", "1000000 characters"),
        case("principles-import-utf16", f"{imp} {{root}}/p_utf16.yaml", "p_utf16.yaml"),
        case("principles-import-broken", f"{imp} {{root}}/p_broken.yaml", "not valid YAML"),
        case("principles-import-unknown", f"{imp} {{root}}/p_unknown.yaml", "field foo"),
        case("principles-import-kind", f"{imp} {{root}}/p_kind.yaml", "field kind"),
        case("principles-import-dup", f"{imp} {{root}}/p_dup.yaml", "duplicates rule 1"),
        case("principles-import-parent", f"{imp} {{root}}/p_good.yaml --parent {{sg}}",
             "not a detector version"),
        case("curate-principles-folder", "curate --prompt-set kindling --principles {root}/adir", "is a folder"),
        case("curate-principles-missing", "curate --prompt-set kindling --principles {root}/none.yaml", "none.yaml"),
        case("curate-principles-many", "curate --prompt-set kindling --principles {root}/p_many.yaml", "at most 10"),
        case("curate-principles-number", "curate --prompt-set kindling --principles 9999",
             "9999"),
        case("curate-principles-paper", "curate --principles path_a_judge",
             "set prompt_set: kindling to judge by principles"),
        case("curate-prompt-set", "curate --prompt-set seed", "'seed' is not one of"),
    ]


def precondition_cases() -> list[Case]:
    key = {"KINDLING_REL_KEY": "k"}
    return [
        case("pre-curate-dataset", "curate --dataset nosuch", "no imported dataset 'nosuch'"),
        case("pre-curate-offset", "curate --offset 999999", "offset: 999999 is past the end"),
        case("pre-curate-key-unset", [*("curate", *OPENAI[:-1]), "KINDLING_REL_UNSET"],
             "KINDLING_REL_UNSET", "is not set"),
        case("pre-curate-key-as-variable", ["curate", "--api-key-env", "{key}"],
             "looks like an API key"),
        case("pre-curate-base-url", ["curate", "--base-url", "not a url"],
             "must be an http(s) URL"),
        case("pre-curate-policy-run", "curate --policy run:9999", "no run with id 9999"),
        case("pre-curate-policy-kind", "curate --policy run:{curate_run}", "of kind 'curate'"),
        case("pre-curate-policy-path", "curate --policy {root}/no_policy", "field policy.model"),
        case("pre-curate-policy-source", "curate --source dataset --set policy.model=m",
             "set source: generate"),
        case("pre-judge-dataset", "judge --dataset nosuch", "nosuch"),
        case("pre-judge-key-unset", ["judge", "--dataset", "evaluation_set",
                                     *OPENAI[:-1], "KINDLING_REL_UNSET"], "KINDLING_REL_UNSET"),
        case("pre-adversarial-queries", ["adversarial", *OPENAI, "--set",
                                         "query_dataset=nosuch"], "nosuch", **key),
        case("pre-adversarial-key-unset", ["adversarial", *OPENAI[:-1], "KINDLING_REL_UNSET"],
             "KINDLING_REL_UNSET"),
        case("pre-adversarial-generator", ["adversarial", *OPENAI, "--set",
                                           "generator_strategies=9999"], "9999", **key),
        case("pre-eval-judge-key", ["eval", "judge", "--principles", "{sd}", "--set",
                                    "llm.backend=openai", "--set",
                                    "llm.api_key_env=KINDLING_REL_UNSET"], "KINDLING_REL_UNSET"),
        case("pre-eval-policy-model", "eval policy --model {root}/no_model", "no_model"),
        case("pre-eval-rm-model", "eval rm --model {root}/no_model", "no_model"),
        case("pre-model-init-not-tiny", "model init", "only --tiny"),
        case("pre-model-init-vocab", "model init --tiny --vocab-size 10", "--vocab-size 10"),
        case("pre-model-info-missing", "model info {root}/no_model", "no_model"),
        case("pre-studio-token", "studio --token x", "at least 16"),
        case("pre-endpoint-url", ["endpoint", "check", "--base-url", "not a url", "--model", "m"],
             "must be an http(s) URL"),
        case("pre-endpoint-no-model", ["endpoint", "check", "--base-url", "http://127.0.0.1:9/v1"],
             "needs --model"),
        case("pre-endpoint-key-unset", ["endpoint", "check", "--base-url",
                                        "http://127.0.0.1:9/v1", "--model", "m", "--api-key-env",
                                        "KINDLING_REL_UNSET"], "KINDLING_REL_UNSET", "not set"),
        case("pre-endpoint-key-as-variable", ["endpoint", "check", "--base-url",
                                              "http://127.0.0.1:9/v1", "--model", "m",
                                              "--api-key-env", "{key}"], "looks like an API key"),
    ]


BAD_TASK = "{root}/tasks/badtask"
"""greetings-zh with `length_unit: syllables` (tests/reliability/world.py)."""


def task_cases() -> list[Case]:
    """`kindling task ...`, and --task on every command that takes it: an unknown name lists
    the built-in tasks; a bad field names task.yaml's file:line and the field."""
    unknown, listed = "no such built-in task", "greetings-zh"
    bad = ("badtask/task.yaml:", "field length_unit")
    key = {"KINDLING_REL_KEY": "k"}
    return [
        case("task-list-project", "task list --project {root}/no_project", "no_project",
             "no such project folder"),
        case("task-new-project", "task new other --project {root}/no_project",
             "no such project folder"),
        case("task-show-unknown", "task show greetngs-zh", unknown, "did you mean greetings-zh"),
        case("task-show-bad-field", f"task show {BAD_TASK}", *bad),
        case("task-show-role", "task show greetings-zh --role boss", "no such role", "advocate"),
        case("task-show-no-folder", "task show {root}/no_task", unknown),
        case("task-new-exists", "task new mine", "tasks/mine: already exists"),
        case("task-new-bad-name", "task new Bad_Name", "task name 'Bad_Name'"),
        case("task-new-unknown-from", "task new other --from nope", unknown, listed),
        case("task-new-bad-from", f"task new other --from {BAD_TASK}", *bad),
        case("task-new-language", "task new other --language English", "ISO 639"),
        case("curate-task-unknown", "curate --task nope", unknown, listed),
        case("curate-task-bad-field", f"curate --task {BAD_TASK}", *bad),
        case("curate-config-task", "curate -c {root}/cfg_task.yaml", "cfg_task.yaml: field task",
             *bad),
        case("judge-task-unknown", "judge --dataset evaluation_set --task nope", unknown, listed),
        case("adversarial-task-bad-field", ["adversarial", *OPENAI, "--task", BAD_TASK], *bad,
             **key),
        case("graph-step-task", "graph step judge --query q --response r --task nope", unknown),
        case("eval-judge-task", "eval judge --principles {sd} --task nope", unknown),
        case("train-grpo-task", f"train grpo -c {{configs}}/grpo_tiny.yaml --task {BAD_TASK}",
             *bad),
        case("endpoint-check-task", ["endpoint", "check", "--base-url", "http://127.0.0.1:9/v1",
                                     "--model", "m", "--api-key-env", "KINDLING_REL_KEY",
                                     "--task", "nope"], unknown, **key),
        case("eval-rm-task", "eval rm --model {root}/no_model --task nope", unknown, listed),
        case("eval-rm-task-bad-field", f"eval rm --model {{root}}/no_model --task {BAD_TASK}",
             *bad),
        case("eval-policy-task", "eval policy --model {root}/no_model --task nope", unknown,
             listed),
        case("eval-policy-task-unfitted", "eval policy --model {root}/no_model --task slogans-en "
             "--labels no_such_labels", "task slogans-en", "no labelled items in dataset "
             "'no_such_labels'", "--length-threshold"),
        case("experiment-task", f"{EXP} --task nope", unknown, listed),
        case("experiment-config-task", f"{EXP} --set task=nope", "--set task", unknown),
    ]


def principle_task_cases() -> list[Case]:
    """A principle version of another task than the run's (slogans-en's, under greetings-zh) is
    refused before any run, naming both tasks and --force-task; principles' --task options."""
    other = ("made under task slogans-en", "this run's task is greetings-zh", "--force-task")
    key = {"KINDLING_REL_KEY": "k"}
    return [
        case("judge-principles-other-task",
             "judge --dataset evaluation_set --limit 1 --principles {sd_en}", *other),
        case("adversarial-principles-other-task",
             ["adversarial", *OPENAI, "--set", "detector_principles={sd_en}"], *other, **key),
        case("curate-principles-other-task",
             "curate --limit 1 --prompt-set kindling --principles {pj_en}", *other),
        case("graph-step-principles-other-task",
             "graph step judge --query q --response r --set principles={sd_en}", *other),
        case("eval-judge-principles-other-task", "eval judge --principles {sd_en}", *other),
        case("train-grpo-force-task-no-judge", "train grpo -c {configs}/grpo_tiny.yaml --force-task",
             "kindling.judge", "rewards do not include 'judge'"),
        case("force-task-bad-input", "judge --file {root}/items_badjson.jsonl --force-task",
             "items_badjson.jsonl"),
        case("principles-list-task-unknown", "principles list --task nope",
             "no such built-in task", "greetings-zh"),
        case("principles-activate-task-without-best", "principles activate {sd} --task slogans-en",
             "only go with --best"),
        case("principles-import-language-not-tasks", "principles import {root}/p_en.yaml",
             "field language: en", "task greetings-zh is written in zh"),
        case("principles-import-task-not-files",
             "principles import {root}/p_en_task.yaml --task greetings-zh",
             "field task: slogans-en", "--task is greetings-zh"),
    ]


def all_cases() -> list[Case]:
    from tests.reliability.cases_files import file_cases  # devices, sizes, invalid Unicode

    return [*store_cases(), *config_cases(), *id_cases(), *run_ref_cases(), *version_ref_cases(), *output_cases(),
            *data_cases(), *experiment_cases(), *precondition_cases(), *task_cases(),
            *principle_task_cases(),
            *file_cases()]
