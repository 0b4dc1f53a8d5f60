"""The experiment's own process hides the GPUs from itself and gives them back to its steps'
processes; the cards are read from nvidia-smi (here a stand-in script named as such)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kindling.services.gpus import VISIBLE, gpu_env, gpus_hidden, seen_devices

FAKE_SMI = """#!/bin/sh
echo "0, NVIDIA H100 80GB HBM3, 81559"
echo "1, NVIDIA H100 80GB HBM3, 81559"
echo "2, NVIDIA H100 80GB HBM3, 81559"
"""


@pytest.fixture
def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    smi = tmp_path / "nvidia-smi"
    smi.write_text(FAKE_SMI, encoding="utf-8")
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


def test_the_steps_get_back_the_gpus_the_experiment_hid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VISIBLE, "1,2")
    with gpus_hidden():
        assert os.environ[VISIBLE] == ""  # this process: no GPU
        assert gpu_env(dict(os.environ))[VISIBLE] == "1,2"  # a step's process: the user's
    assert os.environ[VISIBLE] == "1,2" and "KINDLING_CUDA_VISIBLE_DEVICES" not in os.environ


def test_unset_stays_unset_for_the_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VISIBLE, raising=False)
    with gpus_hidden():
        assert VISIBLE not in gpu_env(dict(os.environ))
    assert VISIBLE not in os.environ
    assert gpu_env({"A": "b"}) == {"A": "b"}  # nothing hidden: unchanged


def test_cards_come_from_nvidia_smi_as_visible(fake_nvidia_smi: None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VISIBLE, raising=False)
    devices = seen_devices()
    assert devices is not None and devices.count == 3 and devices.memory == 81559 * 2**20
    monkeypatch.setenv(VISIBLE, "0,2")
    with gpus_hidden():  # hidden here, still counted as the user made them visible
        devices = seen_devices()
    assert devices is not None and devices.count == 2 and "H100" in devices.source


def test_no_nvidia_smi_means_no_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert seen_devices() is None
