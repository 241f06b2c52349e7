"""Build figures.jsonl for the h1 part: tokenise every in-scope line, classify each number by
rules written after reading both documents line by line, then apply per-token overrides.
Reads the corpus files only; writes figures.jsonl next to this script."""
import json, re, sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = Path("/work/shared/corpus-real/text")
if not CORPUS.exists():
    CORPUS = Path("/work/main/../shared/corpus-real/text")
DOCS = ["21c5e5f284e66d03.txt", "c2bf5a06388200a0.txt"]

TOK = re.compile(
    r"(?P<docnum>\d+/\d{4}/[A-ZĐ][A-Za-zĐ0-9\-]*)"
    r"|(?P<unit100>100 m3)"
    r"|(?P<frac>\d+/\d+)"
    r"|(?P<pct>\d+(?:,\d+)?\s?%)"
    r"|(?P<num>\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?)"
)


def in_scope(line):
    return not line.lstrip().startswith("|") and "\t" not in line


def parse_num(s):
    s = s.replace("%", "").strip()
    return float(s.replace(".", "").replace(",", "."))


def classify(doc, ln, line, prevline, m):
    text = m.group(0)
    s, e = m.span()
    before = (prevline + "\n" + line[:s]).replace("*", "")
    after = (line[e:]).replace("*", "")
    b = before.rstrip().lower()
    a = after.lstrip().lower()
    rec = {}
    if m.group("docnum"):
        return dict(cls="not_figure", subtype="doc_number")
    if m.group("unit100"):
        return dict(cls="not_figure", subtype="unit",
                    note="per-unit denominator of the money rate \"đồng/100 m3\" (part of the unit)")
    if m.group("frac"):
        return dict(cls="not_figure", subtype="constant",
                    note="fraction of the growth period/harvest cycle that bounds a crop stage, an eligibility threshold like the age thresholds in FIGURES.md, not a measured ratio")
    if m.group("pct"):
        v = parse_num(text)
        thr = (re.search(r"(trên|từ|từ trên|dưới|đến)$", b) is not None) or a.startswith("trở xuống")
        return dict(cls="figure", kind="percent", value=v, unit="%", role="threshold" if thr else "norm")
    # plain numbers
    if re.search(r"(^|\n)\s*(#+\s*)?$", before) and after.startswith(".") :
        pass
    # section numbers
    if re.search(r"điều$", b) or re.search(r"khoản$", b) or re.search(r"khoản (\d+, ?)*\d+,$", b) \
            or a.startswith("điều") :
        return dict(cls="not_figure", subtype="section")
    if re.search(r"ngày$", b):
        return dict(cls="not_figure", subtype="date")
    if re.search(r"tháng$", b):
        return dict(cls="not_figure", subtype="date")
    if re.search(r"năm$", b) and len(text) == 4:
        return dict(cls="not_figure", subtype="year")
    if re.match(r"(ngày|tháng|năm) tuổi", a):
        return dict(cls="not_figure", subtype="constant",
                    note="age threshold of animals/seedlings (eligibility bracket), a constant as in FIGURES.md (\"dưới 6 tuổi\")")
    if re.match(r"(tỷ|triệu)\s+đồng|(tỷ|triệu)$", a) or (re.match(r"(tỷ|triệu)$", a.strip())):
        scale = 1e9 if a.startswith("tỷ") else 1e6
        v = parse_num(text)
        return dict(cls="figure", kind="money", value=v, unit="đồng", scale=scale, value_abs=v * scale,
                    role="threshold")
    if re.match(r"đồng", a):
        v = parse_num(text)
        per = re.match(r"đồng/(ha|con|đàn|100 m3)", a)
        r = dict(cls="figure", kind="money", value=v, unit="đồng", role="norm")
        if per:
            r["per"] = per.group(1)
        return r
    if b.endswith("/"):
        return dict(cls="not_figure", subtype="unit",
                    note="\"/01 đơn vị tài sản\": per-unit denominator of the money threshold (\"… đồng/01 đơn vị tài sản\"), part of the unit, not a count")
    return dict(cls="UNKNOWN")


def build():
    out = []
    for doc in DOCS:
        lines = (CORPUS / doc).read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines, 1):
            if not in_scope(line) or not re.search(r"\d", line):
                continue
            prev = lines[i - 2] if i > 1 else ""
            for m in TOK.finditer(line):
                s, e = m.span()
                text = m.group(0)
                # list/heading numbering "1." at line start or "Điều 1." in a heading
                if m.group("num") and line[e:e + 2] in (". ",) and (
                        re.fullmatch(r"\s*", line[:s]) or re.search(r"Điều $", line[:s])):
                    if re.fullmatch(r"\s*", line[:s]) or re.match(r"\s*(#+\s*|\*\*)?Điều $", line[:s]):
                        e += 1
                        text = line[s:e]
                        out.append(dict(doc=doc, line=i, start=s, end=e, text=text, cls="not_figure",
                                        subtype="section"))
                        continue
                c = classify(doc, i, line, prev, m)
                out.append(dict(doc=doc, line=i, start=s, end=e, text=text, **c))
    return out


STAGE = dict(cls="not_figure", subtype="constant",
             note="crop-stage boundary in days after sowing (eligibility bracket of the support level), treated like the age thresholds of FIGURES.md, not a measured quantity")
OVERRIDES = {  # (doc prefix, line, start) -> fields to set, decided while reading
    ("21c5", 70, 18): STAGE, ("21c5", 70, 25): STAGE, ("21c5", 72, 23): STAGE, ("21c5", 72, 35): STAGE,
    ("21c5", 74, 20): STAGE,
    ("21c5", 224, 177): dict(cls="ambiguous", kind="count", value=1.5, unit="lần", role="threshold",
                             note="\"không vượt quá 1,5 lần\": a cap expressed as a multiplier of the national support levels; not a count, percent or X/Y ratio, and not a measured statistic; if read as a figure it is a threshold multiplier 1.5"),
    ("21c5", 261, 15): dict(cls="not_figure", subtype="copies",
                            note="\"Lưu: VT, NN (2)\": number of archived copies in the distribution block (boilerplate)"),
}


def finalize(recs):
    res = []
    for r in recs:
        key = (r["doc"][:4], r["line"], r["start"])
        if key in OVERRIDES:
            r.update(OVERRIDES[key])
        o = {"doc": r["doc"], "line": r["line"], "start": r["start"], "end": r["end"], "text": r["text"],
             "class": r["cls"]}
        if r["cls"] in ("figure", "ambiguous"):
            o["value"] = float(r["value"])
            if "scale" in r:
                o["scale"] = r["scale"]
                o["value_abs"] = float(r["value_abs"])
            o["kind"] = r["kind"]
            if r["kind"] == "ratio":
                o["numerator"] = r["numerator"]; o["denominator"] = r["denominator"]
            o["unit"] = r.get("unit")
            if "per" in r:
                o["per"] = r["per"]
            o["role"] = r["role"]
        else:
            o["subtype"] = r.get("subtype")
        if r.get("note"):
            o["note"] = r["note"]
        res.append(o)
    res.sort(key=lambda o: (o["doc"], o["line"], o["start"]))
    return res


if __name__ == "__main__":
    recs = finalize(build())
    if "-p" in sys.argv:
        for o in recs:
            extra = {k: v for k, v in o.items() if k not in ("doc", "line", "start", "end", "text", "class", "note")}
            print(f"{o['doc'][:4]}:{o['line']}:{o['start']} {o['text']!r} {o['class']} {extra}")
    else:
        (HERE / "figures.jsonl").write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in recs),
                                            encoding="utf-8")
        print(len(recs), "records")
