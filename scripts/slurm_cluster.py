"""A throwaway single-node SLURM cluster for tests (and for trying the SLURM profile by hand).

``SlurmCluster`` installs Slurm and munge with apt-get when they are missing, writes a minimal
``slurm.conf`` into a fresh temporary folder, starts ``munged``, ``slurmctld`` and ``slurmd`` on this
machine and waits until ``sinfo`` shows the node idle. Leaving the ``with`` block (or calling
:meth:`SlurmCluster.stop`) cancels the cluster's jobs, stops exactly the daemons it started (by PID),
removes the ``/etc/slurm/slurm.conf`` symlink and deletes the temporary folder.

Why things are done the way they are (see also docs in ``profiles/slurm/README.md``):

- The config lives in the temporary folder, but it is also made visible at ``/etc/slurm/slurm.conf``
  through a symlink: snakemake-executor-plugin-slurm runs ``srun`` inside every job with all ``SLURM_*``
  variables removed, ``SLURM_CONF`` included, so Slurm must find its config at the default path.
  An existing ``/etc/slurm/slurm.conf`` that is not ours is never touched: the cluster is then
  *unavailable* (the caller skips, with that reason).
- ``MinJobAge`` is 300 s: without accounting storage the plugin must ask ``squeue`` for job states
  (``--slurm-status-command squeue``), and ``squeue`` only knows a finished job for ``MinJobAge`` seconds.
- The daemons run in the foreground (``-D``/``-F``) as our child processes, so their PIDs are known
  exactly. Their command lines name the temporary folder (``-f <tmp>/slurm.conf``,
  ``--log-file=<tmp>/...``), and slurmstepd and job processes inherit ``SLURM_CONF=<tmp>/slurm.conf``:
  what a killed run left behind (daemons, jobs, folder, symlink) is recognised as ours by
  :func:`our_processes` and removed by the next start, with a note. A lock file (``flock``, released
  by the kernel when its holder dies) keeps two clusters from running at once.
- A ``munged`` that already works (one started by the system) is reused and left running.

Two exceptions tell the caller what to do:

- :class:`SlurmClusterUnavailable`: a prerequisite is missing (not root, no apt-get, not Linux, a
  foreign Slurm installation or config, another cluster running, apt-get failed). Tests skip with
  ``str(exc)`` as the reason, or fail when ``DENDRITIC_REQUIRE_SLURM=1`` (set it in CI, where a
  skip would hide a broken setup).
- :class:`SlurmClusterError`: the prerequisites were there but the cluster did not come up; the
  message holds the tails of the daemons' logs. Tests fail.

Use from a test module (with ``scripts/`` on ``sys.path``, as tests/test_slurm_cluster.py does)::

    from slurm_cluster import slurm_cluster_fixture
    slurm_cluster = slurm_cluster_fixture(scope="module")

    def test_something(slurm_cluster):
        subprocess.run(["sbatch", ...], env=slurm_cluster.env, check=True)

or by hand (starts the cluster, runs the command, stops the cluster)::

    python scripts/slurm_cluster.py run -- snakemake --profile profiles/slurm --slurm-no-account ...
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: Packages that provide the daemons and client commands (Debian 12: Slurm 22.05).
APT_PACKAGES = ("slurm-wlm", "munge")
#: Programs that must exist after installation.
REQUIRED_PROGRAMS = (
    "/usr/sbin/slurmctld",
    "/usr/sbin/slurmd",
    "/usr/sbin/munged",
    "munge",
    "unmunge",
    "sbatch",
    "srun",
    "squeue",
    "sinfo",
    "scancel",
    "scontrol",
    "setpriv",
)
#: Where Slurm looks for its config when SLURM_CONF is not set.
DEFAULT_SLURM_CONF = Path("/etc/slurm/slurm.conf")
#: Held (flock) while a cluster runs; released by the kernel if the holder dies.
LOCK_FILE = Path("/run/lock/dendritic-slurm-cluster.lock")
#: Our temporary folders are TMP_BASE/TMP_PREFIX*; processes naming one (command line or SLURM_CONF)
#: are ours. A fixed /tmp (not $TMPDIR): the munge user must reach it, and every run must look in the
#: same place for what an earlier, killed run left behind.
TMP_BASE = "/tmp"
TMP_PREFIX = "dendritic-slurm-"
#: Marker file inside our temporary folders (only folders holding it are ever deleted).
MARKER = ".dendritic-slurm-cluster"
DAEMONS = ("slurmctld", "slurmd", "munged")
#: What snakemake needs on top of profiles/slurm to run on this cluster: it has no accounts and no
#: accounting storage (so job states must come from squeue, which MinJobAge makes reliable), and a
#: short first status check (default 40 s) keeps test runs short.
SNAKEMAKE_ARGS = (
    "--slurm-no-account",
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "2",
)  # fmt: skip
REQUIRE_ENV = "DENDRITIC_REQUIRE_SLURM"


class SlurmClusterUnavailable(RuntimeError):
    """A prerequisite is missing; the message says which. Callers skip (or fail in CI)."""


class SlurmClusterError(RuntimeError):
    """The cluster failed to come up although its prerequisites were there (message: log tails)."""


# --------------------------------------------------------------------------------------------
# small helpers


def _run(cmd, *, env=None, timeout=60, check=False, input=None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, timeout=timeout, check=check, input=input, capture_output=True, text=True)


def _tail(path: Path, n: int = 25) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"  ({path}: {exc.strerror})"
    return "\n".join("  " + line for line in lines[-n:]) or "  (empty)"


def _processes() -> list[tuple[int, list[str]]]:
    """(pid, argv) of every process whose command line is readable (not zombies, not kernel threads)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if raw:
            out.append((int(entry.name), raw.rstrip(b"\0").decode(errors="replace").split("\0")))
    return out


