#!/usr/bin/env python3
"""Generate the RxNorm-derived KetamineCds terminology artifacts (stdlib only).

Reads the RxNorm product CSVs (default ../shared/reference/rxnorm relative to the repository root)
and the hand-authored ingredient CodeSystem, and writes, deterministically:

  fhir-profiles/terminology/CodeSystem-rxnorm-product-ingredients.json
  fhir-profiles/terminology/ValueSet-benzodiazepine-medications.json
  fhir-profiles/terminology/ValueSet-lamotrigine-medications.json
  fhir-profiles/terminology/ValueSet-z-drug-medications.json
  fhir-profiles/terminology/ValueSet-ketamine-esketamine-medications.json

and, from the SNOMED CT tables beside them (RXNORM_CSV_DIR/../snomed: substances.csv, products.csv) and the ATC
line of the reference README (RXNORM_CSV_DIR/../README.md):

  fhir-profiles/terminology/ConceptMap-medication-codes-to-ketamine-cds-ingredient.json
      SNOMED CT substance concepts and WHO ATC codes -> KetamineCds ingredient
  fhir-profiles/terminology/CodeSystem-snomed-product-ingredients.json
      supplement of SNOMED CT: per medicinal-product concept its ingredient, strength, dose form and route

Usage (from the repository root):
  python3 fhir-profiles/tools/generate_terminology.py [RXNORM_CSV_DIR]

The script fails (exit code 1) if any CSV row cannot be given an ingredient from the ingredient CodeSystem.
"""
import csv
import json
import os
import re
import sys
from collections import Counter, OrderedDict
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
PROFILES = os.path.dirname(HERE)
REPO_ROOT = os.path.dirname(PROFILES)
TERMINOLOGY = os.path.join(PROFILES, "terminology")
INGREDIENT_CS = os.path.join(TERMINOLOGY, "CodeSystem-ketamine-cds-ingredient.json")

BASE = "http://ketaminecds.org/fhir"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CITATION = "http://hl7.org/fhir/StructureDefinition/cqf-citation"
DATE = "2026-11-26"
VERSION = "1.0.0"

BENZO_CSV = "benzodiazepine-medications-scd-sbd.csv"
LAMO_Z_CSV = "lamotrigine-zdrug-scd-sbd.csv"
EXCLUDED_INGREDIENTS = {"phenytoin"}  # by the CSV ingredient column only (never by display text)

CDC_BENZO = ("CDC Opioid CDS value set 'Benzodiazepine medications' (OID 2.16.840.1.114222.48.4), "
             "cqframework/opioid-cds-r4 input/vocabulary/valueset/benzodiazepine-medications.json, expansion 2025-02-24")
CDC_CNS = ("CDC Opioid CDS value set 'non-opioid CNS depressant medications' (archived), "
           "cqframework/opioid-cds-r4 archive/input/vocabulary/valueset/archive/non-opioid-cns-depressant-medications.json, 2023-05-25")
REFERENCE = "KetamineCds reference README (shared/reference/README.md): RxNorm ingredient (IN) and esketamine dose-form-group (SCDF/SBDF) codes"

# Displays of ingredient-level / dose-form-group codes. IN displays are the ingredient name (taken from the
# ingredient CodeSystem); the two esketamine dose-form-group displays come from the reference README
# ("SCDF 2201623 and SBDF 2201625 ('esketamine Nasal Spray [Spravato]')").
DOSE_FORM_GROUP_DISPLAYS = {
    "2201623": "esketamine Nasal Spray",
    "2201625": "esketamine Nasal Spray [Spravato]",
}

# Dose form (text after the strength in an RxNorm display) -> (route, strength kind).
# strength kind: "unit" = MG per tablet/capsule/film/suppository; "per-ml" = MG/ML; None = never read a strength.
DOSE_FORMS = {
    "Oral Tablet": ("oral", "unit"),
    "Oral Capsule": ("oral", "unit"),
    "Extended Release Oral Tablet": ("oral", "unit"),
    "Extended Release Oral Capsule": ("oral", "unit"),
    "Disintegrating Oral Tablet": ("oral", "unit"),
    "Chewable Tablet": ("oral", "unit"),
    "Oral Film": ("oral", "unit"),
    "Sublingual Tablet": ("sublingual", "unit"),
    "Buccal Film": ("buccal", "unit"),
    "Rectal Suppository": ("rectal", "unit"),
    "Oral Solution": ("oral", "per-ml"),
    "Oral Suspension": ("oral", "per-ml"),
    "Oral Concentrate": ("oral", "per-ml"),
    "Oral Spray": ("oral", None),          # MG/ACTUAT: neither per unit nor per mL -> no strength
    "Nasal Spray": ("nasal", "per-ml"),
    "Rectal Gel": ("rectal", "per-ml"),
    "Enema": ("rectal", "per-ml"),
    "Injection": ("parenteral", "per-ml"),
    "Injectable Solution": ("parenteral", "per-ml"),
    "Injectable Suspension": ("parenteral", "per-ml"),
    "Cartridge": ("parenteral", "per-ml"),
    "Prefilled Syringe": ("parenteral", "per-ml"),
    "Auto-Injector": ("parenteral", "per-ml"),
}

