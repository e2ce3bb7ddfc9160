#!/usr/bin/env python3
"""Generate the Table 2 scenario fixtures (13 patients) for KetamineCds.

Source: Joseph B, Nunez NA, Kung S, et al. Efficacy of Ketamine with and without
Lamotrigine in Treatment-Resistant Depression: A Preliminary Report.
Pharmaceuticals 2023;16(8):1164 (correction: 2023;16(11):1571), Table 2.
Full text: /work/shared/evidence/joseph-2023-pharmaceuticals-16-1164.txt

All people, names, identifiers and dates are synthetic. Only the clinical columns of
Table 2 (age, sex, diagnoses, concurrent medications, route, baseline QIDS-SR16) are
taken from the article.

RxNorm codes used here come ONLY from /work/shared/reference/README.md (ingredient
codes and the esketamine nasal-spray SCDF). Drugs without a code in that file are
text-only.

Usage (stdlib only, run from anywhere):
    python3 tests/scenarios/tools/generate_table2.py          # (re)write fixtures
    python3 tests/scenarios/tools/generate_table2.py --check  # fail if files differ
"""
import json
import sys
import uuid
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "table2"

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
MR_CAT = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
ASSESS = "http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-assessment"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.999"
FHIR_BASE = "https://ehr.example.org/fhir"
UUID_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://ketaminecds.org/fixtures/table2")

# Ingredient codes from /work/shared/reference/README.md. Nothing else is coded.
INGREDIENT_CODES = {
    "lamotrigine": "28439",
    "clonazepam": "2598",
    "lorazepam": "6470",
    "alprazolam": "596",
}
BENZODIAZEPINES = {"clonazepam", "lorazepam", "alprazolam"}
# mg of drug taken as equal to 1 mg oral lorazepam (/work/shared/reference/README.md)
ASHTON = {"alprazolam": Fraction("0.5"), "clonazepam": Fraction("0.5"), "lorazepam": Fraction(1)}
VADOD = {"alprazolam": Fraction("0.5"), "clonazepam": Fraction("0.25"), "lorazepam": Fraction(1)}
THRESHOLD = Fraction(4)  # mg/day lorazepam equivalents, inclusive
LOW_DOSE_BELOW = 100     # lamotrigine mg/day: low < 100, standard >= 100

IV = "IV ketamine"
IN = "IN esketamine"
IV_TO_IN = "IV, switched to IN esketamine after 3 treatments"


def med(name, dose_text, ingredient=None, structure=None):
    """One medication as written in Table 2.

    name: the article's drug name (used as medicationCodeableConcept.text).
    dose_text: the article's dose words (dosage text in the text-sig variant).
    ingredient: lower-case ingredient for coded target drugs.
    structure: list of (text, dose_mg, timing_form) dosage entries, or None for text only.
      timing_form: "repeat-1d" | "QD" | "BID" | "TID" | "repeat-2d" | "MORN" | "HS"
    """
    return {"name": name, "dose_text": dose_text, "ingredient": ingredient, "structure": structure}


def daily(name, mg, form, ingredient=None):
    """An "x mg/day" medication; form alternates by patient: repeat-1d or QD."""
    text = f"{fmt(mg)} mg/day"
    return med(name, text, ingredient, [(text, mg, form)])


def fmt(x):
    """Dose as the article writes it: 2, 0.5, 31.25 (never 2.0)."""
    x = Fraction(str(x)) if not isinstance(x, Fraction) else x
    return str(x.numerator) if x.denominator == 1 else str(float(x))


# "x mg/day" timing form: odd patients timing.repeat {1 per 1 d}, even patients timing.code QD.
def D(nn):
    return "repeat-1d" if nn % 2 else "QD"


