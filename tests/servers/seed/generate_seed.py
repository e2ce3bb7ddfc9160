#!/usr/bin/env python3
"""Builds the test FHIR server's seed (table2.ndjson) from the Table 2 scenario fixtures. Stdlib only; deterministic.

Per Table 2 patient (tests/scenarios/table2/patient-NN/request.json): the prefetched Patient, MedicationStatements,
MedicationRequests and baseline QIDS-SR16 Observation, and the draft ketamine/esketamine order as a MedicationRequest
(status draft). For patients 01, 10 and 13 also a synthetic treatment course (COURSES below, explained in
tests/servers/seed/README.md): one completed MedicationAdministration per treatment, a CADSS total at the end of each
session and a QIDS-SR16 total about 24 h after each treatment (Joseph et al. 2023, Methods 2.1), coded and shaped as
fhir-profiles/profiles (qids-sr16-total-observation, cadss-total-observation) require. Plus the EHR user
Practitioner/dr-test and one patient with no ketamine at all (for the app's "no ketamine course" page).

Run: python3 tests/servers/seed/generate_seed.py   (rewrites tests/servers/seed/table2.ndjson)
"""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SCENARIOS = ROOT / "tests" / "scenarios" / "table2"
ASSESSMENT = "http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-assessment"
SURVEY = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey", "display": "Survey"}]}]
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"

IV = {
    "medication": {"coding": [{"system": RXNORM, "code": "6130", "display": "ketamine"}], "text": "ketamine hydrochloride 0.5 mg/kg IV infusion over 40 minutes"},
    "route": {"coding": [{"system": SNOMED, "code": "47625008", "display": "Intravenous route"}], "text": "Intravenous"},
    "text": "0.5 mg/kg IV infusion over 40 minutes",
    "minutes": 40,
}
IN = {
    "medication": {"coding": [{"system": RXNORM, "code": "2201623", "display": "esketamine Nasal Spray"}], "text": "esketamine (Spravato) 56 mg intranasal"},
    "route": {"coding": [{"system": SNOMED, "code": "46713006", "display": "Nasal route"}], "text": "Intranasal"},
    "text": "56 mg intranasal",
    "minutes": 0,
}

# Synthetic courses: (treatment date, route, CADSS at the end of the session, QIDS-SR16 about 24 h later).
COURSES = {
    "01": [("2021-06-02", IV, 14, 16), ("2021-06-04", IV, 11, 13), ("2021-06-07", IV, 9, 9),
           ("2021-06-09", IV, 8, 7), ("2021-06-11", IV, 6, 5), ("2021-06-14", IV, 5, 8)],
    "10": [("2021-06-11", IN, 18, 20), ("2021-06-14", IN, 16, 18), ("2021-06-16", IN, 15, 17),
           ("2021-06-18", IN, 12, 15), ("2021-06-21", IN, 12, 14), ("2021-06-23", IN, 10, 13)],
    "13": [("2021-06-14", IV, 20, 18), ("2021-06-16", IV, 17, 12), ("2021-06-18", IV, 15, 10),
           ("2021-06-21", IN, 9, 11), ("2021-06-23", IN, 8, 14), ("2021-06-25", IN, 8, 15)],
}


