using System.Text.Json;
using Hl7.Fhir.Model;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Fhir;
using KetamineCds.Fhir.Facts;

namespace KetamineCds.Tests.Profiles;

public sealed class AssessmentReaderTests
{
    private const string EpicFlowsheet = "urn:oid:1.2.840.114350.1.13.0.1.7.2.707679";

    private static Observation Observation(string system, string code, string status = "final", DataType? value = null, DataType? effective = null) => new()
    {
        Id = "o1",
        StatusElement = new Code<ObservationStatus>(Enum.Parse<ObservationStatus>(status.Replace("-", ""), ignoreCase: true)),
        Code = new CodeableConcept(system, code),
        Subject = new ResourceReference("Patient/p1"),
        Effective = effective ?? new FhirDateTime("2021-06-01T09:00:00Z"),
        Value = value ?? new Integer(14),
    };

    [Fact]
    public void Reads_the_QIDS_SR16_scores_of_the_table2_patient_01_request()
    {
        var request = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "tests/scenarios/table2/patient-01/request.json")));
        var observations = new List<Observation>();
        ObservationCollector.Collect(request.RootElement, observations);
        Assert.NotEmpty(observations);

        var (scores, excluded) = new AssessmentReader().ReadAll(observations);

        Assert.Empty(excluded);
        Assert.Equal(observations.Count(o => o.Code.Coding.Any(c => c.Code == "qids-sr16-total")), scores.Count(s => s.Kind == AssessmentKind.QidsSr16));
        var baseline = Assert.Single(scores, s => s.Reference == "Observation/obs-01-qids-baseline");
        Assert.Equal(19m, baseline.Score);
        Assert.Equal(new DateTimeOffset(2021, 6, 1, 9, 0, 0, TimeSpan.Zero), baseline.When);
    }

    [Theory]
    [InlineData(AssessmentReader.QidsSr16TotalCode, AssessmentKind.QidsSr16)]
    [InlineData(AssessmentReader.CadssTotalCode, AssessmentKind.Cadss)]
    public void Reads_our_local_codes(string code, AssessmentKind kind)
    {
        var reading = new AssessmentReader().Read(Observation(AssessmentReader.AssessmentSystem, code));
        Assert.Equal(AssessmentReadStatus.Score, reading.Status);
        Assert.Equal(new AssessmentScore("Observation/o1", kind, new DateTimeOffset(2021, 6, 1, 9, 0, 0, TimeSpan.Zero), 14m), reading.Score);
    }

    [Fact]
    public void Reads_a_site_configured_flowsheet_code_and_ignores_it_when_not_configured()
    {
        var observation = Observation(EpicFlowsheet, "QIDS16");
        var configured = new AssessmentReader(new Dictionary<AssessmentKind, IReadOnlyList<(string System, string Code)>>
        {
            [AssessmentKind.QidsSr16] = [(EpicFlowsheet, "QIDS16")],
            [AssessmentKind.Cadss] = [(EpicFlowsheet, "CADSS23")],
        });

        Assert.Equal(AssessmentKind.QidsSr16, configured.Read(observation).Score?.Kind);
        Assert.Equal(AssessmentKind.Cadss, configured.Read(Observation(EpicFlowsheet, "CADSS23")).Score?.Kind);
        Assert.Equal(AssessmentReadStatus.NotAnAssessment, new AssessmentReader().Read(observation).Status);
    }

    [Theory]
    [InlineData("http://loinc.org", "44261-6")] // PHQ-9 total: not a QIDS-SR16
    [InlineData(AssessmentReader.AssessmentSystem, "qids-sr16-item-1")]
    [InlineData("http://example.org/other", AssessmentReader.QidsSr16TotalCode)] // our code, another system
    public void Ignores_other_codes(string system, string code) =>
        Assert.Equal(AssessmentReadStatus.NotAnAssessment, new AssessmentReader().Read(Observation(system, code)).Status);

    [Theory]
    [InlineData("final", AssessmentReadStatus.Score)]
    [InlineData("amended", AssessmentReadStatus.Score)]
    [InlineData("corrected", AssessmentReadStatus.Score)]
    [InlineData("preliminary", AssessmentReadStatus.NotFinal)]
    [InlineData("registered", AssessmentReadStatus.NotFinal)]
    [InlineData("entered-in-error", AssessmentReadStatus.NotFinal)]
    [InlineData("cancelled", AssessmentReadStatus.NotFinal)]
    public void Only_final_amended_or_corrected_scores_are_used(string status, AssessmentReadStatus expected) =>
        Assert.Equal(expected, new AssessmentReader().Read(Observation(AssessmentReader.AssessmentSystem, "qids-sr16-total", status)).Status);

    [Fact]
    public void An_unknown_status_kept_by_the_tolerant_parser_is_not_final_and_does_not_throw()
    {
        var json = """
            {"resourceType":"Observation","id":"odd","status":"signed","code":{"coding":[{"system":"http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-assessment","code":"qids-sr16-total"}]},
             "effectiveDateTime":"2021-06-01","valueInteger":10}
            """;
        var observation = (Observation)FhirJson.ReadTolerant(JsonDocument.Parse(json).RootElement, out _)!;
        Assert.Equal(AssessmentReadStatus.NotFinal, new AssessmentReader().Read(observation).Status);
    }

    [Fact]
    public void Reads_quantity_and_decimal_values()
    {
        var reader = new AssessmentReader();
        Assert.Equal(12m, reader.Read(Observation(AssessmentReader.AssessmentSystem, "qids-sr16-total", value: new Quantity { Value = 12, Unit = "{score}" })).Score?.Score);
        Assert.Equal(7.5m, reader.Read(Observation(AssessmentReader.AssessmentSystem, "cadss-total", value: new FhirDecimal(7.5m))).Score?.Score);
    }

    [Fact]
    public void Reads_the_start_of_an_effective_period_then_issued()
    {
        var reader = new AssessmentReader();
        var period = Observation(AssessmentReader.AssessmentSystem, "qids-sr16-total", effective: new Period(new FhirDateTime("2021-06-03T09:00:00Z"), new FhirDateTime("2021-06-03T09:20:00Z")));
        Assert.Equal(new DateTimeOffset(2021, 6, 3, 9, 0, 0, TimeSpan.Zero), reader.Read(period).Score?.When);

        var issued = Observation(AssessmentReader.AssessmentSystem, "qids-sr16-total");
        issued.Effective = null;
        issued.Issued = new DateTimeOffset(2021, 6, 4, 8, 30, 0, TimeSpan.FromHours(-5));
        Assert.Equal(new DateTimeOffset(2021, 6, 4, 13, 30, 0, TimeSpan.Zero), reader.Read(issued).Score?.When);
    }

    [Fact]
    public void A_recognized_score_without_value_or_date_is_excluded_as_unreadable()
    {
        var reader = new AssessmentReader();
        var noValue = Observation(AssessmentReader.AssessmentSystem, "qids-sr16-total");
        noValue.Value = null;
        noValue.DataAbsentReason = new CodeableConcept("http://terminology.hl7.org/CodeSystem/data-absent-reason", "asked-declined") { Text = "Patient declined" };
        var noDate = Observation(AssessmentReader.AssessmentSystem, "qids-sr16-total");
        noDate.Effective = null;

        var (scores, excluded) = reader.ReadAll([noValue, noDate]);

        Assert.Empty(scores);
        Assert.Equal(2, excluded.Count);
        Assert.All(excluded, e => Assert.Equal(ExclusionReason.Unreadable, e.Reason));
        Assert.Contains(excluded, e => e.Detail.Contains("Patient declined"));
        Assert.Contains(excluded, e => e.Detail.Contains("no effective date"));
    }

    [Fact]
    public void A_code_configured_for_two_assessments_is_a_configuration_error()
    {
        Assert.Throws<ArgumentException>(() => new AssessmentReader(new Dictionary<AssessmentKind, IReadOnlyList<(string System, string Code)>>
        {
            [AssessmentKind.Cadss] = [(AssessmentReader.AssessmentSystem, AssessmentReader.QidsSr16TotalCode)],
        }));
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "KetamineCds.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Repository root (KetamineCds.sln) not found.");
    }
}
