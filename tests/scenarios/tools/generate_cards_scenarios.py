#!/usr/bin/env python3
"""Generate tests/scenarios/ehr-style/cards-*/ (stdlib only): card-wording scenarios for issue 7 items 5-8.

Each folder gets request.json (a CDS Hooks request built as an EHR sends it), expected.json (what the cards must say)
and narrative.md (the case and the pharmacist's hand computation). Patients, names, ids and dates are synthetic.
Codes are only those in fhir-profiles (RxNorm ingredients 6130, 2201623, 28439, 2598, 6470; products 197901, 197900).

Usage (from the repository root): python3 tests/scenarios/tools/generate_cards_scenarios.py [--check]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "ehr-style")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ASSESSMENT = "http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-assessment"
FHIR = "https://ehr.example.org/fhir"


def rx(code, display, text=None):
    concept = {"coding": [{"system": RXNORM, "code": code, "display": display}]}
    if text:
        concept["text"] = text
    return concept


def oral():
    return {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}], "text": "Oral"}


def daily(mg, frequency, text, period=1, unit="d"):
    return {
        "text": text,
        "timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": unit}},
        "route": oral(),
        "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}],
    }


def statement(pid, sid, medication, dosage=None, start="2024-01-10"):
    resource = {
        "resourceType": "MedicationStatement", "id": sid, "status": "active",
        "medicationCodeableConcept": medication,
        "subject": {"reference": f"Patient/{pid}"},
        "effectivePeriod": {"start": start},
    }
    if dosage:
        resource["dosage"] = [dosage]
    return resource


def bundle(resources, kind="searchset"):
    entries = []
    for r in resources:
        entry = {"fullUrl": f"{FHIR}/{r['resourceType']}/{r['id']}", "resource": r}
        if kind == "searchset":
            entry["search"] = {"mode": "include" if r["resourceType"] == "Medication" else "match"}
        entries.append(entry)
    b = {"resourceType": "Bundle", "type": kind, "entry": entries}
    if kind == "searchset":
        b["total"] = sum(1 for r in resources if r["resourceType"] != "Medication")
    return b


def patient(pid, family, given, birth):
    return {"resourceType": "Patient", "id": pid, "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.999", "value": f"MRN-{pid}"}],
            "name": [{"use": "official", "family": family, "given": [given]}], "gender": "female", "birthDate": birth}


def draft(pid, esketamine=False):
    if esketamine:
        med = rx("2201623", "esketamine Nasal Spray", "esketamine 28 mg/device nasal spray, 56 mg per session")
        dosage = {"text": "56 mg intranasally (2 devices), twice weekly", "route": {"coding": [{"system": SNOMED, "code": "46713006", "display": "Nasal route"}], "text": "Nasal"}}
    else:
        med = rx("6130", "ketamine", "ketamine hydrochloride 0.5 mg/kg IV infusion over 40 minutes")
        dosage = {"text": "0.5 mg/kg IV infusion over 40 minutes", "route": {"text": "Intravenous"}}
    return {"resourceType": "MedicationRequest", "id": f"draft-{pid}", "status": "draft", "intent": "order", "medicationCodeableConcept": med,
            "subject": {"reference": f"Patient/{pid}"}, "authoredOn": "2024-03-01T10:00:00Z", "dosageInstruction": [dosage]}


def observation(pid, oid, code, value, when):
    return {"resourceType": "Observation", "id": oid, "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}],
            "code": {"coding": [{"system": ASSESSMENT, "code": code}]}, "subject": {"reference": f"Patient/{pid}"},
            "effectiveDateTime": when, "valueInteger": value}


def request(hook, pid, instance, statements=(), requests=(), observations=(), esketamine=False, family="Synthetic", given="Ada", birth="1980-05-05"):
    context = {"userId": "Practitioner/prescriber-1", "patientId": pid}
    if hook != "patient-view":
        context["draftOrders"] = bundle([draft(pid, esketamine)], kind="collection")
    return {"hookInstance": instance, "hook": hook, "context": context, "prefetch": {
        "patient": patient(pid, family, given, birth),
        "medicationStatements": bundle(list(statements)),
        "medicationRequests": bundle(list(requests)),
        "observations": bundle(list(observations)),
    }}


def ketamine_statement(pid):
    return statement(pid, f"ms-{pid}-ketamine", rx("6130", "ketamine", "ketamine IV infusion series"), start="2024-03-01T08:00:00Z")


def lamotrigine(pid, mg=100, frequency=1, text="Take 1 tablet (100 mg total) by mouth daily."):
    return statement(pid, f"ms-{pid}-lamotrigine", rx("28439", "lamotrigine", "lamotrigine 100 mg tablet"), daily(mg, frequency, text))


SCENARIOS = {}


def scenario(name, narrative, req, expected):
    SCENARIOS[name] = (narrative, req, expected)


# 1. A PRN maximum drives the warning: "up to" in the summary.
pid = "cards-prn-1"
med = {"resourceType": "Medication", "id": "med-lorazepam-1mg", "code": rx("197901", "lorazepam 1 MG Oral Tablet", "LORazepam 1 mg tablet")}
prn = {"resourceType": "MedicationRequest", "id": "mr-prn-lorazepam", "status": "active", "intent": "order",
       "medicationReference": {"reference": "Medication/med-lorazepam-1mg", "display": "LORazepam 1 mg tablet"},
       "subject": {"reference": f"Patient/{pid}"}, "authoredOn": "2024-02-10T09:00:00Z",
       "dosageInstruction": [{"text": "Take 1 tablet (1 mg total) by mouth every 6 (six) hours as needed for anxiety.",
                              "asNeededCodeableConcept": {"text": "anxiety"},
                              "timing": {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}}, "route": oral(),
                              "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}]}
scenario("cards-prn-maximum-warning", f"""# PRN lorazepam drives the total: the summary says "up to"

