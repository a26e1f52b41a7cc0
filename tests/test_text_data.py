"""Text data: staging NLTK packages and books from a mirror, checksums, clear errors; never the network."""
from __future__ import annotations

import hashlib
import os
import urllib.error
import zipfile
from pathlib import Path

import nltk
import pytest
from nltk.corpus.reader import CategorizedPlaintextCorpusReader, StopwordsCorpusReader
from nltk.corpus.util import LazyCorpusLoader

from course_utils import text_data
from course_utils.paths import DatasetUnavailable
from course_utils.text_data import NLTK_PACKAGES, TEXTS, load_nltk_data, load_text, sha256_of, text_path

BOOK = "Маленькой ёлочке холодно зимой.\nA little fir tree is cold in winter.\n"


@pytest.fixture
def cache(tmp_path, no_course_env, monkeypatch) -> Path:
    """An empty data cache in a temporary folder, no mirror, and a private copy of NLTK's search path."""
    folder = tmp_path / "cache"
    no_course_env.setenv("COURSE_DATA_DIR", str(folder))
    monkeypatch.setattr(nltk.data, "path", list(nltk.data.path))
    return folder


@pytest.fixture
def no_download(monkeypatch):
    """Any attempt to download (NLTK or a URL) fails like a machine without network."""
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(text_data, "_nltk_download", offline)
    monkeypatch.setattr(text_data.urllib.request, "urlopen", offline)


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch) -> Path:
    """A mirror with one small book and a small 'stopwords' package, registered with their checksums."""
    mirror = tmp_path / "mirror"
    (mirror / "text").mkdir(parents=True)
    (mirror / "text" / "fir.txt").write_text(BOOK, encoding="utf-8")
    archive = mirror / "nltk_data" / "corpora" / "stopwords.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("stopwords/", "")
        zipped.writestr("stopwords/english", "the\na\nof\n")
    book_sha256 = sha256_of(mirror / "text" / "fir.txt")
    monkeypatch.setitem(TEXTS, "fir", ("fir.txt", "file:///nonexistent/fir.txt", book_sha256))
    monkeypatch.setitem(NLTK_PACKAGES, "stopwords", ("corpora/stopwords.zip", sha256_of(archive)))
    return mirror


def test_a_text_is_staged_from_the_mirror_once_and_read_as_utf8(cache, fake_mirror, no_download, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(fake_mirror))
    assert load_text("fir") == BOOK
    staged = cache / "text" / "fir.txt"
    assert staged.is_file() and list(staged.parent.iterdir()) == [staged]
    umask = os.umask(0)
    os.umask(umask)
    assert staged.stat().st_mode & 0o777 == 0o666 & ~umask  # readable by others, like any file: a shared cache
    monkeypatch.setattr(text_data, "copy_verified", lambda *a: pytest.fail("a verified file is copied again"))
    assert text_path("fir") == staged


def test_a_corrupt_mirror_text_is_rejected_and_leaves_nothing_behind(cache, fake_mirror, no_download, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(fake_mirror))
    (fake_mirror / "text" / "fir.txt").write_text(BOOK + "tampered", encoding="utf-8")
    with pytest.raises(DatasetUnavailable, match="corrupt: its SHA-256"):
        load_text("fir")
    assert list((cache / "text").iterdir()) == []


def test_a_missing_text_is_one_clear_paragraph(cache, fake_mirror, no_download):
    with pytest.raises(DatasetUnavailable) as error:
        load_text("fir")
    message = str(error.value)
    for needed in ("fir.txt is not available", str(cache / "text" / "fir.txt"), "COURSE_DATA_MIRROR is not set",
                   "file:///nonexistent/fir.txt", "To fix it", "<mirror>/text/fir.txt"):
        assert needed in message
    assert "\n" not in message and error.value.__suppress_context__
    assert list((cache / "text").iterdir()) == []


def test_a_download_is_checked_like_a_mirror_copy(cache, fake_mirror, monkeypatch):
    source = "https://example.invalid/fir.txt"
    served = []

    def server(url, timeout):  # stands in for the network: serves the mirror's copy
        served.append(url)
        return open(fake_mirror / "text" / "fir.txt", "rb")

    monkeypatch.setattr(text_data.urllib.request, "urlopen", server)
    monkeypatch.setitem(TEXTS, "fir", ("fir.txt", source, hashlib.sha256(BOOK.encode()).hexdigest()))
    assert load_text("fir") == BOOK
    (cache / "text" / "fir.txt").unlink()
    monkeypatch.setitem(TEXTS, "fir", ("fir.txt", source, "0" * 64))
    with pytest.raises(DatasetUnavailable, match="is corrupt"):
        load_text("fir")
    assert list((cache / "text").iterdir()) == [] and served == [source, source]


def test_nltk_reads_a_package_from_the_cache_not_from_the_mirror(cache, fake_mirror, no_download, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(fake_mirror))
    folder = load_nltk_data("stopwords")
    assert folder == cache / "nltk_data" and nltk.data.path[0] == str(folder)
    assert not any(str(fake_mirror) in p for p in nltk.data.path)
    found = nltk.data.find("corpora/stopwords/english")
    assert str(cache) in str(found) and found.open().read().split() == [b"the", b"a", b"of"]


def test_a_corrupt_nltk_package_in_the_mirror_is_rejected(cache, fake_mirror, no_download, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(fake_mirror))
    monkeypatch.setitem(NLTK_PACKAGES, "stopwords", ("corpora/stopwords.zip", "f" * 64))
    with pytest.raises(DatasetUnavailable, match="corrupt"):
        load_nltk_data("stopwords")
    assert list((cache / "nltk_data" / "corpora").iterdir()) == []


def test_a_missing_nltk_package_is_one_clear_paragraph(cache, no_download):
    with pytest.raises(DatasetUnavailable) as error:
        load_nltk_data("punkt_tab")
    message = str(error.value)
    for needed in ("NLTK's 'punkt_tab' is not available", str(cache / "nltk_data" / "tokenizers" / "punkt_tab.zip"),
                   "nltk.download('punkt_tab')", "no network in tests", "To fix it",
                   "<mirror>/nltk_data/tokenizers/punkt_tab.zip", "COURSE_DATA_MIRROR"):
        assert needed in message
    assert "\n" not in message


def test_unknown_names_are_rejected_with_the_known_ones(cache):
    with pytest.raises(ValueError, match="punkt_tab"):
        load_nltk_data("punkt")
    with pytest.raises(ValueError, match="tinyshakespeare"):
        load_text("war_and_peace")


# The real packages and books, when the offline mirror is configured (CI and classrooms without internet).
MIRROR = os.environ.get("COURSE_DATA_MIRROR")  # read before the fixtures clear the course's variables
real_mirror = pytest.mark.skipif(not MIRROR, reason="no offline mirror configured")


@real_mirror
def test_the_recorded_checksums_match_the_mirror():
    mirror = Path(MIRROR)
    for archive, sha256 in NLTK_PACKAGES.values():
        assert sha256_of(mirror / "nltk_data" / archive) == sha256, archive
    for filename, _, sha256 in TEXTS.values():
        assert sha256_of(mirror / "text" / filename) == sha256, filename


@real_mirror
def test_nltk_finds_the_real_packages_in_the_staged_cache(cache, no_download, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", MIRROR)
    # Fresh lazy loaders, defined as in nltk.corpus (a loaded one stays bound to this test's temporary cache).
    stopwords = LazyCorpusLoader("stopwords", StopwordsCorpusReader, r"(?!README|\.).*", encoding="utf8")
    movie_reviews = LazyCorpusLoader("movie_reviews", CategorizedPlaintextCorpusReader, r"(?!\.).*\.txt",
                                     cat_pattern=r"(neg|pos)/.*", encoding="ascii")
    load_nltk_data("stopwords", "punkt_tab", "movie_reviews")
    assert sorted(p.name for p in (cache / "nltk_data").glob("*/*.zip")) == [
        "movie_reviews.zip", "punkt_tab.zip", "stopwords.zip"]
    assert str(cache) in str(nltk.data.find("corpora/stopwords/"))
    assert "the" in stopwords.words("english") and "и" in stopwords.words("russian")
    assert nltk.sent_tokenize("Мы встретились в 5 ч. утра. Было холодно!", language="russian") == [
        "Мы встретились в 5 ч. утра.", "Было холодно!"]
    assert nltk.word_tokenize("Mr. Smith doesn't pay $3.50.") == [
        "Mr.", "Smith", "does", "n't", "pay", "$", "3.50", "."]
    assert len(movie_reviews.fileids()) == 2000 and movie_reviews.categories() == ["neg", "pos"]


@real_mirror
def test_both_books_are_staged_and_decoded(cache, no_download, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", MIRROR)
    assert load_text("tinyshakespeare").startswith("First Citizen:")
    assert "Мой дядя самых честных правил" in load_text("pushkin_onegin_ru")