CLASS_VALUESETS = OrderedDict([
    ("benzodiazepine", ("benzodiazepine-medications", "Benzodiazepine medications")),
    ("lamotrigine", ("lamotrigine-medications", "Lamotrigine medications")),
    ("z-drug", ("z-drug-medications", "Z-drug medications")),
    ("ketamine", ("ketamine-esketamine-medications", "Ketamine and esketamine medications")),
])

# "<name> <number> <unit>" inside one drug component, e.g. "chlordiazepoxide hydrochloride 5 MG"
COMPONENT_RE = re.compile(r"^(?P<name>[a-z][a-z \-]*?) (?P<num>\d+(?:\.\d+)?) (?P<unit>MG/ML|MG/ACTUAT|MG)$")
QTY_PREFIX_RE = re.compile(r"^(?:\d+(?:\.\d+)? (?:ML|HR) )+")
BRAND_RE = re.compile(r"\s*\[[^\]]*\]\s*$")


def number(text):
    """Decimal from the display text, as int when integral (so JSON shows 2, not 2.0)."""
    return int(text) if "." not in text else float(text)


def load_ingredients():
    with open(INGREDIENT_CS, encoding="utf-8") as f:
        cs = json.load(f)
    ingredients = OrderedDict()
    for c in cs["concept"]:
        props = c.get("property", [])
        cls = [p["valueCode"] for p in props if p["code"] == "drug-class"][0]
        rx = [p["valueString"] for p in props if p["code"] == "rxnorm"]
        ingredients[c["code"]] = {"class": cls, "rxnorm": rx, "display": c["display"]}
    return ingredients


