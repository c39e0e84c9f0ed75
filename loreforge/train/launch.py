"""Starting a recorded train run in a worker process: one process, or one per GPU under torch's own launcher
(`python -m torch.distributed.run`, i.e. `torchrun`), on one node or several.

Used by the service (`loreforge/service/train_runs.py`): `loreforge train CONFIG --background` or
`--nproc-per-node N` records the run, then starts `python -m loreforge runs execute RUN_ID` — directly, or under
torchrun with the given topology. Every process reads the run's config from the store; only the global rank 0
process writes status, progress and metrics back. Nothing here imports torch.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from loreforge.errors import ConfigError

RUNNING_LOG = "running_log.txt"  # LLaMA Factory's name for a run's console log


def process_rank() -> int:
    """This process's global rank under torchrun / accelerate / DeepSpeed (0 when not distributed)."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def is_main_process() -> bool:
    return process_rank() == 0


def is_launched_worker() -> bool:
    """True in a worker process started by `Launch` (its launcher reports the result)."""
    return os.environ.get("LOREFORGE_WORKER") == "1"


@dataclass(frozen=True)
class Launch:
    """How many processes to start: `nproc_per_node` on each of `nnodes` machines (this one is `node_rank`)."""

    nproc_per_node: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int = 29500

    def __post_init__(self) -> None:
        if self.nproc_per_node < 1 or self.nnodes < 1:
            raise ConfigError("`nproc_per_node` and `nnodes` must be at least 1",
                              got=f"nproc_per_node={self.nproc_per_node}, nnodes={self.nnodes}")
        if not 0 <= self.node_rank < self.nnodes:
            raise ConfigError("`node_rank` must be between 0 and nnodes - 1", got=f"node_rank={self.node_rank}, nnodes={self.nnodes}")
        if not 0 < self.master_port < 65536:
            raise ConfigError("`master_port` must be a TCP port", got=str(self.master_port))

    @property
    def distributed(self) -> bool:
        return self.nproc_per_node > 1 or self.nnodes > 1

    def command(self, run_id: int, home: Path | None = None) -> list[str]:
        """The worker command line for a recorded run."""
        worker = ["-m", "loreforge"] + (["--home", str(home)] if home else []) + ["runs", "execute", str(run_id)]
        if not self.distributed:
            return [sys.executable, *worker]
        return [
            sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={self.nproc_per_node}",
            f"--nnodes={self.nnodes}", f"--node_rank={self.node_rank}", f"--master_addr={self.master_addr}",
            f"--master_port={self.master_port}", *worker,
        ]


def under_launcher() -> bool:
    """True inside torchrun / accelerate launch / deepspeed (they set WORLD_SIZE)."""
    return "WORLD_SIZE" in os.environ


def visible_gpus() -> int:
    """CUDA / ROCm (Hygon DCU) devices this process can see; 0 without torch or a GPU."""
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def auto_launch(launch: Launch | None, gpus: int) -> Launch | None:
    """As `llamafactory-cli train` does: on a machine with several visible GPUs and no launch given, run one
    process per GPU (DDP) rather than one process driving them all through `nn.DataParallel`."""
    if launch is None and gpus > 1:
        return Launch(nproc_per_node=gpus)
    return launch


def worker_env(database_url: str, threads_per_process: int | None = None) -> dict[str, str]:
    """The environment for worker processes: the same store; on CPU, the cores shared between processes."""
    env = dict(os.environ, LOREFORGE_DATABASE_URL=database_url, PYTHONUNBUFFERED="1", LOREFORGE_WORKER="1")
    if threads_per_process and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = str(threads_per_process)
    return env
