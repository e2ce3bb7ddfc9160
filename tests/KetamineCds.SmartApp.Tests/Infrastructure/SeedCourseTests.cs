using Hl7.Fhir.Model;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Fhir;
using KetamineCds.Fhir.Facts;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Fhir.Validation;

namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>
/// The seed's synthetic courses (tests/servers/seed/README.md) say what the app must show; these tests hold that
/// narrative to the service's own profiles, AssessmentReader and OutcomeCalculator, so the app's expected figures are
/// the clinical library's and the README cannot drift from them.
/// </summary>
public sealed class SeedCourseTests
{
    private static readonly IReadOnlyDictionary<string, string> Artifacts = KnowledgeLoader.ReadArtifacts();
    private static readonly List<Resource> Seed = File.ReadLines(RepositoryPaths.SeedFile)
        .Where(l => l.Length > 0).Select(FhirJson.ReadStrict<Resource>).ToList();

    [Fact]
    public async System.Threading.Tasks.Task Every_seeded_qids_and_cadss_observation_conforms_to_its_profile_and_reads_as_a_score()
    {
        var validator = await ProfileValidator.CreateAsync(Artifacts);
        var reader = new AssessmentReader();
        var observations = Seed.OfType<Observation>().ToList();
        Assert.Equal(13 + (3 * 12), observations.Count);
        foreach (var o in observations)
        {
            var kind = reader.Recognize(o);
            Assert.NotNull(kind);
            var result = validator.ValidateAssessment(o, kind.Value);
            Assert.True(result.IsValid, $"{o.Id}: {string.Join("; ", result.Errors)}");
            Assert.Equal(AssessmentReadStatus.Score, reader.Read(o).Status);
        }
    }

    [Theory]
    // patient, baseline, latest, % change on latest, response on latest, remission on latest, response at any point,
    // remission at any point, CADSS mean, CADSS latest
    [InlineData(SmartTestData.Patient01, 19, 8, -57.9, true, false, true, true, 8.83, 5)]
    [InlineData(SmartTestData.Patient10, 21, 13, -38.1, false, false, false, false, 13.83, 10)]
    [InlineData(SmartTestData.Patient13, 22, 15, -31.8, false, false, true, false, 12.83, 8)]
    public void The_seeded_course_gives_the_figures_the_seed_readme_promises(
        string patient, int baseline, int latest, double change, bool response, bool remission, bool responseEver, bool remissionEver,
        double cadssMean, int cadssLatest)
    {
        var definitions = AssessmentReader.LoadDefinitions(Artifacts);
        var reference = $"Patient/{patient}";
        var (scores, excluded) = new AssessmentReader().ReadAll(Seed.OfType<Observation>().Where(o => o.Subject?.Reference == reference));
        var treatments = Seed.OfType<MedicationAdministration>().Where(m => m.Subject?.Reference == reference)
            .Select(m => m.Effective switch
            {
                Period p => DateTimeOffset.Parse(p.Start!, System.Globalization.CultureInfo.InvariantCulture),
                FhirDateTime d => DateTimeOffset.Parse(d.Value!, System.Globalization.CultureInfo.InvariantCulture),
                _ => throw new InvalidDataException(m.Id),
            }).ToList();
        Assert.Equal(6, treatments.Count);
        Assert.Empty(excluded);

        var summary = new OutcomeCalculator(definitions).Summarize(scores, treatments);

        Assert.Equal(baseline, summary.Qids.Baseline);
        Assert.Equal(BaselineBasis.LastBeforeFirstTreatment, summary.Qids.BaselineBasis);
        Assert.Equal(latest, summary.Qids.Latest);
        Assert.Equal((decimal)change, summary.Qids.PercentChange);
        Assert.Equal(response, summary.Qids.Response);
        Assert.Equal(remission, summary.Qids.Remission);
        Assert.Equal(6, summary.Qids.Series.Count);
        Assert.Equal(responseEver, summary.Qids.Series.Any(p => p.PercentChange <= -definitions.ResponseMinPercentReduction));
        Assert.Equal(remissionEver, summary.Qids.Series.Any(p => p.Score.Score <= definitions.RemissionMaxScore));
        Assert.Equal((decimal)cadssMean, summary.Cadss.Mean);
        Assert.Equal(cadssLatest, summary.Cadss.Latest);
        Assert.Equal(6, summary.Cadss.Count);
    }
}
