#!/usr/bin/env python3
"""Generate the ehr-style/codings-* scenario fixtures (stdlib only, deterministic).

Each scenario is a CDS Hooks order-sign request built the way an EHR sends it (Oracle Health SNOMED CT-only
statements, Epic medicationReference to an included or contained Medication, product-only RxNorm codes, copies of
one statement, a scheduled + PRN pair, unreadable entries), with the pharmacist's hand computation in narrative.md
and the expected result in expected.json. All people, ids and dates are synthetic.

Codes used, and where they come from (shared/reference):
  RxNorm 197527 clonazepam 0.5 MG Oral Tablet, 198427 lamotrigine 100 MG Oral Tablet, 199322 lamotrigine 50 MG
  Oral Tablet, ingredients 28439 lamotrigine / 2598 clonazepam / 6130 ketamine (rxnorm/*.csv, README.md);
  SNOMED CT 387562000 Lamotrigine (substance), 387383007 Clonazepam (substance) (snomed/substances.csv, confirmed);
  SNOMED CT 322981004 lamotrigine 50 mg oral tablet (snomed/products.csv).

Usage: python3 tests/scenarios/tools/generate_ehr_codings.py [--check]
"""
import json
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "ehr-style")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
NS = uuid.UUID("6c0d3a52-7d0e-4c55-9a0e-3f1b7d2c9a11")
BASE = "https://ehr.example.org/fhir"
# Epic's route and dose-type code systems as they appear in its R4 MedicationRequest (vendor OIDs, kept verbatim in shape).
EPIC_ROUTE = "urn:oid:1.2.840.114350.1.13.0.1.7.4.698288.330"
EPIC_DOSE_TYPE = "http://epic.com/CodeSystem/dose-rate-type"


def uid(*parts):
    return str(uuid.uuid5(NS, "/".join(parts)))


def patient(pid, family, given, birth):
    return {"resourceType": "Patient", "id": pid,
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.999", "value": "MRN-" + pid}],
            "name": [{"use": "official", "family": family, "given": [given]}], "gender": "female", "birthDate": birth}


def draft_ketamine(pid):
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:" + uid(pid, "draft"), "resource": {
        "resourceType": "MedicationRequest", "id": "draft-ketamine-" + pid, "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "6130", "display": "ketamine"}],
                                      "text": "ketamine hydrochloride 0.5 mg/kg IV infusion over 40 minutes"},
        "subject": {"reference": "Patient/" + pid}, "authoredOn": "2026-11-30T10:00:00Z",
        "dosageInstruction": [{"text": "0.5 mg/kg IV infusion over 40 minutes", "route": {"text": "Intravenous"}}]}}]}


def bundle(resources):
    entries = []
    for r in resources:
        mode = r.pop("_mode", "match")
        entries.append({"fullUrl": "%s/%s/%s" % (BASE, r["resourceType"], r["id"]), "resource": r, "search": {"mode": mode}})
    return {"resourceType": "Bundle", "type": "searchset", "total": sum(1 for e in entries if e["search"]["mode"] == "match"), "entry": entries}


def request(pid, family, given, birth, statements=(), requests=()):
    return {"hookInstance": uid(pid, "hook"), "hook": "order-sign",
            "context": {"userId": "Practitioner/prescriber-1", "patientId": pid, "draftOrders": draft_ketamine(pid)},
            "prefetch": {"patient": patient(pid, family, given, birth), "medicationStatements": bundle(list(statements)),
                         "medicationRequests": bundle(list(requests)), "observations": bundle([])}}


def mg(value):
    return {"value": value, "unit": "mg", "system": UCUM, "code": "mg"}


def tablets(value):
    return {"value": value, "unit": "tablet", "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB"}


def repeat(frequency, period=1, unit="d"):
    return {"repeat": {"frequency": frequency, "period": period, "periodUnit": unit}}


def oracle_dosage(text, dose_mg, frequency):
    """Oracle Health style: structured dose and timing, SNOMED CT route with display, short text."""
    return {"text": text, "timing": repeat(frequency),
            "route": {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}], "text": "Oral"},
            "doseAndRate": [{"doseQuantity": mg(dose_mg)}]}