PATIENTS = [
    # nn, age, sex, diagnoses, route, baseline QIDS-SR16, meds (in the article's order)
    dict(nn=1, age=44, sex="F", dx="MDD, GAD", route=IV, qids=19, meds=lambda d: [
        daily("Aripiprazole", 2, d),
        daily("Venlafaxine-XR", 375, d),
        daily("Lamotrigine", 250, d, "lamotrigine"),
        med("Clonazepam", "0.5 mg TID", "clonazepam", [("0.5 mg TID", "0.5", "TID")]),
    ]),
    dict(nn=2, age=61, sex="F", dx="MDD, PTSD", route=IV_TO_IN, qids=20, meds=lambda d: [
        daily("Lurasidone", 20, d),
        daily("Trazodone", 75, d),
        daily("Lamotrigine", 25, d, "lamotrigine"),
        daily("Vilazodone", 35, d),
    ]),
    dict(nn=3, age=63, sex="M", dx="BD-II, GAD", route=IV, qids=15, meds=lambda d: [
        daily("Bupropion", 150, d),
        daily("Vortioxetine", 10, d),
        daily("Lamotrigine", 100, d, "lamotrigine"),
        daily("Dextroamphetamine\u2013Amphetamine", 20, d),
        daily("Lorazepam", 2, d, "lorazepam"),
    ]),
    dict(nn=4, age=54, sex="F", dx="MDD, PTSD", route=IV, qids=18, meds=lambda d: [
        daily("Aripiprazole", 5, d),
        daily("Duloxetine", 120, d),
        daily("Lamotrigine", 100, d, "lamotrigine"),
        daily("Alprazolam", "1.5", d, "alprazolam"),
    ]),
    dict(nn=5, age=36, sex="F", dx="MDD, GAD", route=IV, qids=22, meds=lambda d: [
        daily("Nortriptyline", 50, d),
        daily("Trazodone", 50, d),
        daily("Lamotrigine", 150, d, "lamotrigine"),
        med("Clonazepam", "0.5 mg BID", "clonazepam", [("0.5 mg BID", "0.5", "repeat-2d")]),
        daily("Gabapentin", 300, d),
        daily("Melatonin", 10, d),
    ]),
    dict(nn=6, age=38, sex="M", dx="MDD, OCD, GAD, Personality disorder", route=IV, qids=16, meds=lambda d: [
        daily("Fluvoxamine", 300, d),
        daily("Brexpiprazole", 3, d),
        daily("Lamotrigine", 25, d, "lamotrigine"),
    ]),
    dict(nn=7, age=29, sex="F", dx="MDD, GAD, ADHD", route=IV, qids=24, meds=lambda d: [
        daily("Bupropion-XL", 300, d),
        med("Lamotrigine", "125 mg BID", "lamotrigine", [("125 mg BID", 125, "BID")]),
        daily("Quetiapine", 25, d),
        daily("Dextroamphetamine-Amphetamine", 25, d),
    ]),
    dict(nn=8, age=48, sex="F", dx="MDD, GAD", route=IV, qids=18, meds=lambda d: [
        daily("Iloperidone", 3, d),
        daily("Vilazodone", 10, d),
        med("Lamotrigine", "225 mg BID", "lamotrigine", [("225 mg BID", 225, "repeat-2d")]),
        daily("Clonazepam", 1, d, "clonazepam"),
        daily("Trazodone", 100, d),
        daily("Buspirone", 30, d),
        med("clonidine", "0.2 mg QHS"),
    ]),
    dict(nn=9, age=45, sex="F", dx="MDD", route=IV, qids=15, meds=lambda d: [
        daily("Venlafaxine", "31.25", d),
        daily("Sertraline", 150, d),
        daily("Lamotrigine", 25, d, "lamotrigine"),
    ]),
    dict(nn=10, age=23, sex="F", dx="MDD with Anxious Distress", route=IN, qids=21, meds=lambda d: [
        daily("Vortioxetine", 10, d),
        daily("Bupropion", 150, d),
        daily("Lamotrigine", 200, d, "lamotrigine"),
    ]),
    dict(nn=11, age=43, sex="F", dx="BD-II, GAD, Alcohol use disorder, in sustained remission", route=IV, qids=23,
         meds=lambda d: [
        daily("Cariprazine", 3, d),
        daily("Duloxetine", 80, d),
        med("Lamotrigine", "100 mg QAM, 200 mg QHS", "lamotrigine",
            [("100 mg QAM", 100, "MORN"), ("200 mg QHS", 200, "HS")]),
        med("Gabapentin", "1200 mg TID", None, [("1200 mg TID", 1200, "TID")]),
    ]),
    dict(nn=12, age=43, sex="F", dx="MDD, GAD, Borderline Personality Disorder", route=IV, qids=15, meds=lambda d: [
        daily("Fluoxetine", 20, d),
        daily("Bupropion-XL", 450, d),
        daily("Buspirone", 60, d),
        daily("Lamotrigine", 100, d, "lamotrigine"),
        daily("Trazodone", 100, d),
        med("Hydroxyzine", "25\u201350 mg TID"),
    ]),
    dict(nn=13, age=46, sex="F", dx="MDD, GAD", route=IV_TO_IN, qids=22, meds=lambda d: [
        daily("Clonazepam", 2, d, "clonazepam"),
        daily("Pramipexole", "0.5", d),
        daily("Lamotrigine", 50, d, "lamotrigine"),
        daily("Protriptyline", 45, d),
    ]),
]

