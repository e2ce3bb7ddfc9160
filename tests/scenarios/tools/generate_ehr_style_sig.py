#!/usr/bin/env python3
"""Generate the EHR-style sig scenarios (tests/scenarios/ehr-style/sig-*/) for KetamineCds, issue 7 items 1 and 3.

Each scenario is an order-sign request for IV racemic ketamine whose prefetch carries medications the way Epic sends
them: a MedicationRequest whose medicationReference points to a Medication included in the same searchset bundle
(search.mode "include", RxNorm product code), and a dosage whose schedule is only in dosage.text (the Epic default
sig), sometimes with the dose structured (doseAndRate.doseQuantity in tablets) and no timing. Everything is synthetic.
RxNorm product codes come from fhir-profiles/terminology/CodeSystem-rxnorm-product-ingredients.json (CDC value sets).

Usage (stdlib only):
    python3 tests/scenarios/tools/generate_ehr_style_sig.py          # (re)write fixtures
    python3 tests/scenarios/tools/generate_ehr_style_sig.py --check  # fail if files differ
"""
import json
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "ehr-style"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
MR_CAT = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
FHIR_BASE = "https://ehr.example.org/fhir"
NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://ketaminecds.org/fixtures/ehr-style-sig")


def uid(*parts):
    return str(uuid.uuid5(NS, "/".join(parts)))


def medication(mid, code, display):
    return {"resourceType": "Medication", "id": mid,
            "code": {"coding": [{"system": RXNORM, "code": code, "display": display}], "text": display}}


def order(rid, patient, med_id, med_display, dosage):
    return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
            "category": [{"coding": [{"system": MR_CAT, "code": "outpatient", "display": "Outpatient"}]}],
            "medicationReference": {"reference": f"Medication/{med_id}", "display": med_display},
            "subject": {"reference": f"Patient/{patient}"}, "authoredOn": "2026-10-01",
            "dosageInstruction": [dosage]}


def statement(sid, patient, code, text, dosage):
    return {"resourceType": "MedicationStatement", "id": sid, "status": "active",
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": text}], "text": text},
            "subject": {"reference": f"Patient/{patient}"}, "effectivePeriod": {"start": "2026-09-01"},
            "dosage": [dosage]}


def bundle(resources):
    entries = []
    for r in resources:
        mode = "include" if r["resourceType"] == "Medication" else "match"
        entries.append({"fullUrl": f"{FHIR_BASE}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": mode}})
    return {"resourceType": "Bundle", "type": "searchset", "total": sum(1 for r in resources if r["resourceType"] != "Medication"),
            "entry": entries}


def request(name, patient, family, statements, requests):
    draft = {"resourceType": "MedicationRequest", "id": f"draft-ketamine-{name}", "status": "draft", "intent": "order",
             "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "6130", "display": "ketamine"}],
                                           "text": "ketamine hydrochloride 0.5 mg/kg IV infusion over 40 minutes"},
             "subject": {"reference": f"Patient/{patient}"}, "authoredOn": "2026-10-02T10:00:00Z",
             "dosageInstruction": [{"text": "0.5 mg/kg IV infusion over 40 minutes", "route": {"text": "Intravenous"}}]}
    return {
        "hookInstance": uid(name, "hook"),
        "hook": "order-sign",
        "context": {"userId": "Practitioner/prescriber-1", "patientId": patient,
                    "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                    "entry": [{"fullUrl": f"urn:uuid:{uid(name, 'draft')}", "resource": draft}]}},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": patient, "name": [{"use": "official", "family": family, "given": ["Test"]}],
                        "gender": "female", "birthDate": "1980-01-01"},
            "medicationStatements": bundle(statements),
            "medicationRequests": bundle(requests),
            "observations": {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []},
        },
    }


def text_only(sig):
    return {"text": sig}


def dose_in_tablets_text_schedule(sig, tablets):
    # Epic: doseQuantity in tablets, the schedule only in the sig text (no timing).
    return {"text": sig, "doseAndRate": [{"doseQuantity": {"value": tablets, "unit": "tablet", "system": UCUM, "code": "{tbl}"}}]}


