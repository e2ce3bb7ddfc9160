using System.Text.Json;
using Hl7.Fhir.Model;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Fhir;
using KetamineCds.Fhir.Facts;
using KetamineCds.Fhir.Knowledge;

namespace KetamineCds.Tests.Profiles;

/// <summary>The article's Table 2 patients: their QIDS-SR16 Observations conform to the profile and give the baseline the article reports.</summary>
[Collection(ValidatorCollection.Name)]
public sealed class Table2ScenarioAssessmentTests(ValidatorFixture fixture)
{
    public static TheoryData<string> Patients() =>
        new(Directory.GetDirectories(Path.Combine(AssessmentReaderTests.RepositoryRoot(), "tests/scenarios/table2")).Select(Path.GetFileName).OfType<string>().Order());

    [Theory]
    [MemberData(nameof(Patients))]
    public void Table2_patient_observations_validate_and_give_the_article_baseline(string patient)
    {
        var folder = Path.Combine(AssessmentReaderTests.RepositoryRoot(), "tests/scenarios/table2", patient);
        using var request = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "request.json")));
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var observations = new List<Observation>();
        ObservationCollector.Collect(request.RootElement, observations);

        var (scores, excluded) = fixture.Validator.ReadValidAssessments(new AssessmentReader(), observations);
        var summary = new OutcomeCalculator(AssessmentReader.LoadDefinitions(KnowledgeLoader.ReadArtifacts())).Summarize(scores, [], excluded);

        Assert.Empty(summary.Excluded);
        if (expected.RootElement.TryGetProperty("baselineQidsSr", out var baseline))
        {
            Assert.Equal(baseline.GetDecimal(), summary.Qids.Baseline);
        }
    }
}