def epic_dosage(text, frequency, mg_total=None, tabs=None, prn=None):
    """Epic style: the default sig text, timing.repeat, its vendor route code with display, calculated + ordered doses."""
    d = {"text": text, "patientInstruction": text, "timing": repeat(frequency),
         "route": {"coding": [{"system": EPIC_ROUTE, "code": "15", "display": "Oral"}], "text": "Oral"}}
    if prn:
        d["asNeededCodeableConcept"] = {"text": prn}
    rates = []
    if mg_total is not None:
        rates.append({"type": {"coding": [{"system": EPIC_DOSE_TYPE, "code": "calculated", "display": "calculated"}], "text": "calculated"},
                      "doseQuantity": mg(mg_total)})
    if tabs is not None:
        rates.append({"type": {"coding": [{"system": EPIC_DOSE_TYPE, "code": "admin-amount", "display": "admin-amount"}], "text": "admin-amount"},
                      "doseQuantity": tablets(tabs)})
    d["doseAndRate"] = rates
    return d


def statement(sid, pid, medication, dosage, start="2024-05-01"):
    r = {"resourceType": "MedicationStatement", "id": sid, "status": "active", "subject": {"reference": "Patient/" + pid},
         "effectivePeriod": {"start": start}, "dateAsserted": "2026-11-02", "dosage": [dosage]}
    r.update(medication)
    return r


def med_request(rid, pid, medication, dosage, authored="2026-10-15T14:05:00Z", contained=None):
    r = {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
         "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "outpatient"}]}],
         "subject": {"reference": "Patient/" + pid}, "authoredOn": authored, "dosageInstruction": [dosage]}
    if contained:
        r["contained"] = contained
    r.update(medication)
    return r


def coded(system, code, display=None, text=None):
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    concept = {"coding": [coding]}
    if text:
        concept["text"] = text
    return {"medicationCodeableConcept": concept}


SCENARIOS = []


def scenario(name, title, req, expected, narrative):
    SCENARIOS.append((name, title, req, expected, narrative))


# 1. Oracle Health: SNOMED CT substance codes only, no display, no text.
pid = "codings-oracle-snomed"
scenario("codings-snomed-only-oracle", "SNOMED CT-only lamotrigine and clonazepam statements (Oracle Health style)",
         request(pid, "Vantorre", "Ilse", "1979-08-02", statements=[
             statement("ora-lamotrigine", pid, coded(SNOMED, "387562000"), oracle_dosage("100 mg, Oral, BID", 100, 2)),
             statement("ora-clonazepam", pid, coded(SNOMED, "387383007"), oracle_dosage("1 mg, Oral, BID", 1, 2)),
         ]),
         {"findings": ["benzodiazepine-threshold", "lamotrigine-concurrent"], "lamotrigineMgPerDay": 200, "lamotrigineDoseCategory": "standard",
          "lorazepamEquivalentMgPerDay": 4.0, "lorazepamEquivalentMgPerDayAlternate": 8.0,
          "benzodiazepines": [{"ingredient": "clonazepam", "mgPerDay": 2.0}], "unreadableResources": 0},
         """Two MedicationStatements as Oracle Health (and many European EHRs) send them: `medicationCodeableConcept` holds one
SNOMED CT coding and nothing else (no display, no text): 387562000 *Lamotrigine (substance)* and 387383007 *Clonazepam
(substance)* (shared/reference/snomed/substances.csv, both `confirmed`). Dosage is structured (mg, `timing.repeat`,
SNOMED CT route 26643006 "Oral route"). Before SNOMED CT recognition this request got `{"cards": []}`.

## Hand computation

- Lamotrigine: 100 mg x 2/day = **200 mg/day** -> standard dose (>= 100 mg/day). `lamotrigine-concurrent`.
- Clonazepam: 1 mg x 2/day = 2 mg/day. Ashton 0.5 mg clonazepam = 1 mg lorazepam: 2 / 0.5 = **4.0** mg/day lorazepam
  equivalents; VA/DoD 2021 factor 0.25: 2 / 0.25 = **8.0**. 4.0 >= 4 (inclusive) -> `benzodiazepine-threshold`.
- Nothing unreadable.
""")

# 2. Epic: MedicationRequests whose medicationReference points to a Medication in the bundle (_include) or contained.
pid = "codings-epic-reference"
included_clonazepam = {"resourceType": "Medication", "id": "eMed-clonazepam-05", "_mode": "include",
                       "code": {"coding": [{"system": RXNORM, "code": "197527", "display": "clonazepam 0.5 MG Oral Tablet"}],
                                "text": "clonazePAM (KlonoPIN) 0.5 MG tablet"},
                       "form": {"coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.4.698288.310", "code": "11", "display": "tablet"}], "text": "tablet"}}