An adult starting IV racemic ketamine takes lorazepam only as needed: the Epic-style outpatient order
(`medicationReference` to a Medication in the bundle, RxNorm product 197901 lorazepam 1 MG Oral Tablet) says
"Take 1 tablet (1 mg total) by mouth every 6 (six) hours as needed for anxiety.", with a structured dose of 1 mg
every 6 hours, as needed, oral route (SNOMED CT 26643006). Nothing is scheduled. The draft order is IV ketamine (RxNorm 6130).

## Hand computation

- Most the sig allows: 1 mg x (24 h / 6 h) = up to 4 mg/day; scheduled 0 mg/day.
- Lorazepam equivalents: Ashton factor 1 -> up to 4 mg/day; VA/DoD 2021 factor 1 -> up to 4 mg/day.
- Threshold 4 mg/day, inclusive: 4 >= 4 -> `benzodiazepine-threshold` (warning). The total is a PRN maximum, so the
  summary must say "up to 4", never a flat "4 mg/day" as if it were scheduled.
""", request("order-sign", pid, "0b7e6f0e-1c1a-4f7e-9a10-000000000001", requests=[prn, med]), {
    "service": "ketamine-order-sign",
    "findings": ["benzodiazepine-threshold"],
    "cards": {"benzodiazepine-threshold": {
        "indicator": "warning",
        "summaryContains": ["up to 4 mg/day lorazepam eq."],
        "detailContains": ["up to 4", "PRN maximum"],
        "extension": {"lorazepamEquivalentMgPerDay": 4, "lorazepamEquivalentMgPerDayAlternate": 4, "lorazepamEquivalentIsUpTo": True}}}})

# 2. Borderline by VA/DoD only.
pid = "cards-borderline-1"
scenario("cards-vadod-only-borderline", """# Clonazepam 1 mg/day: below the limit by Ashton, at it by VA/DoD 2021

An adult on clonazepam 1 mg at bedtime (MedicationStatement, RxNorm ingredient 2598, structured 1 mg once a day, oral)
is signed for IV racemic ketamine. No lamotrigine.

## Hand computation

- Clonazepam 1 mg x 1/day = 1 mg/day.
- Ashton factor 0.5 -> 1 / 0.5 = 2 mg/day lorazepam equivalents: below 4.
- VA/DoD 2021 factor 0.25 -> 1 / 0.25 = 4 mg/day: at the limit (inclusive), i.e. at or above it.
- Finding `benzodiazepine-borderline` (info). The summary says plainly what each table gives and that the alternate
  is at or above the limit (the old wording called 6 mg/day "near the 4 mg/day limit").
""", request("order-sign", pid, "0b7e6f0e-1c1a-4f7e-9a10-000000000002", statements=[
    statement(pid, "ms-clonazepam", rx("2598", "clonazepam", "clonazepam 1 mg tablet"), daily(1, 1, "1 mg by mouth at bedtime"))]), {
    "service": "ketamine-order-sign",
    "findings": ["benzodiazepine-borderline"],
    "cards": {"benzodiazepine-borderline": {
        "indicator": "info",
        "summaryContains": ["2 mg/day lorazepam eq. by Ashton Manual (below the 4 mg/day limit)", "4 by VA/DoD 2021 (at or above it)"],
        "detailNotContains": ["near the"],
        "extension": {"lorazepamEquivalentMgPerDay": 2, "lorazepamEquivalentMgPerDayAlternate": 4}}}})

# 3/4. Below the threshold: patient-view card vs nothing at order-sign (but listed on the lamotrigine card).
below_meds = lambda pid: [
    statement(pid, "ms-lorazepam", rx("6470", "lorazepam", "lorazepam 0.5 mg tablet"), daily(0.5, 2, "0.5 mg by mouth twice daily")),
    lamotrigine(pid),
]
below_text = """## Hand computation