def _daemon_name(argv: list[str]) -> str | None:
    name = os.path.basename(argv[0]) if argv else ""
    if name.startswith("slurmstepd"):  # shows up as "slurmstepd: [12.batch]"
        return "slurmstepd"
    return name if name in DAEMONS else None


def _slurm_conf_of(pid: int) -> str | None:
    """SLURM_CONF in a process's environment (slurmd passes it to slurmstepd and the job processes)."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"SLURM_CONF="):
            return item[len(b"SLURM_CONF=") :].decode(errors="replace")
    return None


def our_processes(base: str = TMP_BASE) -> list[tuple[int, list[str]]]:
    """Processes that belong to a cluster of ours, this one or an earlier one.

    Daemons name our temporary folder on their command line; slurmstepd and job processes carry
    SLURM_CONF=<our folder>/slurm.conf in their environment. This process and its ancestors are left out.
    """
    needle = os.path.join(base, TMP_PREFIX)
    exclude = _ancestors()
    return [
        (pid, argv)
        for pid, argv in _processes()
        if pid not in exclude and (any(needle in arg for arg in argv) or (_slurm_conf_of(pid) or "").startswith(needle))
    ]


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return pids


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def _stop_child(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM a child of ours, SIGKILL it after ``timeout`` seconds, and reap it."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def prerequisites_problem() -> str | None:
    """Why a cluster cannot be started here (None when it can). Cheap; starts nothing."""
    if not sys.platform.startswith("linux"):
        return f"a local SLURM cluster needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "starting a local SLURM cluster needs root (to run slurmd/munged and write /etc/slurm)"
    if not _programs_missing():
        return None
    if shutil.which("apt-get") is None:
        missing = ", ".join(_programs_missing())
        return f"Slurm/munge are not installed ({missing} missing) and apt-get is not available"
    return None


def _programs_missing() -> list[str]:
    return [p for p in REQUIRED_PROGRAMS if not (os.access(p, os.X_OK) if p.startswith("/") else shutil.which(p))]


# --------------------------------------------------------------------------------------------
# the cluster


class SlurmCluster:
    """A single-node SLURM cluster on this machine; use as a context manager.

    Parameters
    ----------
    cluster_name, partition:
        Names written into slurm.conf; the partition is the default one.
    min_job_age:
        Seconds slurmctld keeps finished jobs (``squeue`` sees them that long); keep it >= 120.
    start_timeout:
        Seconds to wait for the node to become idle before giving up with the daemons' logs.
    install:
        Install ``slurm-wlm munge`` with apt-get when they are missing.
    keep_workdir:
        Leave the temporary folder (config, logs, state) behind after :meth:`stop`, for debugging
        (the next start removes it).

    After :meth:`start`: ``workdir`` (the temporary folder), ``conf`` (its slurm.conf), ``node``
    (the node name), ``env`` (an environment for subprocesses: ``SLURM_CONF`` set, other
    ``SLURM_*`` variables removed), ``pids`` (daemon name -> PID of what we started) and ``notes``
    (what was found and done on the way: installs, leftovers cleaned up, a reused munged).
    """

    def __init__(
        self,
        cluster_name: str = "dendritic-test",
        partition: str = "debug",
        min_job_age: int = 300,
        start_timeout: float = 30.0,
        install: bool = True,
        keep_workdir: bool = False,
    ):
        if min_job_age < 120:
            raise ValueError("min_job_age must be >= 120 s, or squeue-based status checks miss jobs")
        self.cluster_name = cluster_name
        self.partition = partition
        self.min_job_age = min_job_age
        self.start_timeout = start_timeout
        self.install = install
        self.keep_workdir = keep_workdir
        self.workdir: Path | None = None
        self.conf: Path | None = None
        self.node: str | None = None
        self.pids: dict[str, int] = {}
        self.notes: list[str] = []
        self._procs: dict[str, subprocess.Popen] = {}
        self._lock_fd: int | None = None
        self._linked = False
        self._started = False

    # -- public API -------------------------------------------------------------------------

    def __enter__(self) -> SlurmCluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def env(self) -> dict[str, str]:
        """os.environ without SLURM_* (e.g. from an enclosing real job), plus our SLURM_CONF."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        if self.conf is not None:
            env["SLURM_CONF"] = str(self.conf)
        return env

    def start(self) -> SlurmCluster:
        """Install what is missing, start the daemons, wait for the node to be idle."""
        if self._started:
            return self
        problem = prerequisites_problem()
        if problem:
            raise SlurmClusterUnavailable(problem)
        self._acquire_lock()
        try:
            self._install_packages()
            self._clean_up_leftovers()
            self._check_no_foreign_slurm()
            self._started = True
            atexit.register(self.stop)
            self._write_config()
            self._link_config()
            self._start_munged()
            self._start_slurm()
            self._wait_idle()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Cancel our jobs, stop what we started (by PID), remove symlink and folder. Idempotent."""
        try:
            if self._started:
                self._started = False
                atexit.unregister(self.stop)
                if self._procs.get("slurmctld") and self._procs["slurmctld"].poll() is None:
                    self._cancel_jobs()
                for name in ("slurmd", "slurmctld", "munged"):
                    proc = self._procs.pop(name, None)
                    if proc is not None and proc.poll() is None:
                        _stop_child(proc)
                self._stop_strays()
                self._unlink_config()
                if self.workdir is not None and not self.keep_workdir:
                    shutil.rmtree(self.workdir, ignore_errors=True)
        finally:
            self._release_lock()

    def running_pids(self) -> dict[str, int]:
        """The daemons we started that are still alive (empty after a clean stop)."""
        return {name: pid for name, pid in self.pids.items() if _pid_alive(pid)}

    def log_tails(self, n: int = 25) -> str:
        if self.workdir is None:
            return "(no cluster folder)"
        logs = sorted((self.workdir / "log").glob("*"))
        return "\n".join(f"--- {p}:\n{_tail(p, n)}" for p in logs) or "(no logs)"

    # -- steps ------------------------------------------------------------------------------

    def _acquire_lock(self) -> None:
        LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            where = " in this very process (overlapping fixtures?)" if holder == str(os.getpid()) else ""
            raise SlurmClusterUnavailable(
                f"another local SLURM test cluster is running{where} (pid {holder} holds {LOCK_FILE}); "
                "only one can run at a time"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.ftruncate(self._lock_fd, 0)
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _install_packages(self) -> None:
        if not _programs_missing():
            return
        if not self.install:
            raise SlurmClusterUnavailable(
                f"Slurm/munge are not installed ({', '.join(_programs_missing())} missing) and install=False"
            )
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        # --no-install-recommends: 9 packages instead of ~45 (the recommended plugins: influxdb,
        # hdf5, rsmi, ... and their -dev packages); ~7 s instead of ~11 s, and nothing here needs them
        # DPkg::Lock::Timeout: wait for another apt-get/dpkg instead of failing at once
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-q"]
        cmd = [*apt, "install", "-y", "--no-install-recommends", *APT_PACKAGES]
        t0 = time.monotonic()
        res = _run(cmd, env=env, timeout=900)
        out = res.stdout + res.stderr
        if res.returncode != 0 and ("Unable to locate package" in out or "no installation candidate" in out):
            _run([*apt, "update"], env=env, timeout=900)  # a fresh machine has empty package lists
            res = _run(cmd, env=env, timeout=900)
        if res.returncode != 0 or _programs_missing():
            tail = "\n".join((res.stdout + res.stderr).splitlines()[-15:])
            raise SlurmClusterUnavailable(
                f"`{' '.join(cmd)}` failed (rc {res.returncode}); still missing: "
                f"{', '.join(_programs_missing()) or 'nothing'}\n{tail}"
            )
        self._note(f"installed {' '.join(APT_PACKAGES)} in {time.monotonic() - t0:.1f} s", logging.INFO)

    def _clean_up_leftovers(self) -> None:
        """Stop daemons and delete folders that a killed earlier run of ours left behind.

        Safe because we hold the lock: no live cluster of ours can own them.
        """
        leftovers = our_processes()
        if leftovers:
            self._terminate_all(leftovers, "leftover of an earlier test cluster")
        for folder in Path(TMP_BASE).glob(TMP_PREFIX + "*"):
            if (folder / MARKER).exists():
                shutil.rmtree(folder, ignore_errors=True)
                self._note(f"removed leftover cluster folder {folder}")
        if DEFAULT_SLURM_CONF.is_symlink():
            target = os.readlink(DEFAULT_SLURM_CONF)
            if target.startswith(os.path.join(TMP_BASE, TMP_PREFIX)):
                DEFAULT_SLURM_CONF.unlink()
                self._note(f"removed leftover symlink {DEFAULT_SLURM_CONF} -> {target}")

    def _check_no_foreign_slurm(self) -> None:
        for pid, argv in _processes():
            name = _daemon_name(argv)
            if name in ("slurmctld", "slurmd", "slurmstepd"):
                raise SlurmClusterUnavailable(
                    f"a {name} not started by this test helper is running (pid {pid}: "
                    f"{' '.join(argv)}); stop it first, or run the cluster tests on a throwaway machine"
                )
        if DEFAULT_SLURM_CONF.exists() or DEFAULT_SLURM_CONF.is_symlink():
            what = f"a symlink to {os.readlink(DEFAULT_SLURM_CONF)}" if DEFAULT_SLURM_CONF.is_symlink() else "a file"
            raise SlurmClusterUnavailable(
                f"{DEFAULT_SLURM_CONF} already exists ({what}) and is not ours; the plugin's srun "
                "needs our config at that path and we never overwrite a real one"
            )

    def _write_config(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=TMP_BASE))
        # the munge user must reach <tmp>/munge; mkdtemp makes the folder 0700
        self.workdir.chmod(0o755)
        (self.workdir / MARKER).write_text(f"created by pid {os.getpid()}\n")
        for sub in ("state", "spool", "log", "run"):
            (self.workdir / sub).mkdir()
        node_line = self._node_line()
        self.node = node_line.split()[0].split("=", 1)[1]
        w = self.workdir
        self.conf = w / "slurm.conf"
        self.conf.write_text(
            f"""\
