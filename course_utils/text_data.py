"""Text data (NLTK corpora and models, plain-text books) found the same way as the image datasets.

Everything lives in the one data cache (`data_root()`): NLTK's packages under `nltk_data/`, in NLTK's
own layout (zips NLTK reads directly), and books under `text/`. When $COURSE_DATA_MIRROR names an
offline mirror with the same layout, missing files are copied from it and checked against the SHA-256
values below first. Otherwise NLTK's downloader (which checks its own index's checksums) fetches a
package into the cache, and a book is downloaded from its pinned URL and checked. NLTK is then pointed
at the cache, never at the mirror itself, so the code path is the same online and offline.
"""
from __future__ import annotations

import io
import os
import secrets
import urllib.request
from pathlib import Path

from .paths import DATA_DIR_ENV, MIRROR_ENV, DatasetUnavailable, data_root, mirror_dir, sha256_of

# NLTK package id -> (its archive inside nltk_data/, SHA-256 of the mirror's copy).
NLTK_PACKAGES: dict[str, tuple[str, str]] = {
    "stopwords": ("corpora/stopwords.zip", "15c94179887425ca1bedc265608cab9f27d650211f709bb929e320990a4b01d1"),
    "movie_reviews": ("corpora/movie_reviews.zip", "a41211ae685019137410268134db6a1a14428c89b671eb83056151a878539008"),
    "brown": ("corpora/brown.zip", "9b275f9b3b95d7bd66ccfb7cd259f445a13bbe5d1f4107aba09fd3e8364bafa6"),
    "names": ("corpora/names.zip", "0eec7e958b34982662b8f05824ae64642dea097b08057ade65c252191c5fe7ca"),
    "words": ("corpora/words.zip", "54ed02917d6771dcc3e8141218960d020947f7f2ccfd9ac9b320979349746015"),
    "vader_lexicon": ("sentiment/vader_lexicon.zip",
                      "8adba4294eef3964d820bf655e37e61bdc3a341994356af59b74fb3b4a36ce5c"),
    "punkt_tab": ("tokenizers/punkt_tab.zip", "717ac52fc58c02b07db60f3ad37af103c726f740b97a40714d5b6092ae690340"),
    "averaged_perceptron_tagger_eng": ("taggers/averaged_perceptron_tagger_eng.zip",
                                       "a76d53e2ecbedb16c1d917d4511e430b4b318b9a75efe6556a1b63f89c729edb"),
}

