"""Hostile and broken inputs, generated (never committed as binaries): each function writes one
file of a class an archive can hold and returns its path.

PDFs are written by hand (`raw_pdf`) so that they can say what no PDF library would write: page
trees that loop, absurd page boxes, images that decompress to gigapixels, actions that try to run
programs.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

GOOD_REPORT = (
    "BÁO CÁO\nKết quả thực hiện Đề án 06 tháng 3 năm 2024\n"
    "Thực hiện Kế hoạch số 10/KH-UBND ngày 25/01/2023 của UBND tỉnh, trong tháng đã tiếp nhận "
    "1.657.621 hồ sơ, đạt 85,29% so với kế hoạch.\n"
)


# -- PDFs -------------------------------------------------------------------------------------


def raw_pdf(path: Path, objects: list[bytes], root: int = 1, trailer_extra: bytes = b"") -> Path:
    """A PDF from numbered object bodies (object k is `objects[k-1]`), with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, trailer_extra, xref))
    path.write_bytes(out.getvalue())
    return path


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _text_page_objects(text: bytes, media_box: bytes = b"[0 0 595 842]") -> list[bytes]:
    content = b"BT /F1 12 Tf 72 770 Td (" + text + b") Tj ET"
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox " + media_box + b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        _stream(b"", content),
        _FONT,
    ]


def huge_mediabox_pdf(path: Path) -> Path:
    """A page 200 inches square (the largest PDF allows) with no text: gigapixels at 300 dpi."""
    objects = _text_page_objects(b"", media_box=b"[0 0 14400 14400]")
    objects[3] = _stream(b"", b"")
    return raw_pdf(path, objects)


def image_bomb_pdf(path: Path, filter_name: bytes = b"/FlateDecode") -> Path:
    """A page whose one image claims 60000 x 60000 pixels in a stream of a few hundred KB."""
    width = height = 60_000
    row = b"\x00" * (width // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    image = _stream(
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter %s"
        % (width, height, filter_name),
        data,
    )
    content = b"q 595 0 0 842 0 0 cm /Im1 Do Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
        _stream(b"", content),
        image,
    ]
    return raw_pdf(path, objects)


def page_tree_loop_pdf(path: Path) -> Path:
    """A page tree whose node lists itself (and its parent) among its kids."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [3 0 R 2 0 R] /Count 2 >>",
    ]
    return raw_pdf(path, objects)


def deep_nesting_pdf(path: Path, depth: int = 200_000) -> Path:
    """A page whose resources hold an array nested `depth` levels deep."""
    objects = _text_page_objects(b"Bao cao")
    objects[2] = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R /Deep " + b"[" * depth + b"]" * depth + b" >>"
    )
    return raw_pdf(path, objects)


def actions_pdf(path: Path, marker: Path) -> Path:
    """JavaScript on open and a launch action that would create `marker` if anything ran them."""
    objects = _text_page_objects(b"Bao cao so 10/BC-UBND")
    js = b"app.launchURL('file://" + str(marker).encode() + b"'); this.exportDataObject({cName: 'x', nLaunch: 2});"
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R /AA << /WC 7 0 R >> /Names << /JavaScript 8 0 R >> >>"
    objects.append(b"<< /S /JavaScript /JS (" + js + b") >>")
    objects.append(b"<< /S /Launch /F (/bin/sh) /Win << /F (cmd.exe) /P (/c echo x > " + str(marker).encode() + b") >> >>")
    objects.append(b"<< /Names [(a) 6 0 R] >>")
    return raw_pdf(path, objects)


def many_pages_pdf(path: Path, pages: int) -> Path:
    """`pages` pages that share one content stream (small however many pages)."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        _stream(b"", b"BT /F1 12 Tf 72 770 Td (Trang bao cao) Tj ET"),
        _FONT,
    ]
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 3 0 R >>"
        )
    return raw_pdf(path, objects)


