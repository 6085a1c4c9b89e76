"""Drive git and DVC (through their CLIs) to commit, tag, push and check out dataset versions.

DVC is run as ``<venv>/bin/dvc`` next to ``sys.executable`` rather than through its Python API:
the CLI is DVC's stable interface, and a subprocess keeps DVC's (and hydra's) imports out of the
Dagster process (see constraints/overrides.txt for why that matters here). git runs with a fixed
local identity so commits work on a machine with no git user configured.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

GIT_USER = ("maskops", "maskops@localhost")
TAG_PREFIX = "dataset-v"
_TAG = re.compile(rf"^{TAG_PREFIX}(\d+)$")
_REMOTE_NAME = "storage"


class DatasetRepoError(RuntimeError):
    """A git or DVC command failed; the message has the command, the repo and its output."""


@dataclass(frozen=True)
class DatasetVersion:
    """A committed dataset version: the git tag, the commit it points at and DVC's directory hash."""

    tag: str
    git_rev: str
    dvc_md5: str


def dvc_executable() -> str:
    """The ``dvc`` of this interpreter's environment, else the first one on PATH."""
    beside = Path(sys.executable).parent / "dvc"
    if beside.exists():
        return str(beside)
    found = shutil.which("dvc")
    if not found:
        raise DatasetRepoError(
            f"no dvc executable next to {sys.executable} or on PATH; install the platform extra "
            "(scripts/bootstrap.sh)"
        )
    return found


