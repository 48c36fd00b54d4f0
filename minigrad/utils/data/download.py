"""Downloading dataset files: mirrors tried in turn, MD5 verified, written atomically.

The cache folder is ``$MINIGRAD_DATA`` if set, else ``~/.cache/minigrad``; each dataset keeps its
own sub-folder there (mnist/, fashion-mnist/, cifar-10/, cifar-100/).
"""
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """No mirror delivered a good copy of a file; the message lists every attempt."""


class IntegrityError(ValueError):
    """A file's MD5 or size is not the published one; the message names the file, expected and found."""


def cache_dir():
    """``$MINIGRAD_DATA`` if set, else ``~/.cache/minigrad``."""
    return os.path.expanduser(os.environ.get("MINIGRAD_DATA") or os.path.join("~", ".cache", "minigrad"))


def md5sum(path):
    """Hex MD5 of a file, read in 1 MiB chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


_MD5_SEEN = {}   # (real path, size, mtime in ns) -> MD5: a file unchanged since it was hashed is not read again


def verify_md5(path, md5):
    """Raise IntegrityError (naming the file, expected and found MD5) unless ``path`` has MD5 ``md5``.
    The MD5 is remembered per file, size and modification time, so checking an unchanged file again
    (a dataset opened a second time in the same process) costs one ``stat``."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    found = _MD5_SEEN.get(key)
    if found is None:
        found = _MD5_SEEN[key] = md5sum(path)
    if found != md5:
        raise IntegrityError(f"{path}: MD5 mismatch: expected {md5}, found {found}")


def _fetch(url, path, md5, timeout):
    """Stream ``url`` into a temporary file beside ``path``, check size and MD5, then rename it."""
    name = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{name}.", suffix=".part")
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "minigrad"})
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(req, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            h, got = hashlib.md5(), 0
            for chunk in iter(lambda: resp.read(CHUNK), b""):
                f.write(chunk)
                h.update(chunk)
                got += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        if length is not None and got != int(length):
            raise IntegrityError(f"{name}: truncated download from {url}: expected {int(length)} bytes, "
                                 f"found {got}")
        found = h.hexdigest()
        if md5 is not None and found != md5:
            raise IntegrityError(f"{name}: MD5 mismatch for {url}: expected {md5}, found {found}")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def download(filename, mirrors, folder, md5, timeout=60, quiet=False):
    """Fetch ``filename`` into ``folder`` from the first of ``mirrors`` (URL prefixes) that delivers
    a copy with MD5 ``md5``; return its path. Nothing is left behind by a failed attempt."""
    os.makedirs(folder, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"cannot download {filename}: the folder {folder} is not writable "
                              "(pass another root, or set MINIGRAD_DATA)")
    path = os.path.join(folder, filename)
    errors = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        if not quiet:
            print(f"Downloading {url} -> {path}", file=sys.stderr)
        try:
            return _fetch(url, path, md5, timeout)
        except (OSError, http.client.HTTPException, ValueError) as e:  # URLError is an OSError
            errors.append(f"{url}: {e}")
    raise DownloadError(f"could not download {filename} (expected MD5 {md5}) from any mirror:\n  "
                        + "\n  ".join(errors))