- Lorazepam 0.5 mg x 2/day = 1 mg/day; Ashton factor 1 -> 1 mg/day; VA/DoD 2021 factor 1 -> 1 mg/day: below 4 by both.
- Lamotrigine 100 mg x 1/day = 100 mg/day -> standard dose (>= 100 mg/day).
"""
pid = "cards-below-1"
scenario("cards-below-threshold-patient-view", """# Lorazepam 1 mg/day on the chart: counted and shown, below the limit

Opening the chart (patient-view) of an adult on an IV racemic ketamine series (active MedicationStatement, RxNorm 6130)
who takes lorazepam 0.5 mg twice daily and lamotrigine 100 mg daily. No assessment scores are on file.

""" + below_text + """- patient-view always shows the benzodiazepine total, so "counted and below 4" can be told from "not recognized":
  a low-key info card `benzodiazepine-below-threshold`, next to `lamotrigine-concurrent`.
""", request("patient-view", pid, "0b7e6f0e-1c1a-4f7e-9a10-000000000003", statements=[ketamine_statement(pid)] + below_meds(pid)), {
    "service": "ketamine-patient-view",
    "findings": ["benzodiazepine-below-threshold", "lamotrigine-concurrent"],
    "cards": {
        "benzodiazepine-below-threshold": {"indicator": "info", "summaryContains": ["Benzodiazepines counted: 1 mg/day lorazepam eq.", "below the 4 mg/day limit"],
                                            "extension": {"lorazepamEquivalentMgPerDay": 1, "lorazepamEquivalentMgPerDayAlternate": 1}},
        "lamotrigine-concurrent": {"detailContains": ["Benzodiazepines counted: lorazepam 1 mg/day; 1 mg/day lorazepam eq."],
                                   "extension": {"lamotrigineMgPerDay": 100, "lamotrigineDoseCategory": "standard", "benzodiazepines.lorazepamEquivalentMgPerDay": 1}}}})
pid = "cards-below-2"
scenario("cards-below-threshold-order-sign", """# Lorazepam 1 mg/day at order-sign: no benzodiazepine card, listed on the lamotrigine card

The same medications as `cards-below-threshold-patient-view`, now while signing an IV racemic ketamine order.

""" + below_text + """- At order-select/order-sign a total below the threshold adds no card (alert fatigue); the lamotrigine card that is shown
  lists the benzodiazepines counted.
""", request("order-sign", pid, "0b7e6f0e-1c1a-4f7e-9a10-000000000004", statements=below_meds(pid)), {
    "service": "ketamine-order-sign",
    "findings": ["lamotrigine-concurrent"],
    "cards": {"lamotrigine-concurrent": {"detailContains": ["Benzodiazepines counted: lorazepam 1 mg/day; 1 mg/day lorazepam eq. (Ashton Manual), 1 (VA/DoD 2021); limit 4."],
                                         "extension": {"benzodiazepines.lorazepamEquivalentMgPerDay": 1, "benzodiazepines.lorazepamEquivalentMgPerDayAlternate": 1}}}})

# 5. Remission at treatment 4, then relapse.
pid = "cards-relapse-1"
days = ["2024-03-01", "2024-03-04", "2024-03-07", "2024-03-11"]
obs = [observation(pid, "qids-0", "qids-sr16-total", 20, "2024-02-28T09:00:00Z")]
for i, (day, qids) in enumerate(zip(days, [14, 10, 7, 5]), start=1):
    obs.append(observation(pid, f"cadss-{i}", "cadss-total", [6, 4, 3, 2][i - 1], f"{day}T10:00:00Z"))
    next_day = f"{day[:8]}{int(day[8:]) + 1:02d}"
    obs.append(observation(pid, f"qids-{i}", "qids-sr16-total", qids, f"{next_day}T09:00:00Z"))
obs.append(observation(pid, "qids-relapse", "qids-sr16-total", 12, "2024-04-01T09:00:00Z"))
scenario("cards-remission-then-relapse", """# Remission after treatment 4, then relapse three weeks later

Opening the chart (patient-view) of an adult who had four IV racemic ketamine infusions (2024-03-01, 03-04, 03-07,
03-11; a CADSS total on each day). QIDS-SR16: 20 on 2024-02-28 (baseline), then 14, 10, 7 and 5 the day after each
infusion, and 12 on 2024-04-01. No lamotrigine, no benzodiazepine.

