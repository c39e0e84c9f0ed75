"""What this machine offers the training stage: `loreforge env`.

Reports the Python and training-library versions (torch, transformers, peft, accelerate, deepspeed), the
accelerator kind — "cuda" (NVIDIA), "rocm" (AMD and Hygon DCU: a HIP build of torch answers through the
torch.cuda API and sets `torch.version.hip`), "npu" (Ascend via torch_npu), "mps" (Apple) or "cpu" — the
devices with their names, memory and bf16 support, the *_VISIBLE_DEVICES variables, and the dtype that
`dtype: auto` should pick (bf16 where the accelerator supports it, else fp16 on GPUs, fp32 on CPU).

Works without torch (kind "cpu", torch None, a note naming the install command). Nothing heavy is imported
at module import time; torch and friends are imported inside `accelerator_report`.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGES = ("torch", "transformers", "peft", "accelerate", "deepspeed")
# Imported to prove they work; deepspeed is only looked up (importing it is slow and may build ops).
IMPORT_CHECKED = ("torch", "transformers", "peft", "accelerate")
VISIBLE_DEVICE_VARS = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ASCEND_RT_VISIBLE_DEVICES")
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
INSTALL_HINT = "pip install 'loreforge[train]'"


@dataclass(frozen=True)
class DeviceInfo:
    """One device: its index, name, total memory in bytes (None when unknown) and native bf16 support
    (None when unknown). `detail` carries extras such as the compute capability or the CPU's bf16 flags."""

    index: int
    name: str
    total_memory: int | None
    bf16: bool | None
    detail: str = ""


@dataclass(frozen=True)
class EnvReport:
    """The training environment, as `loreforge env` prints it and the API returns it (`to_dict()`)."""

    python: str
    platform: str
    torch: str | None
    transformers: str | None
    peft: str | None
    accelerate: str | None
    deepspeed: str | None
    accelerator: str
    device_count: int
    devices: tuple[DeviceInfo, ...]
    cpu: DeviceInfo
    recommended_dtype: str
    torch_cuda: str | None = None
    torch_hip: str | None = None
    visible_devices: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["devices"] = [asdict(d) for d in self.devices]
        data["visible_devices"] = dict(self.visible_devices)
        data["notes"] = list(self.notes)
        return data


def accelerator_report() -> EnvReport:
    """Inspect the installed training libraries and the accelerators torch can see."""
    notes: list[str] = []
    versions = {name: _version(name, notes) for name in PACKAGES}
    torch = _import("torch") if versions["torch"] else None
    if torch is None:
        notes.append(f"torch is not available: training needs it — install it with `{INSTALL_HINT}`")
        kind, devices = "cpu", []
    else:
        kind, devices = _accelerators(torch, notes)
    cpu = _cpu_info(torch)
    version = getattr(torch, "version", None)
    return EnvReport(
        python=platform.python_version(),
        platform=platform.platform(),
        torch=versions["torch"],
        transformers=versions["transformers"],
        peft=versions["peft"],
        accelerate=versions["accelerate"],
        deepspeed=versions["deepspeed"],
        accelerator=kind,
        device_count=len(devices),
        devices=tuple(devices),
        cpu=cpu,
        recommended_dtype=recommended_dtype(kind, devices),
        torch_cuda=getattr(version, "cuda", None),
        torch_hip=getattr(version, "hip", None),
        visible_devices=tuple((k, os.environ[k]) for k in VISIBLE_DEVICE_VARS if k in os.environ),
        notes=tuple(notes),
    )


def recommended_dtype(kind: str, devices: list[DeviceInfo] | tuple[DeviceInfo, ...]) -> str:
    """bf16 when every accelerator supports it natively, else fp16 on accelerators, fp32 on CPU."""
    if kind == "cpu" or not devices:
        return "fp32"
    return "bf16" if all(d.bf16 for d in devices) else "fp16"


def format_report(report: EnvReport) -> str:
    """The report as `loreforge env` prints it (in the spirit of `llamafactory-cli env`)."""
    rows = [
        ("Platform", report.platform),
        ("Python version", report.python),
        ("PyTorch version", _torch_line(report)),
        ("Transformers version", report.transformers or "not installed"),
        ("PEFT version", report.peft or "not installed"),
        ("Accelerate version", report.accelerate or "not installed"),
        ("DeepSpeed version", report.deepspeed or "not installed"),
        ("Accelerator", report.accelerator),
        ("Device count", str(report.device_count)),
    ]
    for d in report.devices:
        rows.append((f"Device {d.index}", _device_line(d)))
    rows.append(("CPU", _device_line(report.cpu)))
    rows.extend(report.visible_devices)
    rows.append(("Recommended dtype", report.recommended_dtype))
    lines = [f"- {name}: {value}" for name, value in rows]
    lines.extend(f"Note: {note}" for note in report.notes)
    return "\n".join(lines)


