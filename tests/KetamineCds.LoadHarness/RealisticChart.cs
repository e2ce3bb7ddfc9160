using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KetamineCds.LoadHarness;

/// <summary>
/// An order-sign request the way a busy chart sends it: Table 2 patient 13 (lamotrigine 50 mg/day, clonazepam 2 mg/day,
/// an IV ketamine draft order) plus the rest of a pain-clinic patient's record, in the proportions the issue measured
/// (per 100 resources: 30 MedicationRequests, 10 MedicationStatements, 60 Observations of vitals, labs, PHQ-9 and MME).
/// Every resource carries what EHRs send: narrative, meta, identifiers, codings with displays, structured dosage.
/// Deterministic: the same size gives the same bytes.
/// </summary>
public static class RealisticChart
{
    private const string RxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";
    private const string Loinc = "http://loinc.org";

    // Non-target drugs of a pain-clinic list (RxNorm ingredient codes), with an Epic-style sig each.
    private static readonly (string Code, string Name, string Sig, decimal Dose, string Unit, int PerDay)[] OtherDrugs =
    [
        ("7804", "oxycodone hydrochloride 5 MG Oral Tablet", "Take 1 tablet (5 mg total) by mouth every 6 (six) hours as needed for pain.", 5, "mg", 4),
        ("25480", "gabapentin 300 MG Oral Capsule", "Take 1 capsule (300 mg total) by mouth 3 (three) times daily.", 300, "mg", 3),
        ("72625", "duloxetine 60 MG Delayed Release Oral Capsule", "Take 1 capsule (60 mg total) by mouth daily.", 60, "mg", 1),
        ("161", "acetaminophen 500 MG Oral Tablet", "Take 2 tablets (1,000 mg total) by mouth every 8 (eight) hours as needed.", 1000, "mg", 3),
        ("5640", "ibuprofen 600 MG Oral Tablet", "Take 1 tablet (600 mg total) by mouth every 8 (eight) hours with food.", 600, "mg", 3),
        ("6809", "metformin hydrochloride 500 MG Oral Tablet", "Take 1 tablet (500 mg total) by mouth 2 (two) times daily with meals.", 500, "mg", 2),
        ("29046", "lisinopril 10 MG Oral Tablet", "Take 1 tablet (10 mg total) by mouth daily.", 10, "mg", 1),
        ("83367", "atorvastatin 20 MG Oral Tablet", "Take 1 tablet (20 mg total) by mouth nightly.", 20, "mg", 1),
        ("36437", "sertraline 100 MG Oral Tablet", "Take 1 tablet (100 mg total) by mouth daily.", 100, "mg", 1),
        ("10689", "tramadol hydrochloride 50 MG Oral Tablet", "Take 1 tablet (50 mg total) by mouth every 6 (six) hours as needed for pain.", 50, "mg", 4),
        ("6754", "meperidine", "Take as directed.", 50, "mg", 1),
        ("1819", "buprenorphine 8 MG Sublingual Tablet", "Place 1 tablet (8 mg total) under the tongue daily.", 8, "mg", 1),
    ];

