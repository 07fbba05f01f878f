"""Many independent solves on a Dask cluster (``--workers N``, ``--scheduler ADDRESS``).

``sensitivity``, ``sweep``, ``compare`` and ``national`` solve many independent models. They
hand them to :func:`run_tasks`, which

- starts a local Dask cluster of ``workers`` processes (default: the machine's cores), one
  thread each, no dashboard, no logs (a task's error is raised by the command); or connects
  to an existing cluster at ``scheduler`` (``tcp://host:8786``); with ``workers=1`` (or a
  single task) and no scheduler it runs in this process (no cluster to start), and it starts
  no more workers than there are tasks;
- sends the data every task shares (the instance, the scenario) to the workers once
  (``scatter``, broadcast), not once per task;
- maps the tasks (one authority, or one chunk of budgets or weight draws: a chunk reuses
  its built model) and gathers the results **in task order**, whichever worker finished first.

Each task solves with single-threaded HiGHS and the scenario's fixed seed (``solver.threads``
is set to 1 in the task: several one-thread solves fill the cores better than one
many-thread solve, and a one-thread solve with a fixed seed takes the same path every time).
So the results are the same whatever the number of workers. One caveat: a solve that stops at
its time limit returns whatever it had found by then, which depends on the machine's speed and
load; a run whose solves end at their gap or at optimality is the same on 1 or 64 workers.

A remote cluster (``--scheduler``) must have this package installed on its workers; tasks only
return results (tables, plans), and the files are written by the command, here.

Examples
--------
>>> chunks(list(range(7)), 3)
[[0, 1, 2], [3, 4], [5, 6]]
>>> run_tasks(_square_all, [[1, 2], [3]], workers=1, progress=False)
[[1, 4], [9]]
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from optimiser.errors import InputError

#: One worker per core by default (each task is one single-threaded solve).
DEFAULT_WORKERS = os.cpu_count() or 1
#: A sanity bound on --workers for a local cluster (each worker is a Python process).
MAX_LOCAL_WORKERS = 512
#: Chunks per worker: a few, so a slow chunk at the end does not leave the others idle.
CHUNKS_PER_WORKER = 4
_ADDRESS = re.compile(r"^(?:(tcp|tls|inproc|ucx|ws|wss)://)?[\w.\-\[\]:]+:\d+$")


def check_workers(workers: int | None, scheduler: str | None) -> None:
    """Refuse a number of workers or a scheduler address the run cannot use.

    >>> check_workers(2, None)
    >>> check_workers(0, None)
    Traceback (most recent call last):
    ...
    optimiser.errors.InputError: --workers 0 is not a number of workers from 1 to 512
      hint: e.g. --workers 2; the default is the machine's cores
    >>> check_workers(None, "my laptop")
    Traceback (most recent call last):
    ...
    optimiser.errors.InputError: --scheduler 'my laptop' is not a Dask scheduler address
      hint: give the address the scheduler printed, e.g. tcp://10.0.0.5:8786
    """
    if workers is not None and not 1 <= workers <= MAX_LOCAL_WORKERS:
        raise InputError(f"--workers {workers} is not a number of workers from 1 to "
                         f"{MAX_LOCAL_WORKERS}",
                         hint="e.g. --workers 2; the default is the machine's cores")
    if scheduler is not None and not _ADDRESS.match(scheduler.strip()):
        raise InputError(f"--scheduler '{scheduler}' is not a Dask scheduler address",
                         hint="give the address the scheduler printed, e.g. tcp://10.0.0.5:8786")


def chunks(items: Sequence[Any], n: int) -> list[list[Any]]:
    """``items`` in at most ``n`` contiguous chunks of near-equal size (order kept)."""
    n = max(1, min(n, len(items)))
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for k in range(n):
        stop = start + size + (1 if k < extra else 0)
        out.append(list(items[start:stop]))
        start = stop
    return [c for c in out if c]


def chunks_of(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` in contiguous chunks of ``size`` (the last may be shorter): chunks that do
    not depend on the number of workers.

    >>> chunks_of([1, 2, 3, 4, 5], 2)
    [[1, 2], [3, 4], [5]]
    """
    return [list(items[k:k + size]) for k in range(0, len(items), max(1, size))]