# Synthetic demographics (distinctive so a log-leak test can grep for them).
SYNTHETIC = {
    1: ("Fenwhistle", "Marigold", "1977-02-14", "MRN-01-730418"),
    2: ("Quarrington", "Odette", "1960-03-09", "MRN-02-551927"),
    3: ("Brackenfield", "Tobias", "1958-01-22", "MRN-03-408816"),
    4: ("Ellingsworth", "Rosalind", "1967-04-30", "MRN-04-992075"),
    5: ("Marchbanks", "Juniper", "1985-05-11", "MRN-05-316640"),
    6: ("Thornquist", "Ansel", "1983-02-03", "MRN-06-847203"),
    7: ("Vellacourt", "Delphine", "1992-01-27", "MRN-07-125589"),
    8: ("Ashcombe", "Imogen", "1973-03-18", "MRN-08-664310"),
    9: ("Larkspurne", "Wren", "1976-05-05", "MRN-09-270954"),
    10: ("Oakenshaw", "Calla", "1998-04-12", "MRN-10-583162"),
    11: ("Stroudley", "Verity", "1978-01-08", "MRN-11-439077"),
    12: ("Wintermoor", "Hester", "1978-02-25", "MRN-12-806531"),
    13: ("Kestrelle", "Sabine", "1975-03-31", "MRN-13-197446"),
}

# Hand-computed expectations, written down independently of the code below and
# asserted against it (check twice). Tuple:
# (lamotrigine mg/day, category, [(benzo, mg/day)], Ashton total, VA/DoD total, findings)
HAND = {
    1: (250, "standard", [("clonazepam", 1.5)], 3.0, 6.0, ["benzodiazepine-borderline"]),
    2: (25, "low", [], None, None, []),
    3: (100, "standard", [("lorazepam", 2.0)], 2.0, 2.0, []),
    4: (100, "standard", [("alprazolam", 1.5)], 3.0, 3.0, []),
    5: (150, "standard", [("clonazepam", 1.0)], 2.0, 4.0, ["benzodiazepine-borderline"]),
    6: (25, "low", [], None, None, []),
    7: (250, "standard", [], None, None, []),
    8: (450, "standard", [("clonazepam", 1.0)], 2.0, 4.0, ["benzodiazepine-borderline"]),
    9: (25, "low", [], None, None, []),
    10: (200, "standard", [], None, None, []),
    11: (300, "standard", [], None, None, []),
    12: (100, "standard", [], None, None, []),
    13: (50, "low", [("clonazepam", 2.0)], 4.0, 8.0, ["benzodiazepine-threshold"]),
}