contained_lamotrigine = {"resourceType": "Medication", "id": "med-lamotrigine-100",
                         "code": {"coding": [{"system": RXNORM, "code": "198427", "display": "lamotrigine 100 MG Oral Tablet"}],
                                  "text": "lamoTRIgine (LAMICTAL) 100 MG tablet"}}
scenario("codings-epic-medication-reference", "Epic medicationReference to an included and a contained Medication coded with RxNorm products",
         request(pid, "Oostwald", "Mireille", "1984-01-19", requests=[
             med_request("eRx-clonazepam", pid, {"medicationReference": {"reference": "Medication/eMed-clonazepam-05", "display": "clonazePAM (KlonoPIN) 0.5 MG tablet"}},
                         epic_dosage("Take 1 tablet (0.5 mg total) by mouth 3 (three) times daily as needed for anxiety.", 3, mg_total=0.5, tabs=1, prn="anxiety")),
             included_clonazepam,
             med_request("eRx-lamotrigine", pid, {"medicationReference": {"reference": "#med-lamotrigine-100"}},
                         epic_dosage("Take 1 tablet (100 mg total) by mouth daily.", 1, mg_total=100, tabs=1), contained=[contained_lamotrigine]),
         ]),
         {"findings": ["benzodiazepine-borderline", "lamotrigine-concurrent"], "lamotrigineMgPerDay": 100, "lamotrigineDoseCategory": "standard",
          "lorazepamEquivalentMgPerDay": 3.0, "lorazepamEquivalentMgPerDayAlternate": 6.0,
          "benzodiazepines": [{"ingredient": "clonazepam", "mgPerDay": 1.5}], "unreadableResources": 0},
         """Two outpatient MedicationRequests as Epic sends them: no `medicationCodeableConcept`, a `medicationReference` instead.
Clonazepam points to `Medication/eMed-clonazepam-05`, which comes in the same searchset Bundle with `search.mode`
`include` (the prefetch template asks for `_include=MedicationRequest:medication`); its code is RxNorm product 197527
*clonazepam 0.5 MG Oral Tablet*. Lamotrigine points to a contained Medication (`#med-lamotrigine-100`, RxNorm 198427
*lamotrigine 100 MG Oral Tablet*). The sigs are Epic's default wording; `doseAndRate` holds both the calculated mg dose
and the ordered tablet count, as Epic writes them.

## Hand computation

- Lamotrigine: 1 tablet x 100 mg, once daily = **100 mg/day** -> standard (>= 100). `lamotrigine-concurrent`.
- Clonazepam: 0.5 mg up to 3 times daily as needed: counted at its most, 0.5 x 3 = **1.5 mg/day** (up to).
  Ashton 1.5 / 0.5 = **3.0** mg/day lorazepam equivalents (below 4); VA/DoD 1.5 / 0.25 = **6.0** (at or above 4): the
  tables disagree across the threshold -> `benzodiazepine-borderline`.
""")

# 3. Product-only codes: an RxNorm product code and a SNOMED CT product code, no display and no text.
pid = "codings-product-only"
scenario("codings-product-only-rxnorm", "Medications known only by a product code (RxNorm 197527; SNOMED CT 322981004)",
         request(pid, "Haverkamp", "Tess", "1990-11-05", statements=[
             statement("po-clonazepam", pid, coded(RXNORM, "197527"),
                       {"text": "1 tablet twice daily", "timing": repeat(2), "doseAndRate": [{"doseQuantity": tablets(1)}]}),
             statement("po-lamotrigine", pid, coded(SNOMED, "322981004"),
                       {"text": "50 mg once daily", "timing": repeat(1), "doseAndRate": [{"doseQuantity": mg(50)}]}),
         ]),
         {"findings": ["benzodiazepine-borderline", "lamotrigine-concurrent"], "lamotrigineMgPerDay": 50, "lamotrigineDoseCategory": "low",
          "lorazepamEquivalentMgPerDay": 2.0, "lorazepamEquivalentMgPerDayAlternate": 4.0,
          "benzodiazepines": [{"ingredient": "clonazepam", "mgPerDay": 1.0}], "unreadableResources": 0,
          "detailContains": {"benzodiazepine-borderline": ["clonazepam 0.5 MG Oral Tablet"],
                             "lamotrigine-concurrent": ["Product containing precisely lamotrigine 50 milligram/1 each conventional release oral tablet"]}},
         """Two MedicationStatements that carry nothing but a product code: RxNorm 197527 (the CDC benzodiazepine value set:
*clonazepam 0.5 MG Oral Tablet*) with a structured dose of 1 tablet twice daily, and SNOMED CT 322981004 (products.csv:
*Product containing precisely lamotrigine 50 milligram/1 each conventional release oral tablet*) at 50 mg once daily.
The cards must name them by product name and strength, not as "197527".

## Hand computation

- Clonazepam: 1 tablet x 0.5 mg (strength of RxNorm 197527, from the product supplement) x 2/day = **1.0 mg/day**.
  Ashton 1.0 / 0.5 = **2.0**; VA/DoD 1.0 / 0.25 = **4.0** (>= 4) -> `benzodiazepine-borderline`.
- Lamotrigine: 50 mg x 1/day = **50 mg/day** -> low (< 100). `lamotrigine-concurrent`.
""")