## Hand computation

- Baseline 20 (last score before the first infusion).
- After #1: 14 (-30%); #2: 10 (-50%, response); #3: 7 (-65%); #4: 5 (-75%, remission: QIDS-SR <= 5).
- Latest 12 on 2024-04-01: (12 - 20) / 20 = -40%: no response and no remission on the latest score.
- At any point: response yes (first on 2024-03-05, the score of 10), remission yes (first on 2024-03-12). The article
  counts remission reached "at some point during the induction phase" (Results 3.2), so both are shown.
- CADSS mean (6 + 4 + 3 + 2) / 4 = 3.75.
""", request("patient-view", pid, "0b7e6f0e-1c1a-4f7e-9a10-000000000005", statements=[ketamine_statement(pid)], observations=obs), {
    "service": "ketamine-patient-view",
    "findings": ["ketamine-course"],
    "cards": {"ketamine-course": {
        "summaryContains": ["QIDS-SR 20 to 12 (-40%), remission earlier, not on the latest score"],
        "detailContains": ["at any point yes (first 2024-03-12), on the latest score no", "#4 (2024-03-11) 5 (-75%)",
                           "met remission criteria at some point during the induction phase", "(p = 0.94)"],
        "extension": {"qidsSr.baseline": 20, "qidsSr.latest": 12, "qidsSr.percentChange": -40, "qidsSr.response": False, "qidsSr.remission": False,
                      "qidsSr.responseAtAnyPoint": True, "qidsSr.remissionAtAnyPoint": True, "cadss.mean": 3.75}}}})

# 6/7. Esketamine vs IV order, lamotrigine card.
for name, esk, inst in (("cards-esketamine-lamotrigine", True, "6"), ("cards-iv-lamotrigine", False, "7")):
    pid = f"cards-route-{inst}"
    route = "intranasal esketamine (RxNorm SCDF 2201623)" if esk else "IV racemic ketamine (RxNorm 6130)"
    expected_card = {"extension": {"lamotrigineMgPerDay": 200, "lamotrigineDoseCategory": "standard", "ketamineForm": "esketamine" if esk else "racemic-ketamine"}}
    if esk:
        expected_card["detailContains"] = ["Intranasal esketamine: only 1 of the 8 cohort lamotrigine patients had it",
                                           "the IV-only analysis (47 IV patients, 7 on lamotrigine)", "(CADSS, p = 0.02)"]
        expected_card["detailNotContains"] = ["the signal came from IV patients"]
    else:
        expected_card["detailContains"] = ["the signal came from IV patients", "the IV-only analysis (47 IV patients, 7 on lamotrigine)",
                                           "(p = 0.02;", "(p = 0.45)"]
        expected_card["detailNotContains"] = ["Intranasal esketamine"]
    scenario(name, f"""# Lamotrigine 200 mg/day, order for {route}

An adult on lamotrigine 100 mg twice daily (MedicationStatement, RxNorm 28439, structured) is signed for {route}.

## Hand computation

- Lamotrigine 100 mg x 2/day = 200 mg/day -> standard dose.
- What the study can say depends on the route (Joseph et al. 2023, Table 1 and Results 3.1): of the 8 cohort lamotrigine
  patients, 1 received intranasal esketamine (Table 1, "Intranasal Esketamine ... 1 (12.5%)"); the CADSS effect
  (p = 0.02) was found "when we excluded all the patients receiving esketamine", i.e. in the 47 IV patients, 7 of them
  on lamotrigine (8 - 1; derived from Table 1), and not on QIDS-SR change (p = 0.45).
- {"The esketamine card says what the study could and could not show for intranasal esketamine." if esk else "The IV card says the signal came from IV patients."}
""", request("order-sign", pid, f"0b7e6f0e-1c1a-4f7e-9a10-00000000000{inst}", statements=[lamotrigine(pid, 100, 2, "Take 1 tablet (100 mg total) by mouth 2 (two) times daily.")], esketamine=esk), {
        "service": "ketamine-order-sign",
        "findings": ["lamotrigine-concurrent"],
        "cards": {"lamotrigine-concurrent": expected_card}})


def dump(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv
    differ = []
    for name, (narrative, req, expected) in SCENARIOS.items():
        folder = os.path.join(OUT, name)
        files = {"request.json": dump(req), "expected.json": dump(expected), "narrative.md": narrative}
        for fname, text in files.items():
            path = os.path.join(folder, fname)
            if check:
                if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
                    differ.append(path)
                continue
            os.makedirs(folder, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
    if differ:
        print("out of date:", *differ, sep="\n  ")
        return 1
    print(f"{len(SCENARIOS)} scenarios {'checked' if check else 'written'} under {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