# -- images -----------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bilevel_png(width: int, height: int, extra_chunks: bytes = b"") -> bytes:
    """A white 1-bit PNG of any size, written row by row (a 20000 x 20000 canvas is ~75 KB)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra_chunks + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
    )


def png_canvas_bomb(path: Path) -> Path:
    path.write_bytes(bilevel_png(20_000, 20_000))
    return path


def png_metadata_bomb(path: Path, chunk: bytes = b"zTXt") -> Path:
    """A small picture with a metadata chunk (zTXt or iCCP) that inflates to 50 MB."""
    payload = zlib.compress(b"A" * 50_000_000, 9)
    body = (b"Comment\x00\x00" if chunk == b"zTXt" else b"icc\x00\x00") + payload
    path.write_bytes(bilevel_png(400, 300, _chunk(chunk, body)))
    return path


def tiff_pages(path: Path, pages: int) -> Path:
    from PIL import Image

    frames = [Image.new("1", (64, 64), 1) for _ in range(pages)]
    frames[0].save(path, format="TIFF", save_all=True, append_images=frames[1:])
    return path


def tiff_ifd_loop(path: Path) -> Path:
    """A two-page TIFF whose second IFD points back at the first."""
    tiff_pages(path, 2)
    data = bytearray(path.read_bytes())
    little = data[:2] == b"II"
    fmt = "<" if little else ">"
    first = struct.unpack(fmt + "I", data[4:8])[0]
    count = struct.unpack(fmt + "H", data[first : first + 2])[0]
    second = struct.unpack(fmt + "I", data[first + 2 + 12 * count : first + 6 + 12 * count])[0]
    count2 = struct.unpack(fmt + "H", data[second : second + 2])[0]
    at = second + 2 + 12 * count2
    data[at : at + 4] = struct.pack(fmt + "I", first)
    path.write_bytes(bytes(data))
    return path


def jpeg_with_exif(path: Path, exif: bytes) -> Path:
    """A small JPEG page carrying the raw EXIF block `exif` (broken, or with an orientation)."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (400, 200), 255)
    ImageDraw.Draw(image).text((10, 10), "Bao cao", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    data = buffer.getvalue()
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    path.write_bytes(data[:2] + app1 + data[2:])
    return path


def exif_rotated() -> bytes:
    """EXIF with Orientation = 6 (rotate 90°)."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, 6) + struct.pack("<I", 0)
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd


def exif_broken() -> bytes:
    """EXIF whose IFD claims 60000 entries and points past its end."""
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 60000) + b"\xff" * 20


# -- DOCX -------------------------------------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_with_document_xml(path: Path, document_xml: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("word/document.xml", document_xml)
    return path


def _body(text: str) -> bytes:
    return f'<w:document xmlns:w="{_W}"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'.encode()


def docx_zip_bomb(path: Path, size: int = 200_000_000) -> Path:
    """word/document.xml inflates to `size` bytes (a comment of spaces) from ~1.5 MB."""
    head = f'<?xml version="1.0"?><w:document xmlns:w="{_W}"><!--'.encode()
    tail = b"--><w:body/></w:document>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        with z.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(head)
            block = b" " * (1 << 20)
            for _ in range(size // len(block)):
                member.write(block)
            member.write(tail)
    return path


def docx_billion_laughs(path: Path) -> Path:
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    xml = f'<?xml version="1.0"?><!DOCTYPE w:document [{entities}]>'.encode() + _body("&lol9;")
    return docx_with_document_xml(path, xml)


def docx_external_entity(path: Path, target: str = "/etc/hostname") -> Path:
    xml = f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{target}">]>'.encode() + _body("&xxe;")
    return docx_with_document_xml(path, xml)


def odt_named_docx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", "<office:document-content/>")
    return path


def ole_named_docx(path: Path) -> Path:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096)
    return path


# -- text -------------------------------------------------------------------------------------


def runaway_reference_line(path: Path, size: int = 1_100_000) -> Path:
    """One line of repeated reference-like strings (the file that once took 20 GB)."""
    unit = "Công văn số " + "/".join(["1"] * 30) + "/KH-KH-KH-KH-KH ngày " + "/".join(["1"] * 20) + " "
    path.write_text((unit * (size // len(unit) + 1))[:size], encoding="utf-8")
    return path


def digit_chain_line(path: Path, separator: str = ".", size: int = 2_000_000) -> Path:
    path.write_text(separator.join(["1"] * (size // 2)), encoding="utf-8")
    return path


def many_short_lines(path: Path, lines: int = 50_000) -> Path:
    path.write_text("".join(f"{i % 97} hồ sơ\n" for i in range(lines)), encoding="utf-8")
    return path


def nul_bytes_text(path: Path) -> Path:
    path.write_bytes(GOOD_REPORT.encode("utf-8").replace(b"10/KH", b"10/K\x00H") + b"\x00" * 100)
    return path


def docx_deep_nesting(path: Path, depth: int = 300) -> Path:
    """Tables nested `depth` levels deep, as a generated form might."""
    inner = "<w:p><w:r><w:t>x</w:t></w:r></w:p>"
    for _ in range(depth):
        inner = f"<w:tbl><w:tr><w:tc>{inner}</w:tc></w:tr></w:tbl><w:p/>"
    xml = f'<w:document xmlns:w="{_W}"><w:body>{inner}</w:body></w:document>'.encode()
    return docx_with_document_xml(path, xml)