# 4. Three copies of one statement (new ids, same drug, dose and dates), plus a lamotrigine statement and its copy.
pid = "codings-duplicates"
clon = lambda sid: statement(sid, pid, coded(RXNORM, "2598", "clonazepam", "clonazepam 1 mg tablet"), oracle_dosage("1 mg, Oral, BID", 1, 2), start="2025-02-10")
lamo = lambda sid: statement(sid, pid, coded(RXNORM, "28439", "lamotrigine", "lamotrigine 50 mg tablet"), oracle_dosage("50 mg, Oral, daily", 50, 1), start="2025-01-06")
scenario("codings-duplicate-statements", "The same clonazepam statement recorded three times with new ids",
         request(pid, "Brandsma", "Joke", "1971-04-22", statements=[clon("dup-clon-a"), lamo("dup-lamo-a"), clon("dup-clon-b"), clon("dup-clon-c"), lamo("dup-lamo-b")]),
         {"findings": ["benzodiazepine-threshold", "lamotrigine-concurrent"], "lamotrigineMgPerDay": 50, "lamotrigineDoseCategory": "low",
          "lorazepamEquivalentMgPerDay": 4.0, "lorazepamEquivalentMgPerDayAlternate": 8.0,
          "benzodiazepines": [{"ingredient": "clonazepam", "mgPerDay": 2.0, "alsoRecordedAs": 2}], "unreadableResources": 0,
          "detailContains": {"benzodiazepine-threshold": ["3 medication statements record the same therapy"]}},
         """An EHR medication list that holds the same MedicationStatement three times (clonazepam 1 mg BID since 2025-02-10,
ids `dup-clon-a`, `-b`, `-c`) and lamotrigine 50 mg daily twice: copies with new ids, the same drug, dose, timing and
dates, as reconciliation imports and interfaces leave them. Summing them gave the measured 13.75 -> 59.5 mg/day of the
issue. Each therapy must count once, and the card must say the entries were merged.

## Hand computation

- Clonazepam: 1 mg x 2/day = **2.0 mg/day**, counted once (not 6.0). Ashton 2.0 / 0.5 = **4.0**; VA/DoD 2.0 / 0.25 =
  **8.0** -> `benzodiazepine-threshold`. (Summed, the three copies would give 12.0 / 24.0.)
- Lamotrigine: 50 mg x 1/day = **50 mg/day** (not 100) -> low. `lamotrigine-concurrent`.
""")

# 5. A scheduled and a PRN clonazepam order: two therapies, added and shown as concurrent.
pid = "codings-scheduled-prn"
scenario("codings-scheduled-plus-prn-clonazepam", "Scheduled clonazepam 0.5 mg BID and PRN clonazepam 0.5 mg daily as needed",
         request(pid, "Lindqvist", "Annika", "1987-07-30", requests=[
             med_request("rx-clon-bid", pid, coded(RXNORM, "197527", "clonazepam 0.5 MG Oral Tablet", "clonazePAM (KlonoPIN) 0.5 MG tablet"),
                         epic_dosage("Take 1 tablet (0.5 mg total) by mouth 2 (two) times daily.", 2, mg_total=0.5, tabs=1)),
             med_request("rx-clon-prn", pid, coded(RXNORM, "197527", "clonazepam 0.5 MG Oral Tablet", "clonazePAM (KlonoPIN) 0.5 MG tablet"),
                         epic_dosage("Take 1 tablet (0.5 mg total) by mouth daily as needed for panic.", 1, mg_total=0.5, tabs=1, prn="panic"),
                         authored="2026-10-20T09:30:00Z"),
         ]),
         {"findings": ["benzodiazepine-borderline"], "lamotrigineMgPerDay": None,
          "lorazepamEquivalentMgPerDay": 3.0, "lorazepamEquivalentMgPerDayAlternate": 6.0,
          "benzodiazepines": [{"ingredient": "clonazepam", "mgPerDay": 1.0}, {"ingredient": "clonazepam", "mgPerDay": 0.5}], "unreadableResources": 0,
          "detailContains": {"benzodiazepine-borderline": ["concurrent with 1 other clonazepam therapy"]}},
         """Two active Epic outpatient orders of the same product (RxNorm 197527, clonazepam 0.5 mg tablet): a scheduled 0.5 mg
twice daily and a separate 0.5 mg once daily as needed for panic. These are genuinely concurrent therapies of one drug
(different schedules), not copies: both are counted, and each is shown as concurrent with the other.

## Hand computation

- Scheduled: 0.5 mg x 2/day = **1.0 mg/day**. PRN: 0.5 mg, at most once daily = **0.5 mg/day** (up to).
- Total clonazepam 1.5 mg/day: Ashton 1.5 / 0.5 = **3.0** (below 4); VA/DoD 1.5 / 0.25 = **6.0** (>= 4) ->
  `benzodiazepine-borderline`. No lamotrigine: no lamotrigine card.
""")