def read_rows(csv_dir):
    rows, excluded = [], []
    for fname in (BENZO_CSV, LAMO_Z_CSV):
        with open(os.path.join(csv_dir, fname), encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                col = (r.get("ingredient") or "").strip().lower()
                if col in EXCLUDED_INGREDIENTS:
                    excluded.append((fname, r["rxcui"], r["display"]))
                    continue
                rows.append({"file": fname, "rxcui": r["rxcui"].strip(), "display": r["display"].strip(), "ingredient_col": col})
    return rows, excluded


def parse_simple(display):
    """Parse a non-pack display -> (components [(name, num, unit)], dose_form) or None."""
    text = BRAND_RE.sub("", display)
    text = QTY_PREFIX_RE.sub("", text)
    parts = text.split(" / ")
    comps = []
    dose_form = None
    for i, part in enumerate(parts):
        if i == len(parts) - 1:
            m = re.match(r"^(.*? (?:MG/ML|MG/ACTUAT|MG)) (.+)$", part)
            if not m:
                return None
            part, dose_form = m.group(1), m.group(2)
        m = COMPONENT_RE.match(part)
        if not m:
            return None
        comps.append((m.group("name"), m.group("num"), m.group("unit")))
    return comps, dose_form


def base_name(name, ingredients):
    """Ingredient code named by a component substance name ('clorazepate dipotassium' -> 'clorazepate'), else None."""
    for word in name.split():
        if word in ingredients:
            return word
    return None


def classify(row, ingredients):
    display = row["display"]
    props = OrderedDict()
    if display.startswith("{"):
        # Pack: read the inner products for ingredient and route; no strength (pack contents vary).
        inner = re.findall(r"\(([^()]*?(?:\[[^\]]*\])?)\)", display)
        inner = [s for s in inner if re.search(r"\d (MG|MG/ML|MG/ACTUAT) ", s)]
        parsed = [parse_simple(s) for s in inner]
        if not parsed or any(p is None for p in parsed):
            return None, "pack contents unreadable"
        names = {base_name(c[0], ingredients) for p in parsed for c in p[0]}
        routes = {DOSE_FORMS.get(p[1], ("other", None))[0] for p in parsed}
        all_names = {c[0] for p in parsed for c in p[0]}
        ingr = [n for n in names if n]
        if len(ingr) != 1:
            return None, "pack names %r" % sorted(all_names)
        props["ingredient"] = ingr[0]
        props["dose-form"] = "Pack"
        props["route"] = routes.pop() if len(routes) == 1 else "other"
        props["combination"] = len({base_name(n, ingredients) or n for n in all_names}) > 1
        props["_strength"] = "omitted (pack)"
        return props, None

    parsed = parse_simple(display)
    if parsed is None:
        return None, "display unreadable"
    comps, dose_form = parsed
    matches = [(c, base_name(c[0], ingredients)) for c in comps]
    known = [(c, n) for c, n in matches if n]
    if row["ingredient_col"]:
        known = [(c, n) for c, n in known if n == row["ingredient_col"]]
    else:
        known = [(c, n) for c, n in known if ingredients[n]["class"] == "benzodiazepine"]
    if len(known) != 1:
        return None, "ingredient match %r" % [n for _, n in matches]
    (name, num, unit), ingr = known[0]
    route, kind = DOSE_FORMS.get(dose_form, ("other", None))
    props["ingredient"] = ingr
    if kind == "unit" and unit == "MG":
        props["strength-mg"] = number(num)
    elif kind == "per-ml" and unit == "MG/ML":
        props["strength-mg-per-ml"] = number(num)
    else:
        props["_strength"] = "omitted (%s %s)" % (unit, dose_form)
    props["dose-form"] = dose_form
    props["route"] = route
    props["combination"] = len({base_name(c[0], ingredients) or c[0] for c in comps}) > 1
    return props, None


def cite(*texts):
    return [{"url": CITATION, "valueString": t} for t in texts]


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def product_codesystem(products, excluded, omitted_strength):
    concepts = []
    for p in sorted(products, key=lambda x: int(x["rxcui"])):
        props = [{"code": "ingredient", "valueCode": p["props"]["ingredient"]}]
        if "strength-mg" in p["props"]:
            props.append({"code": "strength-mg", "valueDecimal": p["props"]["strength-mg"]})
        if "strength-mg-per-ml" in p["props"]:
            props.append({"code": "strength-mg-per-ml", "valueDecimal": p["props"]["strength-mg-per-ml"]})
        props.append({"code": "dose-form", "valueString": p["props"]["dose-form"]})
        props.append({"code": "route", "valueCode": p["props"]["route"]})
        props.append({"code": "combination", "valueBoolean": p["props"]["combination"]})
        concepts.append({"code": p["rxcui"], "display": p["display"], "property": props})
    excl_note = ("Rows whose CSV ingredient column is Phenytoin are excluded (%d such rows in this build); lamotrigine titration packs whose "
                 "names merely mention phenytoin are kept." % len(excluded))
    return OrderedDict([
        ("resourceType", "CodeSystem"),
        ("id", "rxnorm-product-ingredients"),
        ("extension", cite(CDC_BENZO, CDC_CNS)),
        ("url", BASE + "/CodeSystem/rxnorm-product-ingredients"),
        ("version", VERSION),
        ("name", "RxnormProductIngredients"),
        ("title", "RxNorm product ingredients and strengths (KetamineCds supplement)"),
        ("status", "active"),
        ("date", DATE),
        ("publisher", "KetamineCds"),
        ("description", (
            "GENERATED by fhir-profiles/tools/generate_terminology.py - do not edit by hand. Supplement to RxNorm giving, for each RxNorm "
            "product code (SCD/SBD/pack) in the source CSVs, the KetamineCds ingredient (a code of CodeSystem ketamine-cds-ingredient; for a "
            "combination product the benzodiazepine component), the labelled strength read from the RxNorm display, the dose form, the route and "
            "whether the product combines ingredients. Sources: " + CDC_BENZO + "; " + CDC_CNS + ". " + excl_note + " Strength is omitted "
            "for packs and wherever it cannot be read unambiguously (%d products, e.g. MG/ACTUAT oral spray, MG-per-vial injection); those keep "
            "ingredient, dose form and route. Strength is the labelled strength exactly as in the display and, for salts (clorazepate dipotassium, "
            "chlordiazepoxide hydrochloride, flurazepam hydrochloride, zolpidem tartrate), refers to the salt. No ketamine or esketamine product "
            "codes are in the sources." % len(omitted_strength))),
        ("caseSensitive", True),
        ("content", "supplement"),
        ("supplements", RXNORM),
        ("count", len(concepts)),
        ("property", [
            {"code": "ingredient", "description": "KetamineCds ingredient code (CodeSystem ketamine-cds-ingredient) of the product; for a combination product the benzodiazepine component.", "type": "code"},
            {"code": "strength-mg", "description": "mg of the ingredient per tablet/capsule/film/suppository (solid and unit forms).", "type": "decimal"},
            {"code": "strength-mg-per-ml", "description": "mg of the ingredient per mL (solutions, suspensions, concentrates, injections, sprays, gels, enemas).", "type": "decimal"},
            {"code": "dose-form", "description": "RxNorm dose form as written in the display (e.g. 'Oral Tablet', 'Nasal Spray'); 'Pack' for packs.", "type": "string"},
            {"code": "route", "description": "oral | sublingual | nasal | rectal | parenteral | buccal | transdermal | other", "type": "code"},
            {"code": "combination", "description": "true when the display names more than one ingredient.", "type": "boolean"},
        ]),
        ("concept", concepts),
    ])


def valueset(cls, ingredients, products):
    vs_id, title = CLASS_VALUESETS[cls]
    concepts = {}
    for code, ing in ingredients.items():
        if ing["class"] != cls:
            continue
        for rx in ing["rxnorm"]:
            concepts[rx] = DOSE_FORM_GROUP_DISPLAYS.get(rx, ing["display"])
    n_ing = len(concepts)
    n_prod = 0
    for p in products:
        if ingredients[p["props"]["ingredient"]]["class"] == cls:
            concepts[p["rxcui"]] = p["display"]
            n_prod += 1
    if cls == "benzodiazepine":
        desc = ("Benzodiazepine medications for the KetamineCds benzodiazepine rules: the RxNorm ingredient (IN) codes of the benzodiazepines "
                "from the KetamineCds reference README (added to the CDC set, which lists products only) plus every product code of the " + CDC_BENZO +
                ". Note that the CDC set includes midazolam and remimazolam (procedural/parenteral benzodiazepines) and several benzodiazepines not "
                "marketed in the US (bromazepam, flunitrazepam, halazepam, lormetazepam, nitrazepam, prazepam); none of these has an oral lorazepam "
                "equivalence in KetamineCds. Clorazepate, quazepam and remimazolam have no ingredient code in the reference and are covered by "
                "product codes and names only.")
        cites = [CDC_BENZO, REFERENCE]
    elif cls == "lamotrigine":
        desc = ("Lamotrigine medications: RxNorm ingredient code 28439 (KetamineCds reference README) plus the lamotrigine product codes of the " + CDC_CNS + ".")
        cites = [CDC_CNS, REFERENCE]
    elif cls == "z-drug":
        desc = ("Z-drug (non-benzodiazepine hypnotic) medications: the RxNorm ingredient codes of zolpidem (39993) and zaleplon (74667) from the "
                "KetamineCds reference README plus the zolpidem, zaleplon and eszopiclone product codes of the " + CDC_CNS + ". Eszopiclone and "
                "zopiclone have no ingredient code in the reference; zopiclone has no product code there either and is recognised by name only.")
        cites = [CDC_CNS, REFERENCE]
    else:
        desc = ("Ketamine and esketamine: only RxNorm 6130 (ketamine, IN), 2201623 (esketamine Nasal Spray, SCDF) and 2201625 (esketamine Nasal "
                "Spray [Spravato], SBDF) from the KetamineCds reference README. No ketamine or esketamine product codes are in the reference, so "
                "recognition of other ketamine/esketamine products relies on names (CodeSystem ketamine-cds-ingredient designations).")
        cites = [REFERENCE]
    desc = "GENERATED by fhir-profiles/tools/generate_terminology.py - do not edit by hand. " + desc
    vs = OrderedDict([
        ("resourceType", "ValueSet"),
        ("id", vs_id),
        ("extension", cite(*cites)),
        ("url", BASE + "/ValueSet/" + vs_id),
        ("version", VERSION),
        ("name", "".join(w.capitalize() for w in vs_id.split("-"))),
        ("title", title),
        ("status", "active"),
        ("date", DATE),
        ("publisher", "KetamineCds"),
        ("description", desc),
        ("compose", {"include": [{
            "system": RXNORM,
            "concept": [{"code": c, "display": concepts[c]} for c in sorted(concepts, key=int)],
        }]}),
    ])
    return vs, n_ing, n_prod


# ---------------------------------------------------------------------------------------------------------------------
# SNOMED CT and ATC
# ---------------------------------------------------------------------------------------------------------------------
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
CONCEPTMAP_ID = "medication-codes-to-ketamine-cds-ingredient"

SNOMED_SOURCES = (
    "KetamineCds reference shared/reference/snomed/substances.csv and NOTES.md: SNOMED CT substance concept ids, each with its "
    "sources (Swiss EPR value set ActivePharmaceuticalIngredient OID 2.16.756.5.30.1.1.11.82 v2023 via project-husky/husky; KBV MIO "
    "Patient Summary ConceptMaps via kassenaerztliche-bundesvereinigung/MIOParser; GM-SDE UK SNOMED code sets of the University of "
    "Manchester, UoM-Data-Science-Platforms/gm-sde commit 6cf10afc; DICOM PS3.16 CID 625/66; HL7 FHIR examples med0313/med0314; "
    "SNOMED International snomed-fhir-cds-service Snomed_Substance_DDDs.tsv; wardle/hermes docs) and a confidence")
SNOMED_PRODUCT_SOURCES = (
    "KetamineCds reference shared/reference/snomed/products.csv and NOTES.md: 196 single-ingredient SNOMED CT medicinal-product "
    "concepts (international partition) from the GM-SDE UK SNOMED code sets of the University of Manchester "
    "(UoM-Data-Science-Platforms/gm-sde commit 6cf10afc; current and legacy concepts mixed, active status not verified); 'confirmed' "
    "where a second source (HL7 FHIR example, wardle/hermes docs, FHIR R4 medication-codes partial expansion) shows the same id; dose "
    "form and strength read from the concept names")
ATC_README = ("KetamineCds reference README (shared/reference/README.md), section rxnorm/, line 'ATC:': WHO ATC codes of lamotrigine, "
              "clonazepam, diazepam, alprazolam, lorazepam, clobazam, oxazepam, midazolam, ketamine and esketamine")
ATC_KBV = ("KBV MIO Patient Summary ConceptMap PSSubstanceTopATCSnomedGerman (SNOMED CT substance -> ATC), "
           "kassenaerztliche-bundesvereinigung/MIOParser src/Definitions/KBV/PS/1.0.0/ConceptMap/PSSubstanceTopATCSnomedGerman.ts, "
           "commit 8616275169245f80d69464c4e4f83c76596f98f1 (a source of shared/reference/snomed/NOTES.md)")
# ATC codes read from the KBV ConceptMap for ingredients the README line does not cover (SNOMED id, ingredient, ATC).
# Alprazolam N05BA12 and diazepam N05BA01 are in the same ConceptMap and agree with the README.
ATC_FROM_KBV = [("387569009", "zolpidem", "N05CF02"), ("395929002", "zopiclone", "N05CF01")]
ATC_AGREES_WITH_KBV = {"alprazolam", "diazepam"}
ATC_RE = re.compile(r"^[A-Z]\d\d[A-Z][A-Z]\d\d$")
SEMANTIC_TAG_RE = re.compile(r"\s*\((?:clinical drug|medicinal product|medicinal product form|substance|product)\)\s*$")
NOTE_RE = re.compile(r"\s*\[([^\]]*)\]\s*$")
STRENGTH_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?) (?P<unit>gram|milligram|microgram|mg)/(?P<den>\d+(?:\.\d+)?) (?P<per>each|milliliter|mL)\b")
UNIT_MG = {"gram": Decimal(1000), "milligram": Decimal(1), "mg": Decimal(1), "microgram": Decimal("0.001")}