def local_workers(workers: int | None, tasks: int | None = None) -> int:
    """Worker processes a local cluster needs: ``workers`` (default the cores), no more than
    the tasks (a cluster for one task would only cost its start-up).

    >>> local_workers(8, 3), local_workers(2, 1), local_workers(1, 10)
    (3, 1, 1)
    """
    n = workers or DEFAULT_WORKERS
    return max(1, min(n, tasks)) if tasks is not None else n


@contextlib.contextmanager
def open_client(workers: int | None = None, scheduler: str | None = None, *,
                tasks: int | None = None) -> Iterator[Any]:
    """A Dask client on a new local cluster (or ``scheduler``'s); None when one local worker
    is all there is to use (``workers`` 1, or a single task): the work then runs here.

    The local cluster is closed when the block ends, also on an error or Ctrl-C.
    """
    check_workers(workers, scheduler)
    if scheduler is None and local_workers(workers, tasks) == 1:
        yield None
        return
    from distributed import Client

    if scheduler is not None:
        try:
            client = Client(scheduler.strip(), timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"could not reach the Dask scheduler at {scheduler} ({exc})",
                             hint="check the address and that the scheduler is running, or "
                             "leave out --scheduler to start a local cluster") from None
        with client:
            yield client
        return
    with local_cluster(local_workers(workers, tasks)) as cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A local Dask cluster: ``workers`` processes of one thread, no dashboard, no logs."""
    import warnings

    from distributed import LocalCluster

    with warnings.catch_warnings():
        # The scheduler's health page takes another port when 8787 is busy (another run):
        # nothing the user needs to hear about.
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None,
                               # a task's error comes back to the command; no worker logs
                               silence_logs=logging.CRITICAL)
    with cluster:
        yield cluster


def worker_count(client: Any) -> int:
    """Single-thread slots on the cluster (1 with no client)."""
    return 1 if client is None else max(1, sum(client.nthreads().values()))


def run_tasks(fn: Callable[..., Any], items: Sequence[Any], *, shared: Any = None,
              workers: int | None = None, scheduler: str | None = None,
              progress: bool = True, desc: str = "solves", client: Any = None) -> list[Any]:
    """``fn(item, shared)`` for every item, on the cluster; the results in ``items``' order.

    ``shared`` goes to every worker once. A task's error is raised here as soon as it comes
    back, and the tasks not yet run are cancelled. ``client`` reuses an open client (see
    :func:`open_client`); otherwise one is opened for this call.
    """
    if client is None and (scheduler is not None or local_workers(workers, len(items)) > 1):
        with open_client(workers, scheduler, tasks=len(items)) as own:
            return run_tasks(fn, items, shared=shared, progress=progress, desc=desc,
                             client=own)
    from optimiser.sweep import progress_bar

    if client is None:
        return [fn(item, shared) for item in progress_bar(items, total=len(items), desc=desc,
                                                          enabled=progress)]
    from distributed import as_completed

    # in a list: scatter would otherwise send a dict's or tuple's items one by one
    ref = client.scatter([shared], broadcast=True)[0] if shared is not None else None
    futures = client.map(fn, list(items), [ref] * len(items), pure=False)
    try:
        for fut in progress_bar(as_completed(futures), total=len(futures), desc=desc,
                                enabled=progress):
            if fut.status == "error":
                fut.result()  # raises the task's error here
        return client.gather(futures)
    finally:
        client.cancel(futures)


def _square_all(values: list[int], _shared: Any = None) -> list[int]:
    return [v * v for v in values]


def one_thread(scenario: Any) -> Any:
    """The scenario with ``solver.threads`` 1 (what each task solves with; see the module)."""
    if scenario.solver.threads == 1:
        return scenario
    solver = scenario.solver.model_dump(exclude_unset=True) | {"threads": 1}
    return scenario.with_changes(solver=solver)