TIMES_PER_DAY = {"repeat-1d": 1, "QD": 1, "BID": 2, "TID": 3, "repeat-2d": 2, "MORN": 1, "HS": 1}


def timing(form):
    if form == "repeat-1d":
        return {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
    if form == "repeat-2d":
        return {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}
    if form in ("QD", "BID", "TID"):
        return {"code": {"coding": [{"system": GTS, "code": form, "display": form}], "text": form}}
    if form in ("MORN", "HS"):
        return {"repeat": {"when": [form]}}
    raise ValueError(form)


def num(x):
    f = Fraction(str(x)) if not isinstance(x, Fraction) else x
    return f.numerator if f.denominator == 1 else float(f)


def concept(m, structured):
    if structured and m["ingredient"] in INGREDIENT_CODES:
        return {"coding": [{"system": RXNORM, "code": INGREDIENT_CODES[m["ingredient"]],
                            "display": m["ingredient"]}], "text": m["name"]}
    return {"text": m["name"]}


def dosages(m, structured):
    if not structured or m["structure"] is None:
        return [{"text": m["dose_text"]}]
    out = []
    for seq, (text, mg, form) in enumerate(m["structure"], start=1):
        d = {"sequence": seq, "text": text, "timing": timing(form),
             "doseAndRate": [{"doseQuantity": {"value": num(mg), "unit": "mg", "system": UCUM, "code": "mg"}}]}
        if len(m["structure"]) == 1:
            del d["sequence"]
        out.append(d)
    return out


def searchset(resources):
    b = {"resourceType": "Bundle", "type": "searchset", "total": len(resources)}
    if resources:
        b["entry"] = [{"fullUrl": f"{FHIR_BASE}/{r['resourceType']}/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for r in resources]
    return b


def ref(nn):
    return {"reference": f"Patient/table2-patient-{nn:02d}"}


def draft_order(p):
    nn = p["nn"]
    if p["route"] == IN:
        concept_ = {"coding": [{"system": RXNORM, "code": "2201623", "display": "esketamine Nasal Spray"}],
                    "text": "esketamine 56 mg intranasal (Spravato)"}
        dosage = {"text": "56 mg intranasal", "route": {"text": "Intranasal"}}
    else:  # IV ketamine, and IV -> IN switchers (first order was IV)
        concept_ = {"coding": [{"system": RXNORM, "code": "6130", "display": "ketamine"}],
                    "text": "ketamine hydrochloride 0.5 mg/kg IV infusion over 40 minutes"}
        dosage = {"text": "0.5 mg/kg IV infusion over 40 minutes", "route": {"text": "Intravenous"}}
    mr = {
        "resourceType": "MedicationRequest",
        "id": f"draft-ketamine-{nn:02d}",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": concept_,
        "subject": ref(nn),
        "encounter": {"reference": f"Encounter/enc-{nn:02d}"},
        "authoredOn": f"2021-06-{nn + 1:02d}T10:00:00Z",
        "requester": {"reference": "Practitioner/prescriber-1"},
        "dosageInstruction": [dosage],
    }
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": "urn:uuid:" + str(uuid.uuid5(UUID_NS, f"draft-{nn:02d}")), "resource": mr}]}


def build_request(p, structured):
    nn = p["nn"]
    family, given, birth, mrn = SYNTHETIC[nn]
    meds = p["meds"](D(nn))
    patient = {
        "resourceType": "Patient", "id": f"table2-patient-{nn:02d}",
        "identifier": [{"system": MRN_SYSTEM, "value": mrn}],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female" if p["sex"] == "F" else "male",
        "birthDate": birth,
    }
    statements = []
    for k, m in enumerate(meds, start=1):
        statements.append({
            "resourceType": "MedicationStatement", "id": f"ms-{nn:02d}-{k}",
            "status": "active",
            "medicationCodeableConcept": concept(m, structured),
            "subject": ref(nn),
            "effectivePeriod": {"start": f"2021-02-{nn:02d}"},
            "dateAsserted": f"2021-06-{nn:02d}",
            "dosage": dosages(m, structured),
        })
    requests = []
    if nn >= 11:
        k = 0
        for m in meds:
            if m["ingredient"] in INGREDIENT_CODES:  # lamotrigine and benzodiazepines only
                k += 1
                requests.append({
                    "resourceType": "MedicationRequest", "id": f"mr-{nn:02d}-{k}",
                    "status": "active", "intent": "order",
                    "category": [{"coding": [{"system": MR_CAT, "code": "outpatient", "display": "Outpatient"}]}],
                    "medicationCodeableConcept": concept(m, structured),
                    "subject": ref(nn),
                    "authoredOn": f"2021-02-{nn:02d}",
                    "requester": {"reference": "Practitioner/prescriber-1"},
                    "dosageInstruction": dosages(m, structured),
                })
    obs = {
        "resourceType": "Observation", "id": f"obs-{nn:02d}-qids-baseline",
        "status": "final",
        "category": [{"coding": [{"system": OBS_CAT, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [{"system": ASSESS, "code": "qids-sr16-total", "display": "QIDS-SR16 total score"}],
                 "text": "QIDS-SR16 total"},
        "subject": ref(nn),
        "effectiveDateTime": f"2021-06-{nn:02d}T09:00:00Z",
        "valueInteger": p["qids"],
    }
    variant = "request" if structured else "request-text-sig"
    return {
        "hookInstance": str(uuid.uuid5(UUID_NS, f"patient-{nn:02d}/{variant}")),
        "hook": "order-sign",
        "context": {
            "userId": "Practitioner/prescriber-1",
            "patientId": f"table2-patient-{nn:02d}",
            "encounterId": f"enc-{nn:02d}",
            "draftOrders": draft_order(p),
        },
        "prefetch": {
            "patient": patient,
            "medicationStatements": searchset(statements),
            "medicationRequests": searchset(requests),
            "observations": searchset([obs]),
        },
    }


def compute(p):
    """Independent computation from the structured dosage (mirrors what the service must do)."""
    meds = p["meds"](D(p["nn"]))
    lam = Fraction(0)
    benzos = []
    for m in meds:
        if m["ingredient"] is None:
            continue
        mg = sum(Fraction(str(mg)) * TIMES_PER_DAY[form] for _, mg, form in m["structure"])
        if m["ingredient"] == "lamotrigine":
            lam += mg
        elif m["ingredient"] in BENZODIAZEPINES:
            benzos.append((m["ingredient"], mg))
    ashton = sum((mg / ASHTON[i] for i, mg in benzos), Fraction(0)) if benzos else None
    vadod = sum((mg / VADOD[i] for i, mg in benzos), Fraction(0)) if benzos else None
    findings = ["lamotrigine-concurrent"]
    if ashton is not None and ashton >= THRESHOLD:
        findings.append("benzodiazepine-threshold")
    elif vadod is not None and vadod >= THRESHOLD:
        findings.append("benzodiazepine-borderline")
    return lam, benzos, ashton, vadod, sorted(findings)


def expected(p):
    lam, benzos, ashton, vadod, findings = compute(p)
    h = HAND[p["nn"]]
    cat = "low" if lam < LOW_DOSE_BELOW else "standard"
    # check twice: hand table vs computation
    assert lam == h[0], (p["nn"], lam, h[0])
    assert cat == h[1], (p["nn"], cat)
    assert [(i, float(mg)) for i, mg in benzos] == h[2], (p["nn"], benzos)
    assert (None if ashton is None else float(ashton)) == h[3], (p["nn"], ashton)
    assert (None if vadod is None else float(vadod)) == h[4], (p["nn"], vadod)
    assert findings == sorted(h[5] + ["lamotrigine-concurrent"]), (p["nn"], findings)
    return {
        "service": "ketamine-order-sign",
        "findings": findings,
        "lamotrigineMgPerDay": num(lam),
        "lamotrigineDoseCategory": cat,
        "lorazepamEquivalentMgPerDay": None if ashton is None else float(ashton),
        "lorazepamEquivalentMgPerDayAlternate": None if vadod is None else float(vadod),
        "benzodiazepines": [{"ingredient": i, "mgPerDay": float(mg)} for i, mg in benzos],
        "baselineQidsSr": p["qids"],
    }


ROUTE_PROSE = {
    IV: "IV racemic ketamine (0.5 mg/kg over 40 minutes)",
    IN: "intranasal esketamine (Spravato 56 mg)",
    IV_TO_IN: "IV racemic ketamine and was switched to intranasal esketamine after 3 treatments",
}
DRAFT_PROSE = {
    IV: "The draft order is IV racemic ketamine (RxNorm 6130).",
    IN: "The draft order is esketamine nasal spray (RxNorm SCDF 2201623).",
    IV_TO_IN: "The draft order is the first IV racemic ketamine infusion (RxNorm 6130), before the switch.",
}
# Diagnoses in prose, hand-written from the Table 2 column.
DX_PROSE = {
    1: "major depressive disorder and generalized anxiety disorder",
    2: "major depressive disorder and post-traumatic stress disorder",
    3: "bipolar II disorder and generalized anxiety disorder",
    4: "major depressive disorder and post-traumatic stress disorder",
    5: "major depressive disorder and generalized anxiety disorder",
    6: "major depressive disorder, obsessive-compulsive disorder, generalized anxiety disorder and a personality disorder",
    7: "major depressive disorder, generalized anxiety disorder and ADHD",
    8: "major depressive disorder and generalized anxiety disorder",
    9: "major depressive disorder",
    10: "major depressive disorder with anxious distress",
    11: "bipolar II disorder, generalized anxiety disorder and alcohol use disorder in sustained remission",
    12: "major depressive disorder, generalized anxiety disorder and borderline personality disorder",
    13: "major depressive disorder and generalized anxiety disorder",
}
NOTES = {
    3: "Lorazepam 2 mg/day is below the 4 mg/day threshold under both tables (lorazepam factor is 1 in both).",
    4: "Alprazolam has the same factor (0.5) in both tables, so the totals agree.",
    5: "VA/DoD total is exactly 4.0: the threshold is inclusive, so the alternate table reaches it.",
    6: "Lorazepam appears in Table 2 only under *failed interventions in current episode*, not as a "
       "concurrent medication, so it is NOT in the prefetch and must not produce a benzodiazepine finding.",
    7: "Lamotrigine 125 mg BID = 125 x 2 = 250 mg/day (timing.code BID in the structured variant).",
    8: "Lamotrigine 225 mg BID = 225 x 2 = 450 mg/day (timing.repeat frequency 2 per 1 d). VA/DoD total "
       "is exactly 4.0 (inclusive). Clonidine 0.2 mg QHS is a non-target drug with dosage text only.",
    11: "Lamotrigine 100 mg QAM + 200 mg QHS = 300 mg/day (two dosage entries, `when` MORN and HS, each "
        "once per day). Gabapentin 1200 mg TID is a non-target drug. Lamotrigine is also listed as an active "
        "outpatient MedicationRequest with the same dose: it must be counted once (300, not 600).",
    12: "Hydroxyzine (25\u201350 mg TID) is not a benzodiazepine; dosage text only. Lamotrigine is also an "
        "active outpatient MedicationRequest with the same dose: count once (100, not 200).",
    13: "Ashton total is exactly 4.0 mg/day: the threshold is inclusive, so this is `benzodiazepine-threshold`. "
        "(The article's protocol required < 4 mg/day lorazepam equivalents before starting; the article does not "
        "say which equivalence table it used, and 2 mg/day clonazepam reaches 4 under Ashton and 8 under VA/DoD.) "
        "Lamotrigine and clonazepam are both also active outpatient MedicationRequests with the same doses: "
        "count each once (lamotrigine 50, not 100; clonazepam 2 mg/day, not 4).",
}


def narrative(p, exp):
    nn = p["nn"]
    meds = p["meds"](D(nn))
    sex = "woman" if p["sex"] == "F" else "man"
    dx = DX_PROSE[nn]
    med_list = "; ".join(f"{m['name']} {m['dose_text']}" for m in meds)
    lines = [f"# Table 2 patient {nn} (table2-patient-{nn:02d})", ""]
    lines.append(
        f"A {p['age']}-year-old {sex} with treatment-resistant depression; diagnoses: {dx} (Table 2: {p['dx']}); "
        f"baseline QIDS-SR16 {p['qids']}, who continued lamotrigine and received {ROUTE_PROSE[p['route']]}. "
        f"Concurrent psychiatric medications as written in the article: {med_list}. "
        f"{DRAFT_PROSE[p['route']]} All names, identifiers and dates in the fixture are synthetic.")
    lines += ["", "## Expected", ""]
    # lamotrigine
    lam_med = [m for m in meds if m["ingredient"] == "lamotrigine"][0]
    parts = [f"{fmt(mg)} mg x {TIMES_PER_DAY[f]}" for _, mg, f in lam_med["structure"]]
    lam = exp["lamotrigineMgPerDay"]
    cat_rule = "< 100" if exp["lamotrigineDoseCategory"] == "low" else ">= 100"
    lines.append(f"- Lamotrigine ({lam_med['dose_text']}): {' + '.join(parts)} = {lam} mg/day -> "
                 f"**{exp['lamotrigineDoseCategory']}** dose ({cat_rule} mg/day). Finding `lamotrigine-concurrent`.")
    benz = [m for m in meds if m["ingredient"] in BENZODIAZEPINES]
    if not benz:
        lines.append("- Benzodiazepines: none among the concurrent medications -> no benzodiazepine finding; "
                     "lorazepam-equivalent totals are null.")
    for m in benz:
        i = m["ingredient"]
        mgday = sum(Fraction(str(mg)) * TIMES_PER_DAY[f] for _, mg, f in m["structure"])
        calc = " + ".join(f"{fmt(mg)} mg x {TIMES_PER_DAY[f]}" for _, mg, f in m["structure"])
        a, v = mgday / ASHTON[i], mgday / VADOD[i]
        lines.append(
            f"- {m['name']} ({m['dose_text']}): {calc} = {float(mgday)} mg/day; "
            f"Ashton factor {float(ASHTON[i])}, VA/DoD 2021 factor {float(VADOD[i])}; "
            f"Ashton {float(mgday)} / {float(ASHTON[i])} = {float(a)} mg/day lorazepam equivalent; "
            f"VA/DoD {float(mgday)} / {float(VADOD[i])} = {float(v)}.")
    if benz:
        a, v = exp["lorazepamEquivalentMgPerDay"], exp["lorazepamEquivalentMgPerDayAlternate"]
        if "benzodiazepine-threshold" in exp["findings"]:
            verdict = f"Ashton {a} >= 4 -> `benzodiazepine-threshold`"
        elif "benzodiazepine-borderline" in exp["findings"]:
            verdict = f"Ashton {a} < 4 but VA/DoD {v} >= 4 -> `benzodiazepine-borderline`"
        else:
            verdict = f"Ashton {a} < 4 and VA/DoD {v} < 4 -> no benzodiazepine finding"
        lines.append(f"- Lorazepam-equivalent total: Ashton (primary) {a} mg/day, VA/DoD (alternate) {v} mg/day. "
                     f"Threshold 4 mg/day, inclusive: {verdict}.")
    if nn in NOTES:
        lines.append(f"- Note: {NOTES[nn]}")
    lines.append(f"- Baseline QIDS-SR16: {p['qids']}.")
    lines.append(f"- Findings: {', '.join('`' + f + '`' for f in exp['findings'])}.")
    lines.append("")
    lines.append("Both `request.json` (coded, structured dosage) and `request-text-sig.json` (text only) "
                 "must yield `expected.json`.")
    return "\n".join(lines) + "\n"


ALLOWED_CODES = {"28439", "2598", "6470", "596", "6130", "2201623"}


def walk(o):
    if isinstance(o, dict):
        yield o
        for v in o.values():
            yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)


def self_check(p, req, text_sig):
    """Structural checks on one generated request."""
    nn = p["nn"]
    pf = req["prefetch"]
    assert set(pf) == {"patient", "medicationStatements", "medicationRequests", "observations"}
    for node in walk(req):
        if node.get("system") == RXNORM:
            assert node["code"] in ALLOWED_CODES, node  # never an invented RxNorm code
    # age as in Table 2 for any date in 2021 from June on (birthdays are Jan-May)
    y, m, d = map(int, pf["patient"]["birthDate"].split("-"))
    assert (m, d) <= (5, 31) and 2021 - y == p["age"], (nn, pf["patient"]["birthDate"])
    for b in ("medicationStatements", "medicationRequests", "observations"):
        assert pf[b]["total"] == len(pf[b].get("entry", [])), (nn, b)
    assert pf["medicationRequests"]["total"] == (0 if nn <= 10 else pf["medicationRequests"]["total"])
    if nn >= 11:
        assert pf["medicationRequests"]["total"] >= 1
    assert len(p["meds"](D(nn))) == pf["medicationStatements"]["total"]
    for e in pf["medicationStatements"]["entry"]:
        assert "derivedFrom" not in e["resource"] and "basedOn" not in e["resource"]
    if text_sig:
        for b in ("medicationStatements", "medicationRequests"):
            for e in pf[b].get("entry", []):
                r = e["resource"]
                assert set(r["medicationCodeableConcept"]) == {"text"}, r["id"]
                doses = r.get("dosage") or r.get("dosageInstruction")
                assert len(doses) == 1 and set(doses[0]) == {"text"}, r["id"]
    draft = req["context"]["draftOrders"]["entry"][0]["resource"]
    assert draft["status"] == "draft" and draft["medicationCodeableConcept"]["coding"]


def dump(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv
    low = [p["nn"] for p in PATIENTS if HAND[p["nn"]][1] == "low"]
    assert low == [2, 6, 9, 13], low
    assert [HAND[n][0] for n in range(1, 14)] == [250, 25, 100, 100, 150, 25, 250, 450, 25, 200, 300, 100, 50]
    files = {}
    summary = []
    for p in PATIENTS:
        d = ROOT / f"patient-{p['nn']:02d}"
        exp = expected(p)
        req, req_text = build_request(p, True), build_request(p, False)
        self_check(p, req, False)
        self_check(p, req_text, True)
        files[d / "request.json"] = dump(req)
        files[d / "request-text-sig.json"] = dump(req_text)
        files[d / "expected.json"] = dump(exp)
        files[d / "narrative.md"] = narrative(p, exp)
        summary.append((p["nn"], exp))
    bad = []
    for path, text in files.items():
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                bad.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if bad:
        print("out of date:\n  " + "\n  ".join(bad))
        return 1
    for nn, exp in summary:
        b = ", ".join(f"{x['ingredient']} {x['mgPerDay']}" for x in exp["benzodiazepines"]) or "-"
        print(f"{nn:2d} lam {exp['lamotrigineMgPerDay']:>3} {exp['lamotrigineDoseCategory']:<8} {b:<16} "
              f"ashton {exp['lorazepamEquivalentMgPerDay']} vadod {exp['lorazepamEquivalentMgPerDayAlternate']} "
              f"{exp['findings']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