def dec_json(d):
    """A Decimal as a JSON number: int when integral, else the shortest float that round-trips."""
    d = d.normalize()
    return int(d) if d == d.to_integral_value() else float(str(d))


def read_atc_line(readme):
    """The README's 'ATC: name CODE, name CODE, ...' line (it may wrap) -> OrderedDict name -> code."""
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^ATC: (.*?)\.\s*$", text, re.M | re.S)
    if not m:
        raise SystemExit("reference README has no 'ATC:' line")
    pairs = OrderedDict()
    for item in re.split(r",\s*", m.group(1).split("\n\n")[0].replace("\n", " ")):
        name, code = item.strip().rsplit(" ", 1)
        if not ATC_RE.match(code):
            raise SystemExit("reference README: %r is not an ATC code" % item)
        pairs[name.strip()] = code
    return pairs


def snomed_route(dose_form):
    """Route of a SNOMED dose form; oromucosal (buccal or sublingual) is kept as written; None when no dose form is given."""
    f = dose_form.lower()
    if not f:
        return None
    for word, route in (("sublingual", "sublingual"), ("oromucosal", "oromucosal"), ("nasal", "nasal"), ("rectal", "rectal"),
                        ("injection", "parenteral"), ("parenteral", "parenteral"), ("oral", "oral"), ("orodispersible", "oral"),
                        ("chewable", "oral")):
        if word in f:
            return route
    return "other"


