"""The batch on a Ray cluster: each line is a Ray task running
:func:`stepedit_app.session.batch.process_line`, the function the local worker processes run.

Ray reuses its worker processes between tasks, so the per-process engine cache in
:mod:`stepedit_app.session.batch` creates the engine once per Ray worker.  The driver (the
``stepedit batch --ray`` process) plans the lines, hashes the inputs, keeps the manifest and
resumes exactly as a local batch does; the tasks read inputs and write outputs at the absolute
paths the driver gives them, so those must be on storage every node mounts at the same path
(see ``docs/cluster.md``).  Ray is an optional dependency: ``pip install 'stepedit[cluster]'``.
"""

from __future__ import annotations

import logging
import socket

from stepedit_app.session.batch import BatchError, _Crashed

#: Object-store size for a local instance this module starts (the batch passes paths and small
#: dicts, never audio, so Ray's default of 30 % of the machine's memory would only reserve RAM).
LOCAL_OBJECT_STORE_BYTES = 128 * 1024 * 1024


class RayRunner:
    """Lines as Ray tasks (one CPU each) on the cluster at ``address``.

    Parameters
    ----------
    address
        ``None``: connect to the cluster Ray finds (``RAY_ADDRESS`` or one started on this
        machine with ``ray start``), else start a local instance with ``num_cpus`` CPUs.
        Otherwise any address ``ray.init`` accepts (``auto``, ``HOST:6379``, ``ray://HOST:10001``).
    num_cpus
        CPUs of a local instance; on a cluster, the most lines in flight at once.
    """

    def __init__(self, address: str | None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.label = f"ray ({address or 'local'})"
        self._owned = False
        self._remote = None
        self._refs: set = set()
        self._slots = num_cpus or 1

    @property
    def slots(self) -> int:
        return self._slots

    def start(self) -> None:
        try:
            import ray
        except ImportError:
            raise BatchError("--ray needs Ray: pip install 'stepedit[cluster]'") from None
        from stepedit_app.session.batch import process_line

        if not ray.is_initialized():
            if self.address:
                _check_reachable(self.address)
            kw: dict = {"logging_level": logging.WARNING, "log_to_driver": False}
            if self.address is None:
                kw.update(num_cpus=self.num_cpus, include_dashboard=False,
                          object_store_memory=LOCAL_OBJECT_STORE_BYTES)
            try:
                try:
                    ctx = ray.init(address=self.address, **kw)
                except ValueError as exc:
                    # no address, but Ray found a running cluster (RAY_ADDRESS, or one started
                    # here with `ray start`): it refuses local-instance settings; join it as is
                    if self.address is not None or "existing cluster" not in str(exc):
                        raise
                    for k in ("num_cpus", "include_dashboard", "object_store_memory"):
                        kw.pop(k, None)
                    ctx = ray.init(**kw)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise BatchError(f"cannot reach the Ray cluster at {self.address or 'auto'}: "
                                 f"{' '.join(str(exc).split())[:300]}") from None
            self._owned = True
            self.label = f"ray ({self.address or getattr(ctx, 'address_info', {}).get('address', 'local')})"
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self._slots = min(cpus, self.num_cpus) if (self.num_cpus and self.address) else cpus
        # max_retries=0: a line that kills its worker is reported, not silently re-run
        self._remote = ray.remote(num_cpus=1, max_retries=0)(process_line)

    def submit(self, job: dict):
        ref = self._remote.remote(job)
        self._refs.add(ref)
        return ref

    def wait(self, handles: list, timeout: float) -> list[tuple[object, object]]:
        import ray

        if not handles:
            return []
        ready, rest = ray.wait(handles, num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        out: list[tuple[object, object]] = []
        for ref in ready:
            self._refs.discard(ref)
            try:
                out.append((ref, ray.get(ref)))
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                    ray.exceptions.OutOfMemoryError):
                out.append((ref, _Crashed(attributable=True)))
            except ray.exceptions.RayError as exc:
                out.append((ref, RuntimeError(" ".join(str(exc).split())[:300])))
        return out

    def stop(self, cancel: bool = False) -> None:
        try:
            import ray
        except ImportError:
            return
        if cancel:
            for ref in list(self._refs):
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - best effort: the task may have finished
                    pass
        self._refs.clear()
        if self._owned and ray.is_initialized():
            ray.shutdown()  # also stops a local instance this runner started
            self._owned = False


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, with one line, when ``HOST:PORT`` does not answer (``ray.init`` itself
    retries for minutes).  ``auto`` and other non-``HOST:PORT`` forms are left to Ray."""
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BatchError(f"cannot reach the Ray cluster at {address} ({reason})") from None