def observation(oid, patient, code, display, when, value):
    return {
        "resourceType": "Observation", "id": oid, "status": "final", "category": SURVEY,
        "code": {"coding": [{"system": ASSESSMENT, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{patient}"}, "effectiveDateTime": when, "valueInteger": value,
    }


def next_day(date):
    from datetime import date as d, timedelta
    y, m, dd = map(int, date.split("-"))
    return (d(y, m, dd) + timedelta(days=1)).isoformat()


def course(nn, patient):
    out = []
    for i, (day, route, cadss, qids) in enumerate(COURSES[nn], start=1):
        start = f"{day}T10:00:00Z"
        end = f"{day}T10:{route['minutes']:02d}:00Z" if route["minutes"] else start
        admin = {
            "resourceType": "MedicationAdministration", "id": f"ma-{nn}-tx{i}", "status": "completed",
            "medicationCodeableConcept": route["medication"], "subject": {"reference": f"Patient/{patient}"},
            "dosage": {"text": route["text"], "route": route["route"]},
        }
        if route["minutes"]:
            admin["effectivePeriod"] = {"start": start, "end": end}
        else:
            admin["effectiveDateTime"] = start
        out.append(admin)
        out.append(observation(f"obs-{nn}-cadss-tx{i}", patient, "cadss-total", "CADSS total score", end, cadss))
        out.append(observation(f"obs-{nn}-qids-tx{i}", patient, "qids-sr16-total", "QIDS-SR16 total score", f"{next_day(day)}T10:00:00Z", qids))
    return out


def medication_reference_patient():
    """A patient whose every medication names its product only through medicationReference, with no display: what the
    medications are lives in the Medication resources, which the app gets by _include (as from an EHR that orders by
    product). IV ketamine, lorazepam 2 mg three times a day (6 mg/day) and lamotrigine 1 tablet of 100 mg twice a day
    (200 mg/day, the strength read from the Medication's ingredient)."""
    pid = "medication-reference-patient"
    subject = {"reference": f"Patient/{pid}"}

    def medication(mid, code, display, text, strength_mg=None):
        m = {"resourceType": "Medication", "id": mid, "code": {"coding": [{"system": RXNORM, "code": code, "display": display}], "text": text}}
        if strength_mg is not None:
            m["ingredient"] = [{
                "itemCodeableConcept": {"coding": [{"system": RXNORM, "code": "28439", "display": "lamotrigine"}]},
                "strength": {"numerator": {"value": strength_mg, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
                             "denominator": {"value": 1, "unit": "tablet", "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB"}},
            }]
        return m

    def per_day(text, value, unit, code, frequency, route=None):
        d = {"text": text, "timing": {"repeat": {"frequency": frequency, "period": 1, "periodUnit": "d"}},
             "doseAndRate": [{"doseQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": code}}]}
        if route:
            d["route"] = route
        return d

    return [
        {"resourceType": "Patient", "id": pid,
         "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.999", "value": "MRN-99-000002"}],
         "name": [{"use": "official", "family": "Brackenridge", "given": ["Odile"]}], "gender": "female", "birthDate": "1975-03-14"},
        {"resourceType": "Medication", "id": "med-ketamine-50mg-ml",
         "code": {"coding": [{"system": RXNORM, "code": "6130", "display": "ketamine"}], "text": "ketamine HCl 50 mg/mL injection"}},
        medication("med-lorazepam-1mg", "197901", "lorazepam 1 MG Oral Tablet", "LORazepam 1 MG tablet"),
        medication("med-lamotrigine-100mg", "198427", "lamotrigine 100 MG Oral Tablet", "lamoTRIgine 100 MG tablet", strength_mg=100),
        {"resourceType": "MedicationRequest", "id": "mr-mref-ketamine", "status": "active", "intent": "order",
         "medicationReference": {"reference": "Medication/med-ketamine-50mg-ml"}, "subject": subject, "authoredOn": "2021-06-01",
         "dosageInstruction": [{"text": "0.5 mg/kg IV infusion over 40 minutes", "route": IV["route"]}]},
        {"resourceType": "MedicationRequest", "id": "mr-mref-lorazepam", "status": "active", "intent": "order",
         "medicationReference": {"reference": "Medication/med-lorazepam-1mg"}, "subject": subject, "authoredOn": "2021-05-20",
         "dosageInstruction": [per_day("Take 2 tablets (2 mg total) by mouth 3 (three) times daily.", 2, "mg", "mg", 3)]},
        {"resourceType": "MedicationStatement", "id": "ms-mref-lamotrigine", "status": "active",
         "medicationReference": {"reference": "Medication/med-lamotrigine-100mg"}, "subject": subject, "dateAsserted": "2021-06-01",
         "dosage": [per_day("Take 1 tablet by mouth 2 (two) times daily.", 1, "tablet", "{tbl}", 2)]},
    ]


def main():
    resources = [{
        "resourceType": "Practitioner", "id": "dr-test", "active": True,
        "name": [{"use": "official", "family": "Prescriber", "given": ["Test"], "prefix": ["Dr"]}],
    }]
    for folder in sorted(SCENARIOS.glob("patient-*")):
        nn = folder.name.split("-")[1]
        request = json.loads((folder / "request.json").read_text(encoding="utf-8"))
        prefetch = request["prefetch"]
        patient = prefetch["patient"]
        resources.append(patient)
        for key in ("medicationStatements", "medicationRequests", "observations"):
            resources.extend(e["resource"] for e in prefetch[key].get("entry", []))
        resources.extend(e["resource"] for e in request["context"]["draftOrders"]["entry"])
        if nn in COURSES:
            resources.extend(course(nn, patient["id"]))
    # A patient on lamotrigine with no ketamine or esketamine anywhere in the record.
    resources.append({
        "resourceType": "Patient", "id": "no-ketamine-patient",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.999", "value": "MRN-99-000001"}],
        "name": [{"use": "official", "family": "Thornbury", "given": ["Elias"]}], "gender": "male", "birthDate": "1969-09-23",
    })
    resources.append({
        "resourceType": "MedicationStatement", "id": "ms-99-1", "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "28439", "display": "lamotrigine"}], "text": "Lamotrigine"},
        "subject": {"reference": "Patient/no-ketamine-patient"}, "dateAsserted": "2021-06-01",
        "dosage": [{"text": "100 mg daily", "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}],
    })
    resources.extend(medication_reference_patient())
    ids = [(r["resourceType"], r["id"]) for r in resources]
    assert len(ids) == len(set(ids)), "duplicate resource ids in the seed"
    out = HERE / "table2.ndjson"
    out.write_text("".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in resources), encoding="utf-8")
    print(f"{out.relative_to(ROOT)}: {len(resources)} resources")


if __name__ == "__main__":
    main()