def snomed_strength(strength):
    """'500 microgram/1 each' -> ('strength-mg', 0.5); '10 milligram/2 milliliter' -> ('strength-mg-per-ml', 5); else None."""
    m = STRENGTH_RE.match(strength)
    if not m:
        return None
    mg = Decimal(m.group("num")) * UNIT_MG[m.group("unit")] / Decimal(m.group("den"))
    return ("strength-mg" if m.group("per") == "each" else "strength-mg-per-ml"), mg


def snomed_ingredient(name, ingredients):
    """'clorazepate (dipotassium clorazepate)' -> 'clorazepate'."""
    code = name.split(" ")[0].strip().lower()
    if code not in ingredients:
        raise SystemExit("SNOMED table names unknown ingredient %r" % name)
    return code


def snomed_concept_map(reference_dir, ingredients):
    substances = os.path.join(reference_dir, "snomed", "substances.csv")
    snomed_elements, not_found = [], []
    with open(substances, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            ingr = snomed_ingredient(r["ingredient"], ingredients)
            if r["confidence"] == "not_found" or not r["snomed_substance_id"].strip():
                not_found.append(ingr)
                continue
            sources = "; ".join(s for s in (r["source1"], r["source2"]) if s)
            term = r["preferred_term"].strip()
            caveat = re.search(r"\s*\((semantic tag not shown[^)]*)\)", term)
            if caveat:
                term = term[:caveat.start()] + term[caveat.end():]
                sources += "; " + caveat.group(1)
            # A salt (dipotassium clorazepate) maps to the wider base ingredient; the base substance is equivalent.
            equivalence = "equivalent" if term.lower().startswith(ingr) else "wider"
            snomed_elements.append({
                "code": r["snomed_substance_id"].strip(),
                "display": term,
                "target": [{"code": ingr, "display": ingredients[ingr]["display"], "equivalence": equivalence,
                            "comment": "confidence %s: %s" % (r["confidence"], sources)}],
            })
    atc = read_atc_line(os.path.join(reference_dir, "README.md"))
    atc_elements = []
    for name, code in atc.items():
        if name not in ingredients:
            raise SystemExit("reference README ATC line names unknown ingredient %r" % name)
        comment = ATC_README + (("; the same code in " + ATC_KBV) if name in ATC_AGREES_WITH_KBV else "")
        atc_elements.append({"code": code, "display": name,
                             "target": [{"code": name, "display": ingredients[name]["display"], "equivalence": "equivalent", "comment": comment}]})
    for _, name, code in ATC_FROM_KBV:
        if name in atc:
            continue
        atc_elements.append({"code": code, "display": name,
                             "target": [{"code": name, "display": ingredients[name]["display"], "equivalence": "equivalent", "comment": ATC_KBV}]})
    atc_elements.sort(key=lambda e: e["code"])
    snomed_elements.sort(key=lambda e: int(e["code"]))
    no_atc = sorted(i for i in ingredients if i not in {e["target"][0]["code"] for e in atc_elements})
    cm = OrderedDict([
        ("resourceType", "ConceptMap"),
        ("id", CONCEPTMAP_ID),
        ("extension", cite(SNOMED_SOURCES, ATC_README, ATC_KBV)),
        ("url", BASE + "/ConceptMap/" + CONCEPTMAP_ID),
        ("version", VERSION),
        ("name", "MedicationCodesToKetamineCdsIngredient"),
        ("title", "SNOMED CT substances and WHO ATC codes to KetamineCds ingredients"),
        ("status", "active"),
        ("date", DATE),
        ("publisher", "KetamineCds"),
        ("description", (
            "GENERATED by fhir-profiles/tools/generate_terminology.py - do not edit by hand. Maps SNOMED CT substance concepts and WHO ATC "
            "codes to the ingredients of CodeSystem ketamine-cds-ingredient, so that medications coded only with SNOMED CT (as Oracle Health "
            "and many European EHRs send them) or ATC are recognised. Each target's comment gives the row's sources and confidence "
            "('confirmed' = two independent sources, 'single' = one). SNOMED CT medicinal-product concepts are in the supplement "
            "CodeSystem snomed-product-ingredients. No SNOMED CT substance code was found for: %s (matched by name only). ATC codes only where "
            "a source gives them (the reference README's ATC line, and the KBV ConceptMap for zolpidem and zopiclone); none is given here for: "
            "%s (matched by RxNorm, SNOMED CT or name)." % (", ".join(not_found), ", ".join(no_atc)))),
        ("group", [
            {"source": SNOMED, "target": BASE + "/CodeSystem/ketamine-cds-ingredient", "element": snomed_elements},
            {"source": ATC, "target": BASE + "/CodeSystem/ketamine-cds-ingredient", "element": atc_elements},
        ]),
    ])
    return cm, len(snomed_elements), len(atc_elements), not_found, no_atc


def snomed_product_codesystem(reference_dir, ingredients):
    products = os.path.join(reference_dir, "snomed", "products.csv")
    concepts, seen = [], set()
    with open(products, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            code = r["snomed_product_id"].strip()
            if code in seen:
                raise SystemExit("products.csv: duplicate SNOMED id %s" % code)
            seen.add(code)
            ingr = snomed_ingredient(r["ingredient"], ingredients)
            term = r["preferred_term"].strip()
            note = None
            m = NOTE_RE.search(term)
            if m:
                note, term = m.group(1), term[:m.start()]
            display = SEMANTIC_TAG_RE.sub("", term)
            props = [{"code": "ingredient", "valueCode": ingr}]
            strength = snomed_strength(r["strength"].strip()) if r["strength"].strip() else None
            if strength:
                props.append({"code": strength[0], "valueDecimal": dec_json(strength[1])})
            if r["dose_form"].strip():
                props.append({"code": "dose-form", "valueString": r["dose_form"].strip()})
            route = snomed_route(r["dose_form"].strip())
            if route:
                props.append({"code": "route", "valueCode": route})
            props.append({"code": "confidence", "valueCode": r["confidence"].strip()})
            props.append({"code": "source", "valueString": "; ".join(s for s in (r["source1"], r["source2"]) if s)})
            if note:
                props.append({"code": "note", "valueString": note})
            concepts.append({"code": code, "display": display, "property": props})
    concepts.sort(key=lambda c: int(c["code"]))
    cs = OrderedDict([
        ("resourceType", "CodeSystem"),
        ("id", "snomed-product-ingredients"),
        ("extension", cite(SNOMED_PRODUCT_SOURCES)),
        ("url", BASE + "/CodeSystem/snomed-product-ingredients"),
        ("version", VERSION),
        ("name", "SnomedProductIngredients"),
        ("title", "SNOMED CT medicinal products: ingredients and strengths (KetamineCds supplement)"),
        ("status", "active"),
        ("date", DATE),
        ("publisher", "KetamineCds"),
        ("description", (
            "GENERATED by fhir-profiles/tools/generate_terminology.py - do not edit by hand. Supplement to SNOMED CT giving, for each "
            "single-ingredient medicinal-product concept of the source table, the KetamineCds ingredient (CodeSystem ketamine-cds-ingredient), "
            "the strength read from the concept name (mg per unit for 'N unit/1 each', mg per mL for 'N unit/M milliliter'; micrograms and grams "
            "converted to mg; for a salt, of the salt as named), the dose form as written and the route it implies (oral, sublingual, "
            "oromucosal, nasal, rectal, parenteral). Product and product-form concepts without strength keep ingredient (and dose form and "
            "route where the name gives them). Display: the concept name without its semantic tag. Source: " + SNOMED_PRODUCT_SOURCES + ". "
            "Active status of the concepts was not verified (legacy concepts are marked in 'note').")),
        ("caseSensitive", True),
        ("content", "supplement"),
        ("supplements", SNOMED),
        ("count", len(concepts)),
        ("property", [
            {"code": "ingredient", "description": "KetamineCds ingredient code (CodeSystem ketamine-cds-ingredient) of the product.", "type": "code"},
            {"code": "strength-mg", "description": "mg of the ingredient per tablet/capsule/unit (solid and unit forms).", "type": "decimal"},
            {"code": "strength-mg-per-ml", "description": "mg of the ingredient per mL (solutions, suspensions, injections).", "type": "decimal"},
            {"code": "dose-form", "description": "SNOMED CT dose form as written in the concept name.", "type": "string"},
            {"code": "route", "description": "oral | sublingual | oromucosal | nasal | rectal | parenteral | other", "type": "code"},
            {"code": "confidence", "description": "confirmed (a second source shows the same id) | single (one source).", "type": "code"},
            {"code": "source", "description": "Where the concept id was found.", "type": "string"},
            {"code": "note", "description": "A caveat from the source table (e.g. a legacy concept that may be inactive).", "type": "string"},
        ]),
        ("concept", concepts),
    ])
    return cs


def main(argv):
    csv_dir = argv[1] if len(argv) > 1 else "../shared/reference/rxnorm"
    if not os.path.isabs(csv_dir):
        csv_dir = os.path.normpath(os.path.join(REPO_ROOT, csv_dir))
    ingredients = load_ingredients()
    rows, excluded = read_rows(csv_dir)

    products, failures, omitted_strength = [], [], []
    seen = set()
    for row in rows:
        if row["rxcui"] in seen:
            failures.append((row["rxcui"], row["display"], "duplicate rxcui"))
            continue
        seen.add(row["rxcui"])
        props, err = classify(row, ingredients)
        if err or props.get("ingredient") not in ingredients:
            failures.append((row["rxcui"], row["display"], err or "unknown ingredient"))
            continue
        if "_strength" in props:
            omitted_strength.append((row["rxcui"], row["display"], props.pop("_strength")))
        products.append({"rxcui": row["rxcui"], "display": row["display"], "props": props})

    # Check: every row got an ingredient.
    if failures:
        for f in failures:
            print("NO INGREDIENT: %s %s (%s)" % f, file=sys.stderr)
        print("FAILED: %d of %d rows have no ingredient" % (len(failures), len(rows)), file=sys.stderr)
        return 1

    write_json(os.path.join(TERMINOLOGY, "CodeSystem-rxnorm-product-ingredients.json"),
               product_codesystem(products, excluded, omitted_strength))
    print("rows read: %d (excluded as Phenytoin: %d); products written: %d" % (len(rows) + len(excluded), len(excluded), len(products)))
    for cls in CLASS_VALUESETS:
        vs, n_ing, n_prod = valueset(cls, ingredients, products)
        write_json(os.path.join(TERMINOLOGY, "ValueSet-%s.json" % vs["id"]), vs)
        print("ValueSet %-32s ingredient-level codes: %2d  product codes: %3d" % (vs["id"], n_ing, n_prod))
    by_ing = Counter(p["props"]["ingredient"] for p in products)
    print("products per ingredient: " + ", ".join("%s %d" % kv for kv in sorted(by_ing.items())))
    print("routes: " + ", ".join("%s %d" % kv for kv in sorted(Counter(p["props"]["route"] for p in products).items())))
    print("combination products: %d" % sum(1 for p in products if p["props"]["combination"]))
    print("strength omitted: %d" % len(omitted_strength))
    for o in omitted_strength:
        print("  %s %s -> %s" % o)

    reference_dir = os.path.dirname(csv_dir)
    cm, n_snomed, n_atc, not_found, no_atc = snomed_concept_map(reference_dir, ingredients)
    write_json(os.path.join(TERMINOLOGY, "ConceptMap-%s.json" % CONCEPTMAP_ID), cm)
    print("ConceptMap %s: SNOMED CT substances %d, ATC codes %d" % (CONCEPTMAP_ID, n_snomed, n_atc))
    print("  no SNOMED CT substance: " + ", ".join(not_found))
    print("  no ATC code: " + ", ".join(no_atc))
    cs = snomed_product_codesystem(reference_dir, ingredients)
    write_json(os.path.join(TERMINOLOGY, "CodeSystem-snomed-product-ingredients.json"), cs)
    with_strength = sum(1 for c in cs["concept"] if any(p["code"].startswith("strength") for p in c["property"]))
    print("CodeSystem snomed-product-ingredients: %d products (%d with strength)" % (cs["count"], with_strength))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
