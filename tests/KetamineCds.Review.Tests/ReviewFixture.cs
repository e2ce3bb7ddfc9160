using KetamineCds.Review.Evaluation;

namespace KetamineCds.Review.Tests;

/// <summary>The clinical engine is built once per test run (loading the knowledge costs seconds on a shared machine).</summary>
public sealed class EngineFixture
{
    public ClinicalEngine Engine { get; } = ClinicalEngine.CreateAsync(new ReviewOptions { InputPath = "", OutputDirectory = "", ValidateAssessments = false }).GetAwaiter().GetResult();
}

[CollectionDefinition(Name)]
public sealed class ReviewCollection : ICollectionFixture<EngineFixture>
{
    public const string Name = "review";
}

/// <summary>A temporary export directory with NDJSON files written line by line, as an EHR's Bulk Data export would be.</summary>
public sealed class TempExport : IDisposable
{
    public TempExport()
    {
        Root = Path.Combine(Path.GetTempPath(), "kcds-review-" + Guid.NewGuid().ToString("N"));
        Input = Path.Combine(Root, "export");
        Output = Path.Combine(Root, "out");
        Directory.CreateDirectory(Input);
    }

    public string Root { get; }
    public string Input { get; }
    public string Output { get; }

    public TempExport File(string name, params string[] lines)
    {
        System.IO.File.WriteAllText(Path.Combine(Input, name), string.Join("\n", lines) + "\n");
        return this;
    }

    public TempExport Bytes(string name, byte[] bytes)
    {
        System.IO.File.WriteAllBytes(Path.Combine(Input, name), bytes);
        return this;
    }

    public ReviewOptions Options(Grouping.ShardSpec? shard = null) => new()
    {
        InputPath = Input,
        OutputDirectory = Output,
        AsOf = Fhir.AsOf,
        ValidateAssessments = false,
        Shard = shard ?? Grouping.ShardSpec.All,
        Buckets = 8,
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Resources as EHRs send them (Epic: medicationReference + structured dose; Oracle Health: coded product, sig text).</summary>
public static class Fhir
{
    public static readonly DateTimeOffset AsOf = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    public static string Patient(string id, string family = "Garcia", string given = "Maria") =>
        $$$"""{"resourceType":"Patient","id":"{{{id}}}","name":[{"family":"{{{family}}}","given":["{{{given}}}"]}],"birthDate":"1980-04-02"}""";

    public static string IvKetamine(string id, string patient) =>
        $$$"""{"resourceType":"MedicationRequest","id":"{{{id}}}","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"6130","display":"ketamine"}],"text":"ketamine 0.5 mg/kg IV over 40 minutes"},"subject":{"reference":"Patient/{{{patient}}}"},"authoredOn":"2026-10-01T10:00:00Z","dosageInstruction":[{"text":"ketamine 0.5 mg/kg IV over 40 minutes","route":{"text":"Intravenous"}}]}""";

    /// <summary>Oracle Health style: coded product, sig text only ("2 mg PO BID").</summary>
    public static string OracleStatement(string id, string patient, string rxnorm, string text, string sig) =>
        $$$"""{"resourceType":"MedicationStatement","id":"{{{id}}}","status":"active","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"{{{rxnorm}}}"}],"text":"{{{text}}}"},"subject":{"reference":"Patient/{{{patient}}}"},"effectivePeriod":{"start":"2026-01-01T00:00:00Z"},"dosage":[{"text":"{{{sig}}}"}]}""";

    public static string Clonazepam2mgBid(string id, string patient) => OracleStatement(id, patient, "2598", "clonazepam 2 mg oral tablet", "2 mg PO BID");

    /// <summary>Epic style: medicationReference only (no name on the request), a structured dose and timing.</summary>
    public static string EpicRequestByReference(string id, string patient, string medicationId, int mg, int perDay) =>
        $$$"""{"resourceType":"MedicationRequest","id":"{{{id}}}","status":"active","intent":"order","medicationReference":{"reference":"Medication/{{{medicationId}}}"},"subject":{"reference":"Patient/{{{patient}}}"},"authoredOn":"2026-06-01T00:00:00Z","dosageInstruction":[{"text":"Take {{{mg}}} mg by mouth daily.","timing":{"repeat":{"frequency":{{{perDay}}},"period":1,"periodUnit":"d"}},"route":{"text":"Oral"},"doseAndRate":[{"doseQuantity":{"value":{{{mg}}},"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}]}]}""";

    public static string Medication(string id, string rxnorm, string text) =>
        $$$"""{"resourceType":"Medication","id":"{{{id}}}","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"{{{rxnorm}}}"}],"text":"{{{text}}}"}}""";

    public static string Qids(string id, string patient, string when, int score) =>
        $$$"""{"resourceType":"Observation","id":"{{{id}}}","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"survey"}]}],"code":{"coding":[{"system":"http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-assessment","code":"qids-sr16-total"}]},"subject":{"reference":"Patient/{{{patient}}}"},"effectiveDateTime":"{{{when}}}","valueInteger":{{{score}}}}""";

    public static string HeartRate(string id, string patient) =>
        $$$"""{"resourceType":"Observation","id":"{{{id}}}","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/{{{patient}}}"},"effectiveDateTime":"2026-11-01T10:00:00Z","valueQuantity":{"value":72,"unit":"/min"}}""";
}
