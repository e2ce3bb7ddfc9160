using System.Globalization;
using System.Text;
using System.Text.Json;

namespace KetamineCds.Review.Synthetic;

/// <summary>What the generator put in the export: the ground truth a review of it is checked against.</summary>
public sealed record SyntheticTruth
{
    public int Seed { get; init; }
    public int Patients { get; init; }
    public long Resources { get; init; }
    public int KetaminePatients { get; init; }
    public int LamotriginePatients { get; init; }
    public int LamotrigineLow { get; init; }
    public int LamotrigineStandard { get; init; }
    public int BenzodiazepineAboveThreshold { get; init; }
    public int BenzodiazepineBelowThreshold { get; init; }
    public int BenzodiazepineDoseUnknown { get; init; }
    public int KetaminePatientsWithQids { get; init; }
    public int MalformedLines { get; init; }
    public int ResourcesNamingNoPatient { get; init; }
    public DateTimeOffset AsOf { get; init; }
}

/// <summary>
/// Writes a synthetic, deterministic (by seed) Bulk Data export of a clinic: Patient, Medication, MedicationRequest,
/// MedicationStatement and Observation NDJSON files, Observations split across files as Bulk Data servers do. A realistic
/// mix: mostly vitals, labs and PHQ-9 Observations and everyday medications; about one patient in ten on IV ketamine or
/// intranasal esketamine with QIDS-SR16 and CADSS totals, some with lamotrigine (low and standard doses) or a
/// benzodiazepine (above, below the 4 mg/day threshold, or undosable), in Epic style (medicationReference to a
/// Medication, structured dose, "Take 1 tablet ... by mouth 2 (two) times daily") and Oracle Health style (coded
/// medicationCodeableConcept, sig text only: "200 mg PO BID"); a few malformed lines (truncated JSON, invalid UTF-8)
/// and resources naming no patient. All data are invented; no real patient is described.
/// </summary>
public static class SyntheticExport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    // Everyday medications (RxNorm ingredient codes, all outside the KetamineCds value sets).
    private static readonly (string Code, string Name, int Mg, string Form)[] OtherMedications =
    [
        ("36437", "sertraline", 100, "tablet"), ("29046", "lisinopril", 20, "tablet"), ("6809", "metformin", 500, "tablet"),
        ("83367", "atorvastatin", 40, "tablet"), ("10582", "levothyroxine", 0, "tablet"), ("7646", "omeprazole", 20, "capsule"),
        ("42347", "bupropion", 150, "extended release tablet"), ("39786", "venlafaxine", 75, "capsule"), ("51272", "quetiapine", 50, "tablet"),
        ("6448", "lithium carbonate", 300, "capsule"), ("89013", "aripiprazole", 5, "tablet"), ("5640", "ibuprofen", 400, "tablet"),
        ("161", "acetaminophen", 500, "tablet"), ("17767", "amlodipine", 5, "tablet"), ("32968", "clopidogrel", 75, "tablet"),
        ("41493", "meloxicam", 15, "tablet"), ("321988", "escitalopram", 10, "tablet"), ("4493", "fluoxetine", 20, "capsule"),
        ("25480", "gabapentin", 300, "capsule"), ("2556", "citalopram", 20, "tablet"), ("72625", "duloxetine", 60, "capsule"),
        ("38404", "topiramate", 50, "tablet"), ("15996", "mirtazapine", 15, "tablet"), ("10689", "trazodone", 50, "tablet"),
    ];

    private static readonly (string Loinc, string Display, string Unit, double Low, double High)[] OtherObservations =
    [
        ("8867-4", "Heart rate", "/min", 55, 105), ("8480-6", "Systolic blood pressure", "mm[Hg]", 100, 160),
        ("8462-4", "Diastolic blood pressure", "mm[Hg]", 60, 100), ("29463-7", "Body weight", "kg", 50, 120),
        ("8310-5", "Body temperature", "Cel", 36.1, 37.8), ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 180),
        ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.4), ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 11, 17),
        ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", "{score}", 0, 27),
    ];

    private static readonly string[] Families = ["Garcia", "Nguyen", "Smith", "Okafor", "Kowalski", "Haddad", "Lindqvist", "Tanaka", "Moreau", "Silva", "Brown", "Novak"];
    private static readonly string[] Givens = ["Alex", "Maria", "Sam", "Priya", "John", "Aiko", "Omar", "Elena", "Chen", "Fatima", "Lucas", "Grace"];

    /// <summary>Writes the export to <paramref name="directory"/> and returns its ground truth (also written as .ground-truth.json).</summary>
    public static SyntheticTruth Write(string directory, int patients, int seed, DateTimeOffset asOf, int observationFiles = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(patients, 1);
        Directory.CreateDirectory(directory);
        var random = new Random(seed);
        using var patientFile = Open(directory, "Patient.ndjson");
        using var medicationFile = Open(directory, "Medication.ndjson");
        using var requestFile = Open(directory, "MedicationRequest.ndjson");
        using var statementFile = Open(directory, "MedicationStatement.ndjson");
        var observationWriters = Enumerable.Range(0, observationFiles).Select(i => Open(directory, $"Observation.{i:000}.ndjson")).ToArray();
        long resources = 0;
        int malformed = 0, noPatient = 0, ketaminePatients = 0, lamotrigine = 0, lamLow = 0, lamStandard = 0, benzoHigh = 0, benzoLow = 0, benzoUnknown = 0, withQids = 0;

        // Epic-style Medication catalog: one Medication per product, referenced by the requests.
        var catalog = new List<string>();
        foreach (var (code, name, mg, form) in OtherMedications)
        {
            catalog.Add(MedicationJson($"med-{name.Replace(' ', '-')}", code, mg == 0 ? $"{name} {form}" : $"{name} {mg} MG Oral {Cap(form)}"));
        }

        catalog.Add(MedicationJson("med-ketamine-inj", "6130", "ketamine 50 MG/ML Injectable Solution"));
        catalog.Add(MedicationJson("med-lamotrigine-100", "28439", "lamotrigine 100 MG Oral Tablet"));
        catalog.Add(MedicationJson("med-clonazepam-1", "2598", "clonazepam 1 MG Oral Tablet"));
        foreach (var m in catalog)
        {
            medicationFile.WriteLine(m);
            resources++;
        }

        long observationLine = 0;
        void Observation(string json)
        {
            var writer = observationWriters[(int)(observationLine++ % observationWriters.Length)];
            writer.WriteLine(json);
            resources++;
        }

        for (var n = 0; n < patients; n++)
        {
            var epic = random.Next(2) == 0;
            var id = epic ? EpicId(random) : (12_000_000 + n).ToString(Inv);
            var family = Families[random.Next(Families.Length)];
            var given = Givens[random.Next(Givens.Length)];
            var birth = new DateOnly(1940, 1, 1).AddDays(random.Next(0, 365 * 60));
            patientFile.WriteLine($$$"""{"resourceType":"Patient","id":"{{{id}}}","meta":{"lastUpdated":"2026-11-01T00:00:00Z"},"identifier":[{"system":"urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14","value":"E{{{n:0000000}}}"}],"name":[{"use":"official","family":"{{{family}}}","given":["{{{given}}}"]}],"gender":"{{{(random.Next(2) == 0 ? "female" : "male")}}}","birthDate":"{{{birth:yyyy-MM-dd}}}"}""");
            resources++;

            // Everyday medications and observations.
            var other = random.Next(5, 12);
            for (var i = 0; i < other; i++)
            {
                var med = OtherMedications[random.Next(OtherMedications.Length)];
                var authored = asOf.AddDays(-random.Next(10, 900));
                if (random.Next(3) > 0)
                {
                    requestFile.WriteLine(epic
                        ? RequestEpic($"{id}-r{i}", id, $"med-{med.Name.Replace(' ', '-')}", med.Name, Math.Max(med.Mg, 1), 1, authored)
                        : RequestOracle($"{id}-r{i}", id, med.Code, $"{med.Name} {med.Mg} mg oral {med.Form}", $"{med.Mg} mg PO daily", authored));
                }
                else
                {
                    statementFile.WriteLine(Statement($"{id}-s{i}", id, med.Code, $"{med.Name} {med.Mg} mg oral {med.Form}", $"{med.Mg} mg PO daily", authored));
                }

                resources++;
            }

            var observations = random.Next(60, 110);
            for (var i = 0; i < observations; i++)
            {
                var kind = OtherObservations[random.Next(OtherObservations.Length)];
                var value = Math.Round(kind.Low + (random.NextDouble() * (kind.High - kind.Low)), 1);
                var when = asOf.AddDays(-random.Next(1, 700)).AddMinutes(random.Next(0, 1440));
                Observation($$$"""{"resourceType":"Observation","id":"{{{id}}}-o{{{i}}}","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"{{{(kind.Loinc == "44261-6" ? "survey" : kind.Unit == "mg/dL" || kind.Unit == "g/dL" ? "laboratory" : "vital-signs")}}}"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"{{{kind.Loinc}}}","display":"{{{kind.Display}}}"}],"text":"{{{kind.Display}}}"},"subject":{"reference":"Patient/{{{id}}}"},"effectiveDateTime":"{{{Date(when)}}}","valueQuantity":{"value":{{{value.ToString(Inv)}}},"unit":"{{{kind.Unit}}}","system":"http://unitsofmeasure.org","code":"{{{kind.Unit}}}"}}""");
            }

            // About one in ten is on ketamine or esketamine; a few others take lamotrigine or a benzodiazepine without it.
            var onKetamine = random.Next(10) == 0;
            var start = asOf.AddDays(-random.Next(40, 120));
            if (onKetamine)
            {
                ketaminePatients++;
                if (random.Next(2) == 0)
                {
                    requestFile.WriteLine($$$"""{"resourceType":"MedicationRequest","id":"{{{id}}}-ket","status":"active","intent":"order","medicationReference":{"reference":"Medication/med-ketamine-inj","display":"ketamine 50 MG/ML Injectable Solution"},"subject":{"reference":"Patient/{{{id}}}"},"authoredOn":"{{{Date(start)}}}","dosageInstruction":[{"text":"0.5 mg/kg IV over 40 minutes twice weekly","route":{"coding":[{"system":"http://snomed.info/sct","code":"47625008","display":"Intravenous route"}],"text":"Intravenous"}}]}""");
                }
                else
                {
                    statementFile.WriteLine($$$"""{"resourceType":"MedicationStatement","id":"{{{id}}}-esk","status":"active","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"2119365","display":"esketamine 28 MG per actuation Nasal Spray [Spravato]"}],"text":"Spravato 28 mg nasal spray"},"subject":{"reference":"Patient/{{{id}}}"},"effectivePeriod":{"start":"{{{Date(start)}}}"},"dosage":[{"text":"56 mg intranasal twice weekly","route":{"text":"Nasal"}}]}""");
                }

                resources++;
                if (random.Next(10) < 8)
                {
                    withQids++;
                    var qids = random.Next(14, 24);
                    Observation(Assessment($"{id}-q0", id, "qids-sr16-total", "QIDS-SR16 total score", start.AddDays(-2), qids));
                    for (var t = 0; t < 6; t++)
                    {
                        var day = start.AddDays(t * 3.5);
                        Observation(Assessment($"{id}-c{t}", id, "cadss-total", "CADSS total score", day.AddHours(1), random.Next(0, 40)));
                        qids = Math.Max(0, qids - random.Next(0, 4));
                        Observation(Assessment($"{id}-q{t + 1}", id, "qids-sr16-total", "QIDS-SR16 total score", day.AddDays(1), qids));
                    }
                }
            }

            if (onKetamine || random.Next(30) == 0)
            {
                var kind = random.Next(100);
                if (kind < 35)
                {
                    var low = random.Next(2) == 0;
                    var mgPerDose = low ? 25 : 150;
                    if (onKetamine)
                    {
                        lamotrigine++;
                        if (low) { lamLow++; } else { lamStandard++; }
                    }

                    // Epic: a structured daily dose via the Medication catalog; Oracle: coded product, sig text only.
                    requestFile.WriteLine(epic
                        ? RequestEpic($"{id}-lam", id, "med-lamotrigine-100", "lamotrigine", mgPerDose, low ? 1 : 2, start.AddDays(-200))
                        : RequestOracle($"{id}-lam", id, "28439", $"lamotrigine {mgPerDose} mg oral tablet", low ? $"{mgPerDose} mg PO daily" : $"{mgPerDose} mg PO BID", start.AddDays(-200)));
                    resources++;
                }

                var benzo = random.Next(100);
                if (benzo < 40)
                {
                    string line;
                    if (benzo < 15)
                    {
                        // Clonazepam 2 mg twice daily: far above 4 mg/day lorazepam equivalents under either table.
                        line = epic
                            ? RequestEpic($"{id}-bzd", id, "med-clonazepam-1", "clonazepam", 2, 2, start.AddDays(-300))
                            : Statement($"{id}-bzd", id, "2598", "clonazepam 2 mg oral tablet", "2 mg PO BID", start.AddDays(-300));
                        if (onKetamine) { benzoHigh++; }
                    }
                    else if (benzo < 30)
                    {
                        // Lorazepam 0.5 mg at bedtime: well below.
                        line = RequestOracle($"{id}-bzd", id, "6470", "lorazepam 0.5 mg oral tablet", "0.5 mg PO daily at bedtime", start.AddDays(-100));
                        if (onKetamine) { benzoLow++; }
                    }
                    else
                    {
                        // Recognized but undosable: no structured dose, a sig that says nothing countable.
                        line = Statement($"{id}-bzd", id, "596", "alprazolam oral tablet", "Take as directed", start.AddDays(-60));
                        if (onKetamine) { benzoUnknown++; }
                    }

                    (line.Contains("\"MedicationStatement\"", StringComparison.Ordinal) ? statementFile : requestFile).WriteLine(line);
                    resources++;
                }
            }

            // Now and then a record an EHR should not have sent.
            if (n % 1000 == 17)
            {
                Observation($$$"""{"resourceType":"Observation","id":"{{{id}}}-bad","status":"final","code":{"text":"Heart rate"},"subject":{"reference":"Patient/{{{id}}}"},"valueQuan""");
                resources--;
                malformed++;
            }

            if (n % 1000 == 503)
            {
                observationWriters[0].Flush();
                var raw = observationWriters[0].BaseStream;
                // Latin-1 "café" where UTF-8 belongs: a byte 0xE9 that is no UTF-8 sequence.
                raw.Write([.. "{\"resourceType\":\"Observation\",\"id\":\"x\",\"code\":{\"text\":\"caf"u8, 0xE9, .. "\"}}\n"u8]);
                observationLine++;
                malformed++;
            }

            if (n % 1000 == 911)
            {
                Observation($$$"""{"resourceType":"Observation","id":"{{{id}}}-nosubj","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":72,"unit":"/min"}}""");
                noPatient++;
            }
        }

        foreach (var w in observationWriters)
        {
            w.Dispose();
        }

        var truth = new SyntheticTruth
        {
            Seed = seed, Patients = patients, Resources = resources, KetaminePatients = ketaminePatients, LamotriginePatients = lamotrigine,
            LamotrigineLow = lamLow, LamotrigineStandard = lamStandard, BenzodiazepineAboveThreshold = benzoHigh, BenzodiazepineBelowThreshold = benzoLow,
            BenzodiazepineDoseUnknown = benzoUnknown, KetaminePatientsWithQids = withQids, MalformedLines = malformed, ResourcesNamingNoPatient = noPatient, AsOf = asOf,
        };
        File.WriteAllText(Path.Combine(directory, ".ground-truth.json"), JsonSerializer.Serialize(truth, Indented));
        return truth;
    }

    private static StreamWriter Open(string directory, string name) =>
        new(new FileStream(Path.Combine(directory, name), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16), new UTF8Encoding(false)) { NewLine = "\n" };

    private static string Cap(string s) => string.Join(' ', s.Split(' ').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));

    private static string Date(DateTimeOffset when) => when.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Inv);

    private static string EpicId(Random random)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        Span<char> id = stackalloc char[24];
        id[0] = 'e';
        for (var i = 1; i < id.Length; i++)
        {
            id[i] = alphabet[random.Next(alphabet.Length)];
        }

        return new string(id);
    }

    private static string MedicationJson(string id, string rxnorm, string text) =>
        $$$"""{"resourceType":"Medication","id":"{{{id}}}","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"{{{rxnorm}}}"}],"text":"{{{text}}}"}}""";

    private static string Assessment(string id, string patient, string code, string display, DateTimeOffset when, int value) =>
        $$$"""{"resourceType":"Observation","id":"{{{id}}}","meta":{"profile":["http://ketaminecds.org/fhir/StructureDefinition/{{{(code == "cadss-total" ? "cadss-total-observation" : "qids-sr16-total-observation")}}}"]},"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"survey","display":"Survey"}]}],"code":{"coding":[{"system":"http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-assessment","code":"{{{code}}}","display":"{{{display}}}"}],"text":"{{{display}}}"},"subject":{"reference":"Patient/{{{patient}}}"},"effectiveDateTime":"{{{Date(when)}}}","valueInteger":{{{value}}}}""";

    /// <summary>Epic style: medicationReference to the catalog, a structured dose and timing, and Epic's sig wording.</summary>
    private static string RequestEpic(string id, string patient, string medication, string name, int mg, int perDay, DateTimeOffset authored) =>
        $$$"""{"resourceType":"MedicationRequest","id":"{{{id}}}","status":"active","intent":"order","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/medicationrequest-category","code":"outpatient"}]}],"medicationReference":{"reference":"Medication/{{{medication}}}","display":"{{{name}}}"},"subject":{"reference":"Patient/{{{patient}}}"},"authoredOn":"{{{Date(authored)}}}","dosageInstruction":[{"text":"Take {{{mg}}} mg by mouth {{{(perDay == 1 ? "daily" : "2 (two) times daily")}}}.","timing":{"repeat":{"frequency":{{{perDay}}},"period":1,"periodUnit":"d"}},"route":{"coding":[{"system":"http://snomed.info/sct","code":"26643006","display":"Oral route"}],"text":"Oral"},"doseAndRate":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/dose-rate-type","code":"ordered"}]},"doseQuantity":{"value":{{{mg}}},"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}]}]}""";

    /// <summary>Oracle Health style: a coded product and the sig as text only.</summary>
    private static string RequestOracle(string id, string patient, string rxnorm, string text, string sig, DateTimeOffset authored) =>
        $$$"""{"resourceType":"MedicationRequest","id":"{{{id}}}","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"{{{rxnorm}}}"}],"text":"{{{text}}}"},"subject":{"reference":"Patient/{{{patient}}}"},"authoredOn":"{{{Date(authored)}}}","dosageInstruction":[{"text":"{{{sig}}}","patientInstruction":"{{{sig}}}"}]}""";

    private static string Statement(string id, string patient, string rxnorm, string text, string sig, DateTimeOffset start) =>
        $$$"""{"resourceType":"MedicationStatement","id":"{{{id}}}","status":"active","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"{{{rxnorm}}}"}],"text":"{{{text}}}"},"subject":{"reference":"Patient/{{{patient}}}"},"effectivePeriod":{"start":"{{{Date(start)}}}"},"dosage":[{"text":"{{{sig}}}"}]}""";
}