def _torch_line(report: EnvReport) -> str:
    if report.torch is None:
        return "not installed"
    if report.torch_cuda:
        return f"{report.torch} (CUDA {report.torch_cuda})"
    if report.torch_hip:
        return f"{report.torch} (HIP {report.torch_hip})"
    return f"{report.torch} (CPU build)" if report.accelerator == "cpu" else report.torch


def _device_line(d: DeviceInfo) -> str:
    memory = f"{d.total_memory / 2**30:.1f} GiB" if d.total_memory else "memory unknown"
    bf16 = {True: "bf16 yes", False: "bf16 no", None: "bf16 unknown"}[d.bf16]
    return ", ".join(part for part in (d.name, memory, bf16, d.detail) if part)


def _version(name: str, notes: list[str]) -> str | None:
    """The installed version, or None when the package is missing or installed but broken on import."""
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        installed = None
    if name not in IMPORT_CHECKED:
        return installed
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        if installed:
            notes.append(f"{name} {installed} is installed but cannot be imported: {exc}")
        return None
    except Exception as exc:  # a broken install (e.g. a mismatched torchvision) fails with other errors too
        notes.append(f"{name} {installed or ''} is installed but failed on import: {type(exc).__name__}: {exc}")
        return None
    return str(getattr(module, "__version__", None) or installed)


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:  # reported already by _version
        return None


def _accelerators(torch: ModuleType, notes: list[str]) -> tuple[str, list[DeviceInfo]]:
    if torch.cuda.is_available():
        kind = "rocm" if getattr(torch.version, "hip", None) else "cuda"
        return kind, [_cuda_device(torch, i, kind) for i in range(torch.cuda.device_count())]
    npu = _npu_module(torch)
    if npu is not None:
        return "npu", [_npu_device(npu, i) for i in range(npu.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps", [_mps_device(torch)]
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "" or os.environ.get("HIP_VISIBLE_DEVICES") == "":
        notes.append("CUDA_VISIBLE_DEVICES or HIP_VISIBLE_DEVICES is set but empty: it hides every GPU")
    return "cpu", []


def _cuda_device(torch: ModuleType, index: int, kind: str) -> DeviceInfo:
    props = torch.cuda.get_device_properties(index)
    with torch.cuda.device(index):
        try:
            bf16 = bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # older torch without the keyword
            bf16 = bool(torch.cuda.is_bf16_supported())
    if kind == "rocm":
        detail = f"arch {getattr(props, 'gcnArchName', '?')}"
    else:
        detail = f"compute capability {props.major}.{props.minor}"
    return DeviceInfo(index, props.name, int(props.total_memory), bf16, detail)


def _npu_module(torch: ModuleType) -> Any:
    try:
        importlib.import_module("torch_npu")  # registers torch.npu
    except Exception:
        return None
    npu = getattr(torch, "npu", None)
    return npu if npu is not None and npu.is_available() else None


def _npu_device(npu: Any, index: int) -> DeviceInfo:
    props = npu.get_device_properties(index)
    check = getattr(npu, "is_bf16_supported", None)
    bf16 = bool(check()) if callable(check) else None
    return DeviceInfo(index, str(npu.get_device_name(index)), int(getattr(props, "total_memory", 0)) or None, bf16)


def _mps_device(torch: ModuleType) -> DeviceInfo:
    try:
        torch.ones(1, dtype=torch.bfloat16, device="mps")
        bf16: bool | None = True
    except Exception:  # older macOS: bf16 tensors are refused on MPS
        bf16 = False
    memory = getattr(torch.mps, "recommended_max_memory", None)
    return DeviceInfo(0, "Apple MPS", int(memory()) if callable(memory) else None, bf16)


def _cpu_info(torch: ModuleType | None) -> DeviceInfo:
    """The CPU: its model name, RAM, and whether it computes bf16 natively (avx512_bf16 / AMX on x86,
    the bf16 feature on Arm); None when the flags cannot be read."""
    flags = _cpu_flags()
    if flags is None:
        bf16: bool | None = None
        found: list[str] = []
    else:
        found = [f for f in CPU_BF16_FLAGS if f in flags] + (["bf16"] if "bf16" in flags else [])
        bf16 = bool(found)
    capability = None
    if torch is not None:
        get = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
        capability = get() if callable(get) else None
    detail = ", ".join(
        part for part in (
            f"{os.cpu_count()} cores",
            f"torch kernels {capability}" if capability else "",
            f"flags {' '.join(found)}" if found else "",
        ) if part
    )
    return DeviceInfo(0, _cpu_name(), _ram_bytes(), bf16, detail)


def _cpu_flags() -> set[str] | None:
    cpuinfo = Path("/proc/cpuinfo")
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "cpu model"):
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _ram_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


if __name__ == "__main__":  # pragma: no cover - `python -m loreforge.train.env`
    sys.stdout.write(format_report(accelerator_report()) + "\n")