# 6. Entries that cannot be classified and name nothing: counted unreadable; a coded non-psychotropic with a display is not.
pid = "codings-unreadable"
scenario("codings-unclassifiable-unnamed", "Entries with an unmapped SNOMED CT code and no name, and a reference to a Medication not sent",
         request(pid, "Okonkwo", "Adaeze", "1982-02-14", statements=[
             statement("unk-snomed", pid, coded(SNOMED, "999999999"), oracle_dosage("1 tab, Oral, daily", 1, 1)),
             statement("lamotrigine", pid, coded(RXNORM, "28439", "lamotrigine", "lamotrigine 100 mg tablet"), oracle_dosage("100 mg, Oral, daily", 100, 1)),
             statement("sertraline", pid, coded(SNOMED, "999999998", "Sertraline 50 mg oral tablet"), oracle_dosage("50 mg, Oral, daily", 50, 1)),
         ], requests=[
             med_request("ref-missing", pid, {"medicationReference": {"reference": "Medication/not-in-bundle"}},
                         epic_dosage("Take 1 tablet by mouth 2 (two) times daily.", 2, tabs=1)),
         ]),
         {"findings": ["lamotrigine-concurrent"], "lamotrigineMgPerDay": 100, "lamotrigineDoseCategory": "standard",
          "lorazepamEquivalentMgPerDay": None, "lorazepamEquivalentMgPerDayAlternate": None, "benzodiazepines": [],
          "unreadableResources": 2},
         """Four active entries. Lamotrigine 100 mg daily (RxNorm 28439) is recognized. Two entries cannot be classified and
name nothing: a MedicationStatement whose only coding is a SNOMED CT code in none of our tables (999999999) with no
display and no text, and an Epic MedicationRequest whose `medicationReference` points to `Medication/not-in-bundle`,
which the Bundle does not include, and which has no display. Either could be a benzodiazepine: they are counted as
unreadable and said on the card, not dropped. The fourth entry has an unmapped code too, but its display names another
drug ("Sertraline 50 mg oral tablet"): it is read, is none of ours, and is not unreadable (no flooding).

## Hand computation

- Lamotrigine: 100 mg x 1/day = **100 mg/day** -> standard. `lamotrigine-concurrent`.
- No benzodiazepine recognized: no benzodiazepine card.
- Unreadable: **2** (the unnamed SNOMED CT entry and the unresolvable reference); the sertraline entry is not counted.
""")


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def render(name, title, req, expected, narrative):
    exp = {"service": "ketamine-order-sign"}
    exp.update(expected)
    exp["findings"] = sorted(exp["findings"])
    return {
        "request.json": json.dumps(req, indent=2, ensure_ascii=False) + "\n",
        "expected.json": json.dumps(exp, indent=2, ensure_ascii=False) + "\n",
        "narrative.md": "# %s (%s)\n\n%s" % (title, name, narrative),
    }


def main(argv):
    check = "--check" in argv
    differ = []
    for name, title, req, expected, narrative in SCENARIOS:
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        for fname, text in render(name, title, json.loads(json.dumps(req)), expected, narrative).items():
            path = os.path.join(folder, fname)
            if check:
                if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
                    differ.append(path)
            else:
                write(path, text)
    if differ:
        print("differ from the generator: " + ", ".join(differ), file=sys.stderr)
        return 1
    print("%s %d scenarios under %s" % ("checked" if check else "wrote", len(SCENARIOS), OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
