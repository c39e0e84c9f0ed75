"""`loreforge env`: the report on this CPU machine matches the installed packages, the accelerator detection
follows torch's answers (CUDA, ROCm/DCU via torch.version.hip), the dtype rule, the printed text, and the
report still works when torch cannot be imported."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from loreforge.train.env import (
    DeviceInfo,
    EnvReport,
    _accelerators,
    _cpu_flags,
    accelerator_report,
    format_report,
    recommended_dtype,
)

REPO = Path(__file__).resolve().parent.parent


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@pytest.fixture(scope="module")
def report() -> EnvReport:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("these checks describe a CPU-only machine")
    return accelerator_report()


def test_cpu_machine(report: EnvReport) -> None:
    assert report.accelerator == "cpu"
    assert report.device_count == 0 and report.devices == ()
    assert report.recommended_dtype == "fp32"
    assert report.python == platform.python_version()
    flags = _cpu_flags()
    if flags is not None:
        assert report.cpu.bf16 == bool({"avx512_bf16", "amx_bf16", "bf16"} & flags)
    assert report.cpu.total_memory and report.cpu.total_memory > 0


def test_versions_match_installed_packages(report: EnvReport) -> None:
    import torch
    import transformers

    assert report.torch == torch.__version__
    assert report.transformers == transformers.__version__
    for name in ("peft", "accelerate", "deepspeed"):
        assert getattr(report, name) == installed(name)
    assert report.torch_cuda == torch.version.cuda and report.torch_hip == torch.version.hip


def test_to_dict_is_json(report: EnvReport) -> None:
    data = json.loads(json.dumps(report.to_dict()))
    assert data["accelerator"] == "cpu" and data["devices"] == [] and data["torch"] == report.torch
    assert data["cpu"]["name"] == report.cpu.name and isinstance(data["visible_devices"], dict)


def test_format_report(report: EnvReport) -> None:
    text = format_report(report)
    assert f"- PyTorch version: {report.torch} (CPU build)" in text
    assert f"- Transformers version: {report.transformers}" in text
    assert "- Accelerator: cpu" in text and "- Device count: 0" in text
    assert "- Recommended dtype: fp32" in text
    assert f"- CPU: {report.cpu.name}" in text
    assert ("DeepSpeed version: not installed" in text) == (report.deepspeed is None)


def test_visible_devices_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.setenv("HIP_VISIBLE_DEVICES", "0,1")
    monkeypatch.setenv("ASCEND_RT_VISIBLE_DEVICES", "3")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    report = accelerator_report()
    assert report.to_dict()["visible_devices"] == {"HIP_VISIBLE_DEVICES": "0,1", "ASCEND_RT_VISIBLE_DEVICES": "3"}
    assert "- HIP_VISIBLE_DEVICES: 0,1" in format_report(report)


def fake_torch(hip: str | None, names: list[str], bf16: list[bool]) -> Any:
    """A stand-in for torch as a CUDA or HIP (ROCm, Hygon DCU) build answers through the torch.cuda API."""
    current = {"index": 0}

    class Device:
        def __init__(self, index: int) -> None:
            self.index = index

        def __enter__(self) -> None:
            current["index"] = self.index

        def __exit__(self, *exc: object) -> None:
            current["index"] = 0

    def props(i: int) -> SimpleNamespace:
        return SimpleNamespace(name=names[i], total_memory=(i + 1) * 2**34, major=8, minor=0, gcnArchName="gfx928")

    cuda = SimpleNamespace(
        is_available=lambda: True,
        device_count=lambda: len(names),
        get_device_properties=props,
        device=Device,
        is_bf16_supported=lambda including_emulation=True: bf16[current["index"]],
    )
    return SimpleNamespace(cuda=cuda, version=SimpleNamespace(hip=hip, cuda=None if hip else "12.8"))


@pytest.mark.parametrize(
    "hip, names, bf16, kind, dtype",
    [
        (None, ["NVIDIA H200", "NVIDIA H200"], [True, True], "cuda", "bf16"),
        (None, ["Tesla V100", "NVIDIA A100"], [False, True], "cuda", "fp16"),
        ("6.2.41134", ["K100_AI"], [True], "rocm", "bf16"),
        ("5.7.24164", ["Z100L"], [False], "rocm", "fp16"),
    ],
)
def test_gpu_detection(hip: str | None, names: list[str], bf16: list[bool], kind: str, dtype: str) -> None:
    found, devices = _accelerators(fake_torch(hip, names, bf16), [])
    assert found == kind
    assert [d.name for d in devices] == names and [d.bf16 for d in devices] == bf16
    assert devices[-1].total_memory == len(names) * 2**34
    assert ("gfx928" in devices[0].detail) == (kind == "rocm")
    assert recommended_dtype(found, devices) == dtype


def test_dtype_rule_on_cpu_ignores_cpu_bf16() -> None:
    ascend = DeviceInfo(0, "Ascend910B", 2**36, True)
    assert recommended_dtype("cpu", []) == "fp32"
    assert recommended_dtype("mps", [DeviceInfo(0, "Apple MPS", None, None)]) == "fp16"
    assert recommended_dtype("npu", [ascend]) == "bf16"


def test_without_torch() -> None:
    code = (
        "import sys, json; sys.modules['torch'] = None\n"
        "from loreforge.train.env import accelerator_report, format_report\n"
        "r = accelerator_report()\n"
        "print(json.dumps({'report': r.to_dict(), 'text': format_report(r)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    report = data["report"]
    assert report["torch"] is None and report["accelerator"] == "cpu" and report["device_count"] == 0
    assert report["recommended_dtype"] == "fp32" and report["transformers"] == installed("transformers")
    assert any("pip install 'loreforge[train]'" in note for note in report["notes"])
    assert "- PyTorch version: not installed" in data["text"]
    assert "pip install 'loreforge[train]'" in data["text"]


def test_import_does_not_load_torch() -> None:
    code = "import sys, loreforge.train.env; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