SCENARIOS = {
    "sig-iv-lorazepam-route-in-text": {
        "request": lambda n, p: request(n, p, "Quillfeather",
                                        [statement("ms-lzp-iv", p, "6470", "lorazepam", text_only("2 mg IV q6h prn agitation"))], []),
        "expected": {"service": "ketamine-order-sign", "findings": ["benzodiazepine-dose-unknown"],
                     "noFinding": ["benzodiazepine-threshold", "benzodiazepine-borderline"],
                     "medications": [{"ingredient": "lorazepam", "mgPerDay": 8, "counted": False, "notCountedReasonContains": "not oral"}]},
        "narrative": """# Lorazepam 2 mg IV every 6 hours as needed, route only in the sig

**Case.** An inpatient medication list (MedicationStatement) holds lorazepam coded by its RxNorm ingredient (6470),
with one dosage whose only content is the text "2 mg IV q6h prn agitation": no `dosage.route`, no structured dose.
An IV ketamine order is being signed.

**Pharmacist's computation.** 2 mg per dose, at most every 6 hours: 24 / 6 = 4 doses a day, 2 mg x 4 = **8 mg/day
at most** (as needed). The route is intravenous ("IV" in the sig). The lorazepam-equivalence tables (Ashton; VA/DoD
2021) convert oral doses only, so an IV dose is **not counted** against the 4 mg/day oral lorazepam-equivalent
threshold: no threshold warning. The medication is still named, as recognized and not counted because its route is
not oral (finding `benzodiazepine-dose-unknown`). Before issue 7 the route in the text was ignored, the dose was
counted as oral and a false 8 mg/day warning was raised.
"""},
    "sig-epic-lorazepam-parenthesized-total-prn": {
        "request": lambda n, p: request(n, p, "Marrowgate", [], [
            medication("epic-med-lzp05", "197900", "lorazepam 0.5 MG Oral Tablet"),
            order("epic-lzp-prn", p, "epic-med-lzp05", "LORAZEPAM 0.5 MG PO TABS",
                  text_only("Take 1 tablet (0.5 mg total) by mouth 3 (three) times daily as needed for anxiety.")),
            medication("epic-med-clz1", "197528", "clonazepam 1 MG Oral Tablet"),
            order("epic-clz", p, "epic-med-clz1", "CLONAZEPAM 1 MG PO TABS",
                  text_only("Take 1 tablet (1 mg total) by mouth 2 (two) times daily.")),
        ]),
        "expected": {"service": "ketamine-order-sign", "findings": ["benzodiazepine-threshold"],
                     "lorazepamEquivalentMgPerDay": 5.5, "lorazepamEquivalentMgPerDayAlternate": 9.5,
                     "medications": [{"ingredient": "lorazepam", "mgPerDay": 1.5, "counted": True},
                                     {"ingredient": "clonazepam", "mgPerDay": 2, "counted": True}]},
        "narrative": """# Epic default sigs: lorazepam 0.5 mg three times daily as needed, clonazepam 1 mg twice daily

**Case.** Two outpatient MedicationRequests as Epic sends them: `medicationReference` to a Medication included in the
same bundle (RxNorm 197900 lorazepam 0.5 MG Oral Tablet; 197528 clonazepam 1 MG Oral Tablet), and dosages with text
only, in Epic's default wording: "Take 1 tablet (0.5 mg total) by mouth 3 (three) times daily as needed for anxiety."
and "Take 1 tablet (1 mg total) by mouth 2 (two) times daily." An IV ketamine order is being signed.

**Pharmacist's computation.**
- Lorazepam: 0.5 mg (the parenthesized total) x 3 a day = **1.5 mg/day at most** (as needed). Lorazepam equivalents:
  1.5 / 1 = 1.5 (Ashton), 1.5 / 1 = 1.5 (VA/DoD 2021).
- Clonazepam: 1 mg x 2 a day = **2 mg/day**. Lorazepam equivalents: 2 / 0.5 = 4 (Ashton), 2 / 0.25 = 8 (VA/DoD 2021).
- Total: **5.5 mg/day** lorazepam equivalents (Ashton), 9.5 (VA/DoD 2021): at or above 4 under both tables,
  finding `benzodiazepine-threshold`. Before issue 7 both sigs ended as "dose could not be determined".
"""},
    "sig-epic-lamotrigine-parenthesized-total-daily": {
        "request": lambda n, p: request(n, p, "Thistlewood", [], [
            medication("epic-med-ltg200", "198429", "lamotrigine 200 MG Oral Tablet"),
            order("epic-ltg", p, "epic-med-ltg200", "LAMOTRIGINE 200 MG PO TABS", text_only("Take 1 tablet (200 mg total) by mouth daily.")),
        ]),
        "expected": {"service": "ketamine-order-sign", "findings": ["lamotrigine-concurrent"],
                     "lamotrigineMgPerDay": 200, "lamotrigineDoseCategory": "standard"},
        "narrative": """# Epic default sig: lamotrigine 200 mg daily

**Case.** An outpatient MedicationRequest as Epic sends it: `medicationReference` to an included Medication (RxNorm
198429 lamotrigine 200 MG Oral Tablet), dosage text only: "Take 1 tablet (200 mg total) by mouth daily." An IV
ketamine order is being signed.

**Pharmacist's computation.** 200 mg (the parenthesized total) x 1 a day = **200 mg/day**: standard dose (>= 100
mg/day, the article's split). Finding `lamotrigine-concurrent` with 200 mg/day. Before issue 7 the sig was not read
and the card could not give the dose.
"""},
    "sig-epic-lorazepam-strength-from-product": {
        "request": lambda n, p: request(n, p, "Brackenridge", [], [
            medication("epic-med-lzp1", "197901", "lorazepam 1 MG Oral Tablet"),
            order("epic-lzp-bid", p, "epic-med-lzp1", "LORAZEPAM 1 MG PO TABS",
                  dose_in_tablets_text_schedule("Take 1 tablet by mouth 2 (two) times daily.", 1)),
            medication("epic-med-clz1", "197528", "clonazepam 1 MG Oral Tablet"),
            order("epic-clz-hs", p, "epic-med-clz1", "CLONAZEPAM 1 MG PO TABS", text_only("Take 1 tablet by mouth nightly.")),
        ]),
        "expected": {"service": "ketamine-order-sign", "findings": ["benzodiazepine-threshold"],
                     "lorazepamEquivalentMgPerDay": 4, "lorazepamEquivalentMgPerDayAlternate": 6,
                     "medications": [{"ingredient": "lorazepam", "mgPerDay": 2, "counted": True},
                                     {"ingredient": "clonazepam", "mgPerDay": 1, "counted": True}]},
        "narrative": """# Epic default sig with the strength only in the product: lorazepam 1 mg tablet twice daily

**Case.** Two outpatient MedicationRequests as Epic sends them, each with `medicationReference` to an included
Medication (RxNorm 197901 lorazepam 1 MG Oral Tablet; 197528 clonazepam 1 MG Oral Tablet). The lorazepam dosage has
the dose structured as 1 tablet (`doseAndRate.doseQuantity` {1, `{tbl}`}) and the schedule only in its text: "Take 1
tablet by mouth 2 (two) times daily." (no `timing`). The clonazepam dosage is text only: "Take 1 tablet by mouth
nightly." Neither sig states mg: the strength comes from the product code.

**Pharmacist's computation.**
- Lorazepam: 1 tablet x 1 mg (RxNorm 197901) x 2 a day = **2 mg/day**; lorazepam equivalents 2 (Ashton), 2 (VA/DoD).
- Clonazepam: 1 tablet x 1 mg (RxNorm 197528) x 1 a day (nightly) = **1 mg/day**; lorazepam equivalents 1 / 0.5 = 2
  (Ashton), 1 / 0.25 = 4 (VA/DoD).
- Total: **4 mg/day** (Ashton), 6 (VA/DoD 2021): at the 4 mg/day threshold, which is inclusive (the protocol required
  < 4), finding `benzodiazepine-threshold`. Before issue 7 the lorazepam entry was "dose could not be determined: no
  frequency was given": the structured dose was taken and the schedule in the text was never read.
"""},
}


def main():
    check = "--check" in sys.argv
    differ = []
    for name, spec in SCENARIOS.items():
        folder = ROOT / name
        patient = f"ehr-{name}"
        files = {
            "request.json": json.dumps(spec["request"](name, patient), indent=2) + "\n",
            "expected.json": json.dumps(spec["expected"], indent=2) + "\n",
            "narrative.md": spec["narrative"],
        }
        for file, content in files.items():
            path = folder / file
            if check:
                if not path.exists() or path.read_text() != content:
                    differ.append(str(path))
            else:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
    if differ:
        print("differ:", *differ, sep="\n  ")
        sys.exit(1)


if __name__ == "__main__":
    main()