    // Observations no rule reads: vitals, labs, PHQ-9, MME (LOINC where one exists; a local code for MME).
    private static readonly (string System, string Code, string Display, string Category, decimal Low, decimal High, string Unit)[] OtherObservations =
    [
        (Loinc, "8867-4", "Heart rate", "vital-signs", 58, 96, "/min"),
        (Loinc, "8480-6", "Systolic blood pressure", "vital-signs", 105, 150, "mm[Hg]"),
        (Loinc, "8462-4", "Diastolic blood pressure", "vital-signs", 60, 95, "mm[Hg]"),
        (Loinc, "29463-7", "Body weight", "vital-signs", 60, 95, "kg"),
        (Loinc, "8310-5", "Body temperature", "vital-signs", 36.2m, 37.4m, "Cel"),
        (Loinc, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "vital-signs", 93, 100, "%"),
        (Loinc, "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "laboratory", 70, 160, "mg/dL"),
        (Loinc, "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "laboratory", 0.6m, 1.3m, "mg/dL"),
        (Loinc, "1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "laboratory", 10, 55, "U/L"),
        (Loinc, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", "survey", 5, 24, "{score}"),
        ("http://ehr.example.org/fhir/CodeSystem/flowsheet", "MME-DAILY", "Morphine milligram equivalents per day", "exam", 10, 90, "mg/d"),
    ];

    /// <summary>
    /// The same chart for <paramref name="patients"/> different patients (patient 13's id with a suffix), so a load run
    /// spreads over a clinic as real traffic does rather than hammering one patient's feedback-ledger rows.
    /// </summary>
    public static byte[][] BuildForPatients(int resources, int patients)
    {
        var text = System.Text.Encoding.UTF8.GetString(Build(resources));
        return Enumerable.Range(0, Math.Max(1, patients))
            .Select(i => System.Text.Encoding.UTF8.GetBytes(patients <= 1 ? text : text.Replace("table2-patient-13", $"table2-patient-13-{i:D5}", StringComparison.Ordinal)))
            .ToArray();
    }

    /// <summary>The request with <paramref name="resources"/> prefetched resources (at least the 7 of patient 13).</summary>
    public static byte[] Build(int resources)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "scenarios", "patient-13.json");
        var request = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var prefetch = request["prefetch"]!.AsObject();
        var statements = prefetch["medicationStatements"]!["entry"]!.AsArray();
        var requests = prefetch["medicationRequests"]!["entry"]!.AsArray();
        var observations = prefetch["observations"]!["entry"]!.AsArray();

        var i = 0;
        while (statements.Count + requests.Count + observations.Count < resources)
        {
            i++;
            var slot = i % 10;
            if (slot < 6)
            {
                observations.Add(Observation(i));
            }
            else if (slot < 9)
            {
                requests.Add(Medication("MedicationRequest", i));
            }
            else
            {
                statements.Add(Medication("MedicationStatement", i));
            }
        }

        prefetch["medicationStatements"]!["total"] = statements.Count;
        prefetch["medicationRequests"]!["total"] = requests.Count;
        prefetch["observations"]!["total"] = observations.Count;
        return JsonSerializer.SerializeToUtf8Bytes(request);
    }

    private static JsonObject Medication(string type, int i)
    {
        var drug = OtherDrugs[i % OtherDrugs.Length];
        var id = $"{(type == "MedicationRequest" ? "mr" : "ms")}-chart-{i}";
        var resource = new JsonObject
        {
            ["resourceType"] = type,
            ["id"] = id,
            ["meta"] = Meta(i),
            ["text"] = Narrative($"{drug.Name}: {drug.Sig} Reviewed with the patient at the pain clinic visit; refills per clinic policy."),
            ["identifier"] = new JsonArray(new JsonObject { ["system"] = "urn:oid:1.2.840.114350.1.13.0.1.7.2.798268", ["value"] = $"{900000 + i}" }),
            ["status"] = "active",
            ["medicationCodeableConcept"] = new JsonObject
            {
                ["coding"] = new JsonArray(new JsonObject { ["system"] = RxNorm, ["code"] = drug.Code, ["display"] = drug.Name }),
                ["text"] = drug.Name,
            },
            ["subject"] = new JsonObject { ["reference"] = "Patient/table2-patient-13", ["display"] = "Kestrelle, Sabine" },
        };
        var dosage = new JsonObject
        {
            ["text"] = drug.Sig,
            ["timing"] = new JsonObject { ["repeat"] = new JsonObject { ["frequency"] = drug.PerDay, ["period"] = 1, ["periodUnit"] = "d" } },
            ["route"] = new JsonObject
            {
                ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://snomed.info/sct", ["code"] = "26643006", ["display"] = "Oral route" }),
                ["text"] = "Oral",
            },
            ["doseAndRate"] = new JsonArray(new JsonObject
            {
                ["doseQuantity"] = new JsonObject { ["value"] = drug.Dose, ["unit"] = drug.Unit, ["system"] = "http://unitsofmeasure.org", ["code"] = drug.Unit },
            }),
        };
        if (type == "MedicationRequest")
        {
            resource["intent"] = "order";
            resource["authoredOn"] = Date(i);
            resource["requester"] = new JsonObject { ["reference"] = "Practitioner/pain-clinic-1", ["display"] = "Pain Clinic Prescriber" };
            resource["dosageInstruction"] = new JsonArray(dosage);
            resource["dispenseRequest"] = new JsonObject
            {
                ["numberOfRepeatsAllowed"] = 2,
                ["quantity"] = new JsonObject { ["value"] = 90, ["unit"] = "tablet" },
                ["expectedSupplyDuration"] = new JsonObject { ["value"] = 30, ["unit"] = "days", ["system"] = "http://unitsofmeasure.org", ["code"] = "d" },
            };
        }
        else
        {
            resource["effectivePeriod"] = new JsonObject { ["start"] = Date(i) };
            resource["dateAsserted"] = Date(i + 3);
            resource["dosage"] = new JsonArray(dosage);
        }

        return Entry(type, id, resource);
    }

    private static JsonObject Observation(int i)
    {
        var kind = OtherObservations[i % OtherObservations.Length];
        var id = $"obs-chart-{i}";
        var value = Math.Round(kind.Low + ((kind.High - kind.Low) * ((i * 37) % 100) / 100m), 1);
        var resource = new JsonObject
        {
            ["resourceType"] = "Observation",
            ["id"] = id,
            ["meta"] = Meta(i),
            ["text"] = Narrative($"{kind.Display}: {value.ToString(CultureInfo.InvariantCulture)} {kind.Unit}"),
            ["status"] = "final",
            ["category"] = new JsonArray(new JsonObject
            {
                ["coding"] = new JsonArray(new JsonObject
                {
                    ["system"] = "http://terminology.hl7.org/CodeSystem/observation-category",
                    ["code"] = kind.Category,
                }),
            }),
            ["code"] = new JsonObject
            {
                ["coding"] = new JsonArray(new JsonObject { ["system"] = kind.System, ["code"] = kind.Code, ["display"] = kind.Display }),
                ["text"] = kind.Display,
            },
            ["subject"] = new JsonObject { ["reference"] = "Patient/table2-patient-13" },
            ["effectiveDateTime"] = Date(i),
            ["issued"] = Date(i),
            ["performer"] = new JsonArray(new JsonObject { ["reference"] = "Practitioner/pain-clinic-1" }),
        };
        if (kind.Unit == "{score}")
        {
            resource["valueInteger"] = (int)value;
        }
        else
        {
            resource["valueQuantity"] = new JsonObject
            {
                ["value"] = value,
                ["unit"] = kind.Unit,
                ["system"] = "http://unitsofmeasure.org",
                ["code"] = kind.Unit,
            };
            resource["referenceRange"] = new JsonArray(new JsonObject
            {
                ["low"] = new JsonObject { ["value"] = kind.Low, ["unit"] = kind.Unit },
                ["high"] = new JsonObject { ["value"] = kind.High, ["unit"] = kind.Unit },
            });
        }

        return Entry("Observation", id, resource);
    }

    private static JsonObject Entry(string type, string id, JsonObject resource) => new()
    {
        ["fullUrl"] = $"https://ehr.example.org/fhir/{type}/{id}",
        ["resource"] = resource,
        ["search"] = new JsonObject { ["mode"] = "match" },
    };

    private static JsonObject Meta(int i) => new()
    {
        ["versionId"] = (1 + (i % 3)).ToString(CultureInfo.InvariantCulture),
        ["lastUpdated"] = Date(i),
    };

    private static JsonObject Narrative(string text) => new()
    {
        ["status"] = "generated",
        ["div"] = $"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{System.Net.WebUtility.HtmlEncode(text)}</p></div>",
    };

    private static string Date(int i) => new DateTime(2021, 1, 4, 9, 0, 0, DateTimeKind.Utc).AddHours(i * 7).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