# Written by scripts/slurm_cluster.py for a throwaway single-node test cluster.
ClusterName={self.cluster_name}
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
# squeue must still see finished jobs when the executor plugin asks (>= 3 x its check interval)
MinJobAge={self.min_job_age}
StateSaveLocation={w}/state
SlurmdSpoolDir={w}/spool
SlurmctldPidFile={w}/run/slurmctld.pid
SlurmdPidFile={w}/run/slurmd.pid
SlurmctldLogFile={w}/log/slurmctld.log
SlurmdLogFile={w}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no accounting storage: sacct cannot answer (see profiles/slurm/README.md)
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
{node_line} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName={self.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
        )

    def _node_line(self) -> str:
        """``NodeName=... CPUs=... RealMemory=...`` as slurmd measures this machine."""
        res = _run(["/usr/sbin/slurmd", "-C"], timeout=30)
        line = next((ln for ln in res.stdout.splitlines() if ln.startswith("NodeName=")), None)
        if res.returncode != 0 or line is None:
            raise SlurmClusterError(f"`slurmd -C` failed (rc {res.returncode}): {res.stdout}{res.stderr}")
        return line.strip()

    def _link_config(self) -> None:
        DEFAULT_SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(self.conf, DEFAULT_SLURM_CONF)  # fails rather than clobber if one appeared
        self._linked = True

    def _unlink_config(self) -> None:
        if self._linked and DEFAULT_SLURM_CONF.is_symlink():
            if os.readlink(DEFAULT_SLURM_CONF) == str(self.conf):
                DEFAULT_SLURM_CONF.unlink()
        self._linked = False

    def _munge_works(self) -> bool:
        try:
            cred = _run(["munge", "-n"], timeout=10)
            if cred.returncode != 0:
                return False
            return _run(["unmunge"], input=cred.stdout, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def _start_munged(self) -> None:
        if self._munge_works():
            self._note("reusing the munged that is already running (it is left running)", logging.INFO)
            return
        mdir = self.workdir / "munge"
        _run(["install", "-d", "-o", "munge", "-g", "munge", "-m", "0755", "/run/munge"], check=True)
        _run(["install", "-d", "-o", "munge", "-g", "munge", "-m", "0700", str(mdir)], check=True)
        log_file = self.workdir / "log" / "munged.log"
        # munged writes its log as the munge user: give it the file
        log_file.touch()
        shutil.chown(log_file, "munge", "munge")
        cmd = [
            "setpriv", "--reuid=munge", "--regid=munge", "--init-groups",
            "/usr/sbin/munged", "--foreground",
            f"--log-file={log_file}", f"--pid-file={mdir}/munged.pid",
        ]  # fmt: skip
        self._spawn("munged", cmd)
        self._wait_for("munged to answer `munge -n | unmunge`", self._munge_works, timeout=15)

    def _start_slurm(self) -> None:
        self._spawn("slurmctld", ["/usr/sbin/slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._spawn("slurmd", ["/usr/sbin/slurmd", "-D", "-f", str(self.conf)])

    def _spawn(self, name: str, cmd: list[str]) -> None:
        out = open(self.workdir / "log" / f"{name}.stdout", "wb")
        with out:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=self.env, start_new_session=True,  # no Ctrl-C from the terminal
            )  # fmt: skip
        self._procs[name] = proc
        self.pids[name] = proc.pid

    def _sinfo_state(self) -> str:
        res = _run(["sinfo", "-h", "-N", "-o", "%N %T"], env=self.env, timeout=10)
        return (res.stdout + res.stderr).strip()

    def _wait_idle(self) -> None:
        def idle() -> bool:
            states = self._sinfo_state().split()
            return len(states) == 2 and states[0] == self.node and states[1] == "idle"

        self._wait_for(f"node {self.node} to be idle in sinfo", idle, timeout=self.start_timeout)

    def _wait_for(self, what: str, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            dead = {n: p.returncode for n, p in self._procs.items() if p.poll() is not None}
            if dead:
                raise SlurmClusterError(
                    f"waiting for {what}: {', '.join(f'{n} exited with {rc}' for n, rc in dead.items())}\n"
                    f"{self.log_tails()}"
                )
            if ready():
                return
            if time.monotonic() > deadline:
                state = self._sinfo_state() if "slurmctld" in self._procs else "-"
                raise SlurmClusterError(
                    f"gave up after {timeout:.0f} s waiting for {what} (sinfo: {state!r})\n{self.log_tails()}"
                )
            time.sleep(0.2)

    def _cancel_jobs(self) -> None:
        _run(["scancel", f"--partition={self.partition}"], env=self.env, timeout=15)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            res = _run(["squeue", "-h", "-t", "PENDING,RUNNING,COMPLETING,SUSPENDED", "-o", "%i"],
                       env=self.env, timeout=10)  # fmt: skip
            if res.returncode != 0 or not res.stdout.strip():
                return
            time.sleep(0.3)
        self._note("jobs still listed 15 s after scancel; stopping the daemons anyway")

    def _stop_strays(self) -> None:
        # slurmstepd daemonizes away from slurmd and outlives it; so can a job's processes
        strays = our_processes()
        if strays:
            self._terminate_all(strays, "stray process of this test cluster")

    def _terminate_all(self, procs: list[tuple[int, list[str]]], why: str) -> None:
        """SIGTERM all, give them 10 s together, then SIGKILL what is left; note each one."""
        for pid, argv in procs:
            self._note(f"stopping {why}: pid {pid}: {' '.join(argv)}")
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_pid_alive(pid) for pid, _ in procs):
            time.sleep(0.1)
        for pid, _ in procs:
            if _pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _note(self, msg: str, level: int = logging.WARNING) -> None:
        self.notes.append(msg)
        log.log(level, "SlurmCluster: %s", msg)


# --------------------------------------------------------------------------------------------
# pytest integration


def slurm_cluster_fixture(scope: str = "session", **kwargs):
    """Make a pytest fixture that yields a started :class:`SlurmCluster` and stops it afterwards.

    Assign the result to a module-level name in a test module (or conftest.py)::

        slurm_cluster = slurm_cluster_fixture(scope="module")

    A missing prerequisite skips the test with the reason (``pytest -ra`` lists it); with
    ``DENDRITIC_REQUIRE_SLURM=1`` in the environment it fails instead. Note that only one cluster
    can run at a time: do not let fixtures of different modules overlap (use one session fixture).
    """
    import pytest

    @pytest.fixture(scope=scope)
    def _slurm_cluster():
        cluster = SlurmCluster(**kwargs)
        try:
            cluster.start()
        except SlurmClusterUnavailable as exc:
            skip_or_fail(str(exc))
        try:
            yield cluster
        finally:
            cluster.stop()

    return _slurm_cluster


def skip_or_fail(reason: str) -> None:
    """pytest.skip with ``reason``; pytest.fail when DENDRITIC_REQUIRE_SLURM=1 (CI)."""
    import pytest

    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{REQUIRE_ENV} is set but the SLURM test cluster is unavailable: {reason}")
    pytest.skip(f"local SLURM cluster unavailable: {reason}")


# --------------------------------------------------------------------------------------------
# command line: python scripts/slurm_cluster.py run -- CMD ...


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description="Start a throwaway single-node SLURM cluster, run a command against it, stop it."
    )
    sub = parser.add_subparsers(dest="action", required=True)
    run_p = sub.add_parser("run", help="run CMD (after --) with the cluster up; exit with its status")
    run_p.add_argument("cmd", nargs=argparse.REMAINDER)
    sub.add_parser("check", help="say whether a cluster could be started here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    if args.action == "check":
        problem = prerequisites_problem()
        print(problem or "ok: a local SLURM cluster can be started here")
        return 1 if problem else 0

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("run needs a command, e.g.: run -- sinfo")
    try:
        with SlurmCluster() as cluster:
            print(f"[slurm_cluster] up: node {cluster.node}, config {cluster.conf}, pids {cluster.pids}",
                  file=sys.stderr, flush=True)  # fmt: skip
            # the daemons ignore Ctrl-C (own session); let it reach the command, then stop cleanly
            proc = subprocess.Popen(cmd, env=cluster.env)
            try:
                rc = proc.wait()
            except KeyboardInterrupt:  # the command got the Ctrl-C too; let it shut down
                rc = proc.wait()
            print(f"[slurm_cluster] command exited with {rc}; stopping the cluster", file=sys.stderr)
            return rc
    except SlurmClusterUnavailable as exc:
        print(f"[slurm_cluster] unavailable: {exc}", file=sys.stderr)
        return 2
    except SlurmClusterError as exc:
        print(f"[slurm_cluster] failed: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
