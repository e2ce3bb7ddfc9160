using System.Diagnostics;
using KetamineCds.Review.Reports;
using KetamineCds.Review.Synthetic;
using Xunit.Abstractions;

namespace KetamineCds.Review.Tests;

/// <summary>
/// The review of a generated 10,000-patient export (about 950,000 resources) against the generator's own ground truth.
/// No time is asserted (timing belongs in docs/performance.md, measured with the console); the duration is printed.
/// </summary>
[Collection(ReviewCollection.Name)]
public sealed class ScaleTests(EngineFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task A_clinic_of_10000_patients_is_reviewed_with_every_finding_the_generator_planted()
    {
        using var export = new TempExport();
        var generated = Stopwatch.StartNew();
        var truth = SyntheticExport.Write(export.Input, 10_000, seed: 20261201, Fhir.AsOf);
        output.WriteLine($"generated {truth.Resources} resources in {generated.Elapsed.TotalSeconds:0.0} s");

        var clock = Stopwatch.StartNew();
        var result = await new ClinicReview(fixture.Engine).RunAsync(export.Options() with { Buckets = 64 });
        await ReportWriters.WriteAllAsync(result, export.Output);
        output.WriteLine($"reviewed in {clock.Elapsed.TotalSeconds:0.0} s: {result.Summary.PatientsOnKetamine} patients on ketamine/esketamine");

        var s = result.Summary;
        Assert.Equal(truth.Patients, s.PatientsInExport);
        Assert.Equal(truth.Resources, s.ResourcesByType.Values.Sum());
        Assert.Equal(truth.KetaminePatients, result.Rows.Count);
        Assert.Equal(truth.LamotriginePatients, s.Findings.GetValueOrDefault("lamotrigine-concurrent"));
        Assert.Equal(truth.LamotrigineLow, s.LamotrigineCategories.GetValueOrDefault("low"));
        Assert.Equal(truth.LamotrigineStandard, s.LamotrigineCategories.GetValueOrDefault("standard"));
        Assert.Equal(truth.BenzodiazepineAboveThreshold, s.Findings.GetValueOrDefault("benzodiazepine-threshold"));
        Assert.Equal(truth.BenzodiazepineDoseUnknown, s.Findings.GetValueOrDefault("benzodiazepine-dose-unknown"));
        Assert.Equal(truth.BenzodiazepineAboveThreshold + truth.BenzodiazepineBelowThreshold + truth.BenzodiazepineDoseUnknown,
            result.Rows.Count(r => r.Benzodiazepines.Count > 0));
        Assert.Equal(truth.KetaminePatientsWithQids, result.Rows.Count(r => r.Qids.Availability == "available"));
        Assert.Equal(truth.MalformedLines, s.UnreadableRecords);
        Assert.Equal(truth.ResourcesNamingNoPatient, s.ResourcesNamingNoPatient.Values.Sum());
        Assert.Equal(truth.KetaminePatients + 1, File.ReadLines(Path.Combine(export.Output, ReportWriters.Csv)).Count());
    }
}