class DatasetRepo:
    """A dataset repository at ``root`` whose DVC remote is ``remote`` (a directory or a URL).

    Checked-out versions go under ``checkouts_dir`` (default: ``<root>-checkouts``) as git
    worktrees that share the repository's DVC cache, so checking out an old version copies
    files only, it never downloads what is already cached.
    """

    def __init__(self, root: Path | str, remote: str, *, checkouts_dir: Path | str | None = None) -> None:
        self.root = Path(root).resolve()
        self.remote = remote
        default_checkouts = self.root.with_name(self.root.name + "-checkouts")
        self.checkouts_dir = Path(checkouts_dir).resolve() if checkouts_dir else default_checkouts

    # -- process helpers ---------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "GIT_AUTHOR_NAME": GIT_USER[0],
                "GIT_AUTHOR_EMAIL": GIT_USER[1],
                "GIT_COMMITTER_NAME": GIT_USER[0],
                "GIT_COMMITTER_EMAIL": GIT_USER[1],
                # no usage reporting, no update checks: the machine may have no internet
                "DVC_NO_ANALYTICS": "1",
                "DVC_IGNORE_ISATTY": "true",
                "GIT_TERMINAL_PROMPT": "0",
            }
        )
        return env

    def _run(
        self, args: list[str], *, cwd: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        where = cwd or self.root
        proc = subprocess.run(
            args, cwd=where, env=self._env(), capture_output=True, text=True, check=False, timeout=600
        )
        if check and proc.returncode != 0:
            output = "\n".join(part for part in (proc.stdout.strip(), proc.stderr.strip()) if part)[-2000:]
            command = " ".join(args)
            raise DatasetRepoError(f"`{command}` failed in {where} (exit {proc.returncode}):\n{output}")
        return proc

    def _git(self, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return self._run(["git", *args], cwd=cwd, check=check)

    def _dvc(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return self._run([dvc_executable(), *args], cwd=cwd)

    # -- public API --------------------------------------------------------------------------------

    def ensure_initialised(self) -> None:
        """Create the git + DVC repository and its default remote if they do not exist yet."""
        if (self.root / ".git").exists() and (self.root / ".dvc").exists():
            self._sync_remote()
            return
        log.info("initialising dataset repo %s (DVC remote %s)", self.root, self.remote)
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / ".git").exists():
            self._git("init", "--quiet", "--initial-branch=main")
        if not (self.root / ".dvc").exists():
            self._dvc("init", "--quiet")
        self._dvc("config", "core.analytics", "false")
        self._sync_remote()
        (self.root / "README.md").write_text(
            "# maskops labeled dataset\n\nVersions are git tags `dataset-vN`; the data lives in DVC.\n"
            "`dvc pull` after `git checkout dataset-vN` restores a version.\n"
        )
        self._git("add", "--all")
        self._git("commit", "--quiet", "-m", "Initialise the maskops dataset repository")

    def _sync_remote(self) -> None:
        if not self._is_local_url(self.remote) or Path(self.remote).is_absolute():
            remote = self.remote
        else:
            remote = str(Path(self.remote).resolve())
        if self._is_local_url(remote):
            Path(remote).mkdir(parents=True, exist_ok=True)
        self._dvc("remote", "add", "--default", "--force", _REMOTE_NAME, remote)
        if self._git("status", "--porcelain", ".dvc/config").stdout.strip():
            self._git("add", ".dvc/config")
            self._git("commit", "--quiet", "-m", f"DVC remote: {remote}")

    @staticmethod
    def _is_local_url(url: str) -> bool:
        return "://" not in url

    def versions(self) -> list[DatasetVersion]:
        """Every committed version, oldest first."""
        if not (self.root / ".git").exists():
            return []
        tags = [t for t in self._git("tag", "--list", f"{TAG_PREFIX}*").stdout.split() if _TAG.match(t)]
        tags.sort(key=lambda t: int(_TAG.match(t).group(1)))  # type: ignore[union-attr]
        return [self._version_of(tag) for tag in tags]

    def latest(self) -> DatasetVersion | None:
        found = self.versions()
        return found[-1] if found else None

    def _version_of(self, tag: str) -> DatasetVersion:
        rev = self._git("rev-list", "-n", "1", tag).stdout.strip()
        dvc_files = [
            name
            for name in self._git("ls-tree", "--name-only", rev).stdout.split()
            if name.endswith(".dvc") and name != ".dvc"
        ]
        md5 = ""
        if dvc_files:
            content = self._git("show", f"{rev}:{dvc_files[0]}").stdout
            md5 = _dvc_md5(content, f"{tag}:{dvc_files[0]}")
        return DatasetVersion(tag=tag, git_rev=rev, dvc_md5=md5)

    def commit(self, dataset_dir_name: str, message: str) -> DatasetVersion:
        """Track ``<root>/<dataset_dir_name>`` with DVC, commit and tag it as the next version.

        When the directory is byte-for-byte the latest version already, nothing is committed and
        that version is returned: versions are content, not calls.
        """
        self.ensure_initialised()
        if not (self.root / dataset_dir_name).is_dir():
            raise DatasetRepoError(
                f"{self.root / dataset_dir_name} is not a directory; "
                "write the dataset there before committing"
            )
        self._dvc("add", "--quiet", dataset_dir_name)
        dvc_file = f"{dataset_dir_name}.dvc"
        self._git("add", dvc_file, ".gitignore")
        previous = self.latest()
        # Compared with the latest *version*, not with HEAD: after a crash between the commit and
        # the tag, HEAD already holds the new data and the retry must still tag it.
        md5 = _dvc_md5((self.root / dvc_file).read_text(), dvc_file)
        if previous is not None and md5 == previous.dvc_md5:
            log.info("dataset unchanged since %s; no new version", previous.tag)
            return previous
        if self._git("diff", "--cached", "--quiet", check=False).returncode:
            self._git("commit", "--quiet", "-m", message)
        number = int(_TAG.match(previous.tag).group(1)) + 1 if previous else 1  # type: ignore[union-attr]
        tag = f"{TAG_PREFIX}{number}"
        self._git("tag", "-a", tag, "-m", message)
        version = self._version_of(tag)
        log.info("committed %s (%s, dvc md5 %s)", tag, version.git_rev[:10], version.dvc_md5)
        return version

    def push(self) -> None:
        """Upload every version's data to the DVC remote."""
        # --all-tags: a plain push uploads only the checked-out version's data
        self._dvc("push", "--quiet", "--all-tags")

    def checkout(self, tag: str) -> Path:
        """A read-only working copy of version ``tag``; returns the root of that copy.

        The copy is a git worktree at ``<checkouts_dir>/<tag>`` with its data restored by
        ``dvc pull`` (from the shared cache, or from the remote when the cache lacks it).
        A complete earlier checkout of the same tag is reused: a version never changes.
        """
        if not _TAG.match(tag):
            raise DatasetRepoError(f"{tag!r} is not a dataset version; expected {TAG_PREFIX}<N>")
        known = {v.tag for v in self.versions()}
        if tag not in known:
            listing = ", ".join(sorted(known)) or "none yet"
            raise DatasetRepoError(
                f"dataset version {tag!r} does not exist in {self.root} (versions: {listing})"
            )
        target = self.checkouts_dir / tag
        done_marker = target / ".maskops-checkout-complete"
        if done_marker.exists():
            return target
        if target.exists():
            # a checkout interrupted half-way: start it again
            self._git("worktree", "remove", "--force", str(target), check=False)
            shutil.rmtree(target, ignore_errors=True)
            self._git("worktree", "prune")
        self.checkouts_dir.mkdir(parents=True, exist_ok=True)
        self._git("worktree", "add", "--quiet", "--detach", str(target), tag)
        cache = self.root / ".dvc" / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        self._dvc("cache", "dir", "--local", str(cache), cwd=target)
        self._dvc("pull", cwd=target)
        done_marker.write_text(tag + "\n")
        return target


def _dvc_md5(dvc_file_text: str, where: str) -> str:
    try:
        data = yaml.safe_load(dvc_file_text)
        return str(data["outs"][0]["md5"])
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as err:
        raise DatasetRepoError(f"{where} is not a readable .dvc file ({err})") from None
