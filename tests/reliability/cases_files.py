"""The reliability table's file-bound cases: devices, oversized files and text that is not valid
Unicode, for every command that reads a config, principle set or data file.

Configs and principle sets are bound at 1 MiB (a 2 MiB file is refused); data files at 2 GiB,
lowered here through KINDLING_MAX_DATA_BYTES so a small file stands for a huge one. /dev/zero
stands for every device: it reports size 0 and never ends.
"""

from __future__ import annotations

import io
from pathlib import Path

from tests.reliability.cases import CONFIG_COMMANDS, Case, case

DEVICE = "/dev/zero"
LOW = {"KINDLING_MAX_DATA_BYTES": "64"}  # every data file below is larger than this
SURROGATE = '{"query": "生日祝福", "response": "生日快乐\\ud800"}\n'


def write_bound_files(root: Path) -> None:
    """The files the cases point at (all regular files: the suite's snapshot reads every one)."""
    rows = "".join('{"query": "生日祝福", "response": "生日快乐，万事如意"}\n' for _ in range(4))
    files: dict[str, str | bytes] = {
        "cfg_big.yaml": "# padding\n" * (2 * 1024 * 1024 // 10),  # 2 MiB of valid YAML
        "p_big.yaml": "kind: detector\nrules: [a]\n" + "# padding\n" * (110 * 1024),
        "cfg_surrogate.yaml": 'llm:\n  model: "m\\ud800"\n',
        "p_surrogate.yaml": 'kind: detector\nrules: ["好\\udfff"]\n',
        "items_surrogate.jsonl": SURROGATE,
        "items_ok.jsonl": rows,
        "items_ok.csv": "query,response\n" + "生日祝福,生日快乐，万事如意\n" * 4,
        "items_ok.parquet": _parquet(4),
    }
    for rel, content in files.items():
        path = root / rel
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)


def _parquet(rows: int) -> bytes:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    table = pa.table({"query": ["生日祝福"] * rows, "response": ["生日快乐，万事如意"] * rows})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def config_bound_cases() -> list[Case]:
    """A device or a 2 MiB file as the config of every command that takes one."""
    cases = []
    for name, (with_config, _sets, _llm) in CONFIG_COMMANDS.items():
        cases += [
            case(f"bound-config-device-{name}", [*with_config, DEVICE],
                 f"{DEVICE}: is a device; a config must be a regular file"),
            case(f"bound-config-big-{name}", [*with_config, "{root}/cfg_big.yaml"],
                 "cfg_big.yaml: larger than 1 MiB, the bound on a config"),
        ]
    for kind in ("sft", "rm", "grpo"):
        cases += [
            case(f"bound-train-device-{kind}", ["train", kind, "--config", DEVICE],
                 f"{DEVICE}: is a device"),
            case(f"bound-train-big-{kind}", ["train", kind, "--config", "{root}/cfg_big.yaml"],
                 "cfg_big.yaml: larger than 1 MiB"),
        ]
    return [
        *cases,
        case("bound-experiment-device", ["experiment", "paper", "-c", DEVICE],
             f"{DEVICE}: is a device"),
        case("bound-experiment-big", ["experiment", "paper", "-c", "{root}/cfg_big.yaml"],
             "cfg_big.yaml: larger than 1 MiB"),
        case("bound-accelerate-config-device",
             ["train", "sft", "--config", "{configs}/sft_tiny.yaml", "--launcher", "accelerate",
              "--accelerate-config", DEVICE], f"--accelerate-config {DEVICE}: is a device"),
        case("unicode-config-curate", ["curate", "--config", "{root}/cfg_surrogate.yaml"],
             "cfg_surrogate.yaml: field llm.model: not valid Unicode", "U+D800"),
        case("unicode-set-curate", ["curate", "--set", 'llm.model="m\\udc80"'],
             "--set llm.model", "not valid Unicode"),
    ]


def principle_bound_cases() -> list[Case]:
    """A device, a file past 1 MiB, or a lone surrogate as a principle set, wherever one is read."""
    imp, curate = ["principles", "import"], ["curate", "--prompt-set", "kindling", "--principles"]
    judge = ["judge", "--dataset", "evaluation_set", "--principles"]
    return [
        case("bound-principles-import-device", [*imp, DEVICE],
             f"{DEVICE}: is a device; a principle set must be a regular file"),
        case("bound-principles-import-big", [*imp, "{root}/p_big.yaml"],
             "p_big.yaml: larger than 1 MiB, the bound on a principle set"),
        case("bound-curate-principles-device", [*curate, DEVICE], f"{DEVICE}: is a device"),
        case("bound-curate-principles-big", [*curate, "{root}/p_big.yaml"],
             "p_big.yaml: larger than 1 MiB"),
        case("bound-judge-principles-big", [*judge, "{root}/p_big.yaml"],
             "p_big.yaml: larger than 1 MiB"),
        case("unicode-principles-import", [*imp, "{root}/p_surrogate.yaml"],
             "p_surrogate.yaml: field rules[0]: not valid Unicode", "U+DFFF"),
        case("unicode-curate-principles", [*curate, "{root}/p_surrogate.yaml"],
             "p_surrogate.yaml: field rules[0]: not valid Unicode"),
    ]


def data_bound_cases() -> list[Case]:
    """Data files past the (lowered) bound, a device, and a lone surrogate in a field."""
    own = ["data", "import", "--as", "responses", "--dataset", "x", "--file"]
    bound = "larger than 64 bytes, the bound on a data file"
    return [
        *(case(f"bound-data-import-{fmt}", [*own, f"{{root}}/items_ok.{fmt}"],
               f"items_ok.{fmt}: {bound}", "KINDLING_MAX_DATA_BYTES", **LOW)
          for fmt in ("jsonl", "csv", "parquet")),
        case("bound-data-import-paper", ["data", "import", "--from", "{paper}"],
             "sft_data.json: " + bound, **LOW),
        case("bound-data-import-bad-env", [*own, "{root}/items_ok.jsonl"],
             "KINDLING_MAX_DATA_BYTES='lots'", KINDLING_MAX_DATA_BYTES="lots"),
        case("bound-curate-file", ["curate", "--file", "{root}/items_ok.jsonl"],
             "items_ok.jsonl: " + bound, **LOW),
        case("bound-judge-file", ["judge", "--file", "{root}/items_ok.jsonl"],
             "items_ok.jsonl: " + bound, **LOW),
        case("bound-judge-file-device", ["judge", "--file", DEVICE],
             f"{DEVICE}: is a device; a data file must be a regular file"),
        case("unicode-data-import-file", [*own, "{root}/items_surrogate.jsonl"],
             "items_surrogate.jsonl line 1: field response: not valid Unicode", "U+D800"),
        case("unicode-curate-file", ["curate", "--file", "{root}/items_surrogate.jsonl"],
             "items_surrogate.jsonl line 1: field response: not valid Unicode"),
        case("unicode-judge-file", ["judge", "--file", "{root}/items_surrogate.jsonl"],
             "items_surrogate.jsonl:1: field response: not valid Unicode"),
    ]


def file_cases() -> list[Case]:
    return [*config_bound_cases(), *principle_bound_cases(), *data_bound_cases()]