# Book name -> (file under text/, URL pinned to a commit, SHA-256 of that file).
TEXTS: dict[str, tuple[str, str, str]] = {
    "tinyshakespeare": (
        "tinyshakespeare.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
        "data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),
    "pushkin_onegin_ru": (
        "pushkin_onegin_ru.txt",
        "https://raw.githubusercontent.com/attatrol/data_sources/c7958eb325e371b4e31792815fcf5f80d85d2878/onegin.txt",
        "2990bb79495c017175794596e9b5f98e9e10cf569197e4c561bdd9a2853fb948"),
}


def _has_checksum(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_of(path) == sha256


def copy_verified(source: Path | str, target: Path, sha256: str) -> None:
    """Copy `source` (a file or a URL) to `target` if its SHA-256 matches; else raise and leave nothing.

    The bytes go to a uniquely named temporary file beside `target`, which is renamed into place only once
    its checksum matches: concurrent or interrupted copies never leave a partial file under the real name.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: its files are private to their owner, and a shared cache must stay readable.
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        with urllib.request.urlopen(source, timeout=60) if isinstance(source, str) else open(source, "rb") as reader, \
                open(temporary, "wb") as writer:
            for block in iter(lambda: reader.read(1 << 20), b""):
                writer.write(block)
        found = sha256_of(temporary)
        if found != sha256:
            raise DatasetUnavailable(f"{source} is corrupt: its SHA-256 is {found}, not {sha256}. Replace it with "
                                     f"the original file (or unset {MIRROR_ENV} to download it).")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def nltk_data_dir() -> Path:
    """The cache folder NLTK reads from: <data root>/nltk_data."""
    return data_root() / "nltk_data"


def _point_nltk_at(folder: Path) -> None:
    import nltk

    if str(folder) not in nltk.data.path:
        nltk.data.path.insert(0, str(folder))


def _in_cache(package: str, folder: Path) -> bool:
    import nltk

    archive, _ = NLTK_PACKAGES[package]
    try:
        nltk.data.find(archive.removesuffix(".zip") + "/", paths=[str(folder)])  # "/": a folder or a zip
        return True
    except LookupError:
        return False


def _nltk_download(package: str, folder: Path) -> None:
    """NLTK's own downloader into the cache; raises on failure and prints nothing."""
    import nltk

    errors = io.StringIO()
    if not nltk.download(package, download_dir=str(folder), quiet=True, raise_on_error=True, print_error_to=errors):
        raise RuntimeError(errors.getvalue().strip() or f"nltk.download({package!r}) failed")


def _unavailable(what: str, cache_path: Path, mirror_path: Path | None, how_downloaded: str, error: Exception,
                 mirror_layout: str) -> DatasetUnavailable:
    looked = f"the mirror {mirror_path} (${MIRROR_ENV})" if mirror_path else f"no mirror (${MIRROR_ENV} is not set)"
    return DatasetUnavailable(
        f"{what} is not available. It is not in the data cache {cache_path} (${DATA_DIR_ENV}), there was {looked}, "
        f"and {how_downloaded} failed ({type(error).__name__}: {str(error).strip()}). To fix it: connect to the "
        f"internet and run again, or copy the original file into a folder laid out as <mirror>/{mirror_layout} "
        f"and set {MIRROR_ENV}=<mirror>.")


def load_nltk_data(*packages: str) -> Path:
    """Make NLTK packages (e.g. "stopwords", "punkt_tab") available from the cache; return the cache folder.

    Staged from the mirror when configured, else downloaded by NLTK; `nltk.data.path` then starts with
    the cache folder, so `stopwords.words("russian")` or `movie_reviews.fileids()` work offline.
    """
    unknown = sorted(set(packages) - NLTK_PACKAGES.keys())
    if unknown:
        raise ValueError(f"unknown NLTK package(s) {unknown}; the course stages {sorted(NLTK_PACKAGES)}")
    folder, mirror = nltk_data_dir(), mirror_dir()
    _point_nltk_at(folder)  # first: NLTK >= 3.10 reads only below the folders on its path
    for package in packages:
        archive, sha256 = NLTK_PACKAGES[package]
        staged, source = folder / archive, mirror / "nltk_data" / archive if mirror else None
        if source is not None and source.is_file() and not _has_checksum(staged, sha256):
            copy_verified(source, staged, sha256)
        if _in_cache(package, folder):
            continue
        try:
            _nltk_download(package, folder)
        except Exception as error:  # the downloader raises URLError, ValueError, ... depending on where it fails
            raise _unavailable(f"NLTK's {package!r}", staged, source, f"nltk.download({package!r})", error,
                               f"nltk_data/{archive}") from None
    return folder


def text_path(name: str) -> Path:
    """The cached file of a course text ("tinyshakespeare", "pushkin_onegin_ru"), fetched on first use."""
    if name not in TEXTS:
        raise ValueError(f"unknown text {name!r}; the course has {sorted(TEXTS)}")
    filename, url, sha256 = TEXTS[name]
    target, mirror = data_root() / "text" / filename, mirror_dir()
    if _has_checksum(target, sha256):
        return target
    source = mirror / "text" / filename if mirror else None
    if source is not None and source.is_file():
        copy_verified(source, target, sha256)
        return target
    try:
        copy_verified(url, target, sha256)
    except (OSError, DatasetUnavailable) as error:
        raise _unavailable(f"The text {filename}", target, source, f"downloading {url}", error,
                           f"text/{filename}") from None
    return target


def load_text(name: str) -> str:
    """A course text as one string (UTF-8), fetched into the cache on first use."""
    return text_path(name).read_text(encoding="utf-8")
