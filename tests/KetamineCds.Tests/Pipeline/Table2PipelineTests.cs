using System.Text.Json;
using System.Text.Json.Nodes;
using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using KetamineCds.Tests.Knowledge;

namespace KetamineCds.Tests.Pipeline;

/// <summary>
/// Table 2 through the FHIR edge and the rules, without HTTP: every patient's benzodiazepine totals under both
/// tables (including those below both thresholds, which get no card) equal the hand computation in narrative.md.
/// </summary>
public sealed class Table2PipelineTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "scenarios", "table2");

    public static TheoryData<string> Patients() => new(Directory.GetDirectories(Root).Select(Path.GetFileName).OfType<string>().Order());

    [Theory]
    [MemberData(nameof(Patients))]
    public Task Benzodiazepine_totals_equal_the_hand_computation(string patient) => AssertTotals(patient, "request.json");

    /// <summary>The article's own wording ("0.5 mg TID", "2 mg/day"), no codes: the same totals as the structured version.</summary>
    [Theory]
    [MemberData(nameof(Patients))]
    public Task Text_sigs_as_written_give_the_same_totals(string patient) => AssertTotals(patient, "request-text-sig.json");

    private static async Task AssertTotals(string patient, string file)
    {
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, patient, "expected.json")))!;
        var therapies = await TherapiesAsync(patient, file);
        var assessment = BenzodiazepineRule.Assess(therapies, TestKnowledge.Knowledge);
        if (expected["lorazepamEquivalentMgPerDay"] is JsonValue primary)
        {
            Assert.NotNull(assessment);
            Assert.Equal((decimal)primary, assessment.TotalPrimary);
            Assert.Equal((decimal)expected["lorazepamEquivalentMgPerDayAlternate"]!, assessment.TotalAlternate);
            Assert.All(assessment.Lines, l => Assert.True(l.Counted, l.NotCountedReason));
        }
        else
        {
            Assert.Null(assessment);
        }
    }

    internal static async Task<IReadOnlyList<KetamineCds.Clinical.Medications.Therapy>> TherapiesAsync(string patient, string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, patient, file)));
        var root = doc.RootElement;
        var prefetch = root.GetProperty("prefetch").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
        var gathered = await new PatientDataGatherer().GatherAsync(
            new GatherRequest(root.GetProperty("context").GetProperty("patientId").GetString()!, prefetch,
                root.GetProperty("context").GetProperty("draftOrders").Clone(), null, null),
            CancellationToken.None);
        Assert.NotNull(gathered.Data);
        var evaluator = new CdsEvaluator(TestKnowledge.Knowledge, TestKnowledge.Classifier,
            new DailyDoseCalculator(new SigTextParser(TestKnowledge.Knowledge.Sig)), new RuleSettings(),
            new KetamineCds.Clinical.Outcomes.OutcomeCalculator(KetamineCds.Fhir.Facts.AssessmentReader.LoadDefinitions(KetamineCds.Fhir.Knowledge.KnowledgeLoader.ReadArtifacts())));
        var evaluation = evaluator.Evaluate(HookKind.OrderSign, gathered.Data, DateTimeOffset.UtcNow);
        Assert.True(evaluation.Triggered);
        return evaluation.Therapies;
    }
}
