"""The devices' memory and load right now, for the Environment page and `loreforge devices`: what a training run
is doing to the machine while it runs, seen from outside the worker.

Sources, first that answers: `nvidia-smi` (NVIDIA), `rocm-smi` (AMD and Hygon DCU), then torch's own counters
(`torch.cuda.mem_get_info`, device-wide) when torch is already imported in this process — never imported here
for this, so the web server stays light. The host's CPU load comes from /proc/stat (two readings; the first call
reports the load since boot) and its memory from /proc/meminfo; both are None where /proc is absent. Pure
parsing is kept apart (`parse_nvidia_smi`, `parse_rocm_smi`) so it is tested without the tools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from typing import Any

from loreforge.model_views import DeviceStat

NVIDIA_QUERY = "index,name,memory.used,memory.total,utilization.gpu,temperature.gpu"
TOOL_TIMEOUT_S = 5.0
_cpu_lock = threading.Lock()
_last_cpu: tuple[int, int] | None = None  # (busy, total) jiffies at the previous reading


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def parse_nvidia_smi(text: str) -> list[DeviceStat]:
    """`nvidia-smi --query-gpu=NVIDIA_QUERY --format=csv,noheader,nounits` lines as devices ([N/A] is None)."""
    out = []
    for line in text.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) < 6 or not cells[0].isdigit():
            continue
        out.append(DeviceStat(index=int(cells[0]), name=cells[1], memory_used_mb=_number(cells[2]),
                              memory_total_mb=_number(cells[3]), utilization=_number(cells[4]),
                              temperature=_number(cells[5])))
    return out


def _pick(card: dict[str, Any], *words: str) -> float | None:
    """The first value of `card` whose key holds all `words` (rocm-smi's keys change between releases)."""
    for key, value in card.items():
        if all(w in key.lower() for w in words):
            number = _number(str(value).split()[0]) if str(value).strip() else None
            if number is not None:
                return number
    return None


def parse_rocm_smi(text: str) -> list[DeviceStat]:
    """`rocm-smi --showmeminfo vram --showuse --showtemp --showproductname --json` as devices (memory in MB)."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    out = []
    for key, card in sorted((k, v) for k, v in data.items() if k.lower().startswith("card") and isinstance(v, dict)):
        index = int("".join(c for c in key if c.isdigit()) or 0)
        used, total = _pick(card, "vram", "used"), _pick(card, "vram", "total")
        name = str(card.get("Card series") or card.get("Card SKU") or card.get("Card model") or key)
        out.append(DeviceStat(index=index, name=name, memory_used_mb=used / 2**20 if used is not None else None,
                              memory_total_mb=total / 2**20 if total is not None else None,
                              utilization=_pick(card, "gpu use"), temperature=_pick(card, "temperature")))
    return out


def _run(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _torch_devices() -> list[DeviceStat]:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return []
    out = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        out.append(DeviceStat(index=index, name=torch.cuda.get_device_name(index),
                              memory_used_mb=(total - free) / 2**20, memory_total_mb=total / 2**20))
    return out


def accelerators() -> tuple[str, list[DeviceStat]]:
    """(source, devices) from the first source that answers; ("none", []) on a machine without accelerators."""
    text = _run(["nvidia-smi", f"--query-gpu={NVIDIA_QUERY}", "--format=csv,noheader,nounits"])
    if text and (found := parse_nvidia_smi(text)):
        return "nvidia-smi", found
    text = _run(["rocm-smi", "--showmeminfo", "vram", "--showuse", "--showtemp", "--showproductname", "--json"])
    if text and (found := parse_rocm_smi(text)):
        return "rocm-smi", found
    found = _torch_devices()
    return ("torch", found) if found else ("none", [])


def cpu_percent() -> float | None:
    """The host's CPU load (all cores, percent) since the previous call (since boot at the first)."""
    global _last_cpu
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields)
    with _cpu_lock:
        last, _last_cpu = _last_cpu, (total - idle, total)
    busy, span = (total - idle, total) if last is None else (total - idle - last[0], total - last[1])
    return round(100.0 * busy / span, 1) if span > 0 else None


def memory_mb() -> tuple[float | None, float | None]:
    """(used, total) host memory in MB from /proc/meminfo (used = total - available)."""
    values: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                name, _, rest = line.partition(":")
                values[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return None, None
    total, available = values.get("MemTotal"), values.get("MemAvailable")
    if total is None or available is None:
        return None, None
    return (total - available) / 1024, total / 1024


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []
