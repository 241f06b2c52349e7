"""Stage "ingest": triage a path (sniff, hash, reject with a reason) and read it into a `DocText`."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from pipeline.errors import EmptyFileError, TooLargeError, UnsupportedFormatError
from pipeline.types import InputFile

SUFFIX_KINDS = {
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
    ".text": "text",
    ".pdf": "pdf",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
    ".docx": "docx",
}
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


def sniff(head: bytes, suffix: str) -> str:
    """The container kind from the first bytes (magic numbers win over the file name)."""
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff"):
        return "image"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image"
    if head.startswith(b"PK\x03\x04"):
        return "docx" if suffix in (".docx", "") else "unknown"  # other zips (.xlsx, .zip) are no reports
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"  # legacy .doc/.xls: not supported
    return SUFFIX_KINDS.get(suffix, "text" if suffix == "" else "unknown")


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it, else as given; bytes
    that are no UTF-8 are shown as `\\xff` escapes, so every output cell is valid text."""
    try:
        shown = str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, RuntimeError, OSError):  # outside the working directory, or a link loop
        shown = str(path)
    return printable(shown)


def printable(name: str) -> str:
    """A file name as text: undecodable bytes (kept by Python as surrogates) become `\\xNN`."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def triage(path: str | Path, max_bytes: int | None = None) -> InputFile:
    """Hash and sniff one file. Raises an `InputFileError` for files that cannot be a report,
    after the hash is known (callers report the failure under the file's doc_id)."""
    p = Path(path)
    digest = hashlib.sha256()
    size = 0
    head = b""
    # O_NONBLOCK: a path swapped for a FIFO after listing must not hang the run.
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise OSError(errno.EINVAL, _not_regular(p, mode) or "not a regular file")
    with os.fdopen(fd, "rb") as fh:
        while chunk := fh.read(1 << 20):
            if not head:
                head = chunk[:4096]
            digest.update(chunk)
            size += len(chunk)
    return InputFile(
        path=str(p.resolve()),
        source=display_path(p),
        sha256=digest.hexdigest(),
        size=size,
        kind=sniff(head, p.suffix.lower()),
    )


def snapshot(input_file: InputFile, folder: Path) -> InputFile:
    """A private copy of the input's bytes, hashed as they are copied: the workers parse exactly
    the bytes whose hash keys the cache and the ids, even if the original is replaced mid-run."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{input_file.sha256[:16]}{Path(input_file.path).suffix.lower()[:10]}"
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd = os.open(input_file.path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as source, target.open("wb") as copy:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise OSError(errno.EINVAL, "the file was replaced by something that is not a regular file")
        while chunk := source.read(1 << 20):
            if not head:
                head = chunk[:4096]
            digest.update(chunk)
            size += len(chunk)
            copy.write(chunk)
    return InputFile(
        path=str(target),
        source=input_file.source,
        sha256=digest.hexdigest(),
        size=size,
        kind=sniff(head, Path(input_file.path).suffix.lower()),
    )


def check_page_count(count: int, max_pages: int, what: str) -> None:
    """Refuse a file with more pages than `--max-pages` before any page is read."""
    if count > max_pages:
        raise TooLargeError(
            f"the {what} has {count} pages, over the limit of {max_pages}; split it, or raise the "
            "limit with --max-pages"
        )


def check_acceptable(input_file: InputFile, max_bytes: int) -> None:
    """Reject empty, oversized and unsupported inputs with a message a person can act on."""
    if input_file.size == 0:
        raise EmptyFileError("the file is empty (0 bytes); re-export or re-scan it")
    if input_file.size > max_bytes:
        raise TooLargeError(
            f"the file is {input_file.size / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB limit; "
            "split it or check that it is really a report"
        )
    if input_file.kind == "ole":
        raise UnsupportedFormatError(
            "legacy Word/Excel (.doc/.xls) files are not supported; save it as .docx or PDF"
        )
    if input_file.kind == "unknown":
        suffix = Path(input_file.path).suffix or "(no extension)"
        raise UnsupportedFormatError(
            f"unsupported file type {suffix}; de06 reads .txt/.md, .pdf, .docx, .png/.jpg/.tif"
        )


def _not_regular(path: Path, mode: int) -> str | None:
    """Why a path that is no regular file is not read (never opened: a FIFO would block)."""
    if stat.S_ISREG(mode):
        return None
    kinds = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device")]
    what = next((name for test, name in kinds if test(mode)), "not a regular file")
    return f"skipped: {what}, not a document file"


def expand_inputs(
    inputs: list[str], follow_links: bool = False, exclude: Path | None = None
) -> tuple[list[Path], list[str], list[tuple[str, str]]]:
    """Files named and files found (recursively, sorted) in folders named; inputs not found; and
    paths that were found but cannot be read as files, each with the reason (FIFOs, sockets and
    devices, broken or looping links, folders that cannot be listed). Links to folders are not
    followed (a link loop would never end); a link found in a folder that leads outside it is
    listed, not read, unless `follow_links` (a dropped link must not publish `/etc/…`). The folder
    `exclude` (the run's own output folder) is never walked into."""
    excluded = exclude.resolve() if exclude is not None else None
    files: list[Path] = []
    missing: list[str] = []
    skipped: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def listing_error(error: OSError) -> None:
        skipped.append((str(error.filename or "?"), f"skipped: the folder cannot be listed ({error.strerror or error})"))

    def consider(c: Path, tree: Path | None = None) -> None:
        if tree is not None and not follow_links and c.is_symlink():
            try:
                target = c.resolve(strict=True)
            except (OSError, RuntimeError):
                target = None  # broken or looping: reported below
            if target is not None and not target.is_relative_to(tree):
                skipped.append((str(c), "skipped: a link that leads outside the input folder (--follow-links reads it)"))
                return
        try:
            mode = c.stat().st_mode
        except OSError as e:
            reason = "a link that loops" if e.errno == errno.ELOOP else "a broken link" if c.is_symlink() else None
            skipped.append((str(c), f"skipped: {reason or 'cannot be read'} ({e.strerror or e})"))
            return
        if stat.S_ISDIR(mode):
            return  # a link to a folder inside a walked tree: not followed
        problem = _not_regular(c, mode)
        if problem:
            skipped.append((str(c), problem))
            return
        key = c.resolve()
        if key not in seen:
            seen.add(key)
            files.append(c)

    for given in inputs:
        p = Path(given)
        if p.is_dir():
            tree = p.resolve()
            for root, dirs, names in os.walk(p, onerror=listing_error):
                dirs[:] = sorted(
                    d for d in dirs if not d.startswith(".") and (Path(root) / d).resolve() != excluded
                )
                for name in sorted(names):
                    if name.startswith(".") or name in IGNORED_NAMES or name.startswith("~$"):
                        continue
                    consider(Path(root) / name, tree)
        elif p.exists() or p.is_symlink():
            consider(p)
        else:
            missing.append(given)
    return files, missing, skipped
