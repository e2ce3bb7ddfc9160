using System.IO.Compression;
using System.Text;
using KetamineCds.Review.Grouping;
using KetamineCds.Review.Reports;

namespace KetamineCds.Review.Tests;

[Collection(ReviewCollection.Name)]
public sealed class ClinicReviewTests(EngineFixture fixture)
{
    private Task<ReviewResult> Review(TempExport export, ShardSpec? shard = null) => new ClinicReview(fixture.Engine).RunAsync(export.Options(shard));

    private static TempExport ClinicOfThree() => new TempExport()
        .File("Patient.ndjson", Fhir.Patient("p1"), Fhir.Patient("p2", "Nguyen", "Sam"), Fhir.Patient("p3", "Okafor", "Grace"))
        .File("Medication.ndjson", Fhir.Medication("lam100", "28439", "lamotrigine 100 MG Oral Tablet"), Fhir.Medication("sert", "36437", "sertraline 100 MG Oral Tablet"))
        .File("MedicationRequest.ndjson",
            Fhir.IvKetamine("k1", "p1"), Fhir.IvKetamine("k2", "p2"),
            Fhir.EpicRequestByReference("l1", "p2", "lam100", 100, 2),
            Fhir.EpicRequestByReference("s3", "p3", "sert", 100, 1))
        .File("MedicationStatement.ndjson", Fhir.Clonazepam2mgBid("b1", "p1"), Fhir.Clonazepam2mgBid("b3", "p3"))
        .File("Observation.ndjson",
            Fhir.Qids("q1", "p1", "2026-09-28T09:00:00Z", 20), Fhir.Qids("q2", "p1", "2026-11-20T09:00:00Z", 8),
            Fhir.HeartRate("h1", "p1"), Fhir.HeartRate("h2", "p3"));

    [Fact]
    public async Task Patients_on_ketamine_are_reviewed_with_the_hooks_findings_and_a_patient_without_ketamine_is_not_listed()
    {
        using var export = ClinicOfThree();
        var result = await Review(export);

        Assert.Equal(["p1", "p2"], result.Rows.Select(r => r.PatientId));
        var p1 = result.Rows[0];
        Assert.Equal("Garcia, Maria", p1.PatientName);
        Assert.Contains("benzodiazepine-threshold", p1.Findings);
        Assert.NotNull(p1.BenzodiazepineTotalPrimary);
        Assert.True(p1.BenzodiazepineTotalPrimary >= 4, "clonazepam 2 mg BID is above 4 mg/day lorazepam equivalents");
        Assert.NotNull(p1.BenzodiazepineTotalAlternate);
        Assert.Equal("available", p1.Qids.Availability);
        Assert.Equal(20, p1.Qids.Baseline);
        Assert.Equal(8, p1.Qids.Latest);
        Assert.Equal(-60m, p1.Qids.PercentChange);
        Assert.True(p1.Qids.Response);

        // p2's lamotrigine is named only by the Medication its request references: resolved as the hooks resolve _include.
        var p2 = result.Rows[1];
        Assert.Contains("lamotrigine-concurrent", p2.Findings);
        Assert.Equal(200m, p2.LamotrigineMgPerDay);
        Assert.Equal("standard", p2.LamotrigineCategory);
        Assert.Equal("not available", p2.Feedback["lamotrigine-concurrent"]);

        Assert.Equal(3, result.Summary.PatientsInExport);
        Assert.Equal(2, result.Summary.PatientsOnKetamine);
        Assert.Equal(1, result.Summary.Findings["lamotrigine-concurrent"]);
        Assert.Equal(1, result.Summary.LamotrigineCategories["standard"]);
        Assert.Empty(result.Summary.MissingResourceTypes);
    }

    [Fact]
    public async Task A_malformed_line_and_invalid_utf8_are_reported_with_file_and_line_and_the_rest_is_reviewed()
    {
        using var export = ClinicOfThree();
        var latin1 = Encoding.UTF8.GetBytes(Fhir.IvKetamine("k9", "p9") + "\n")
            .Concat(Encoding.UTF8.GetBytes("{\"resourceType\":\"MedicationStatement\",\"id\":\"x\",\"subject\":{\"reference\":\"Patient/p9\"},\"note\":[{\"text\":\"caf"))
            .Append((byte)0xE9).Concat(Encoding.UTF8.GetBytes("\"}]}\n"))
            .Concat(Encoding.UTF8.GetBytes("{\"resourceType\":\"MedicationStatement\",\"id\":\"trunc\",\"subject\":{\"refer\n"))
            .Concat(Encoding.UTF8.GetBytes("\n[1,2]\n{\"id\":\"no-type\"}\n"))
            .Concat(Encoding.UTF8.GetBytes(Fhir.Clonazepam2mgBid("b9", "p9") + "\n"))
            .ToArray();
        export.Bytes("MedicationStatement.002.ndjson", latin1);

        var result = await Review(export);

        var bad = result.Summary.UnreadableDetails.Where(d => d.File == "MedicationStatement.002.ndjson").ToList();
        Assert.Equal([(2L, "not valid UTF-8"), (5L, "not a JSON object"), (6L, "no resourceType")],
            bad.Where(b => !b.Reason.StartsWith("not valid JSON")).Select(b => (b.Line, b.Reason)));
        Assert.Contains(bad, b => b.Line == 3 && b.Reason.StartsWith("not valid JSON ("));
        Assert.Equal(4, result.Summary.UnreadableRecords);
        // Lines 1 and 7 of the same file were read: p9 (no Patient resource) is on ketamine with clonazepam.
        var p9 = Assert.Single(result.Rows, r => r.PatientId == "p9");
        Assert.Contains("benzodiazepine-threshold", p9.Findings);
    }

    [Fact]
    public async Task A_resource_naming_no_patient_is_counted_and_not_reviewed()
    {
        using var export = ClinicOfThree();
        export.File("MedicationRequest.001.ndjson",
            """{"resourceType":"MedicationRequest","id":"orphan","status":"active","intent":"order","medicationCodeableConcept":{"text":"ketamine"}}""",
            """{"resourceType":"MedicationRequest","id":"grp","status":"active","intent":"order","subject":{"reference":"Group/g1"},"medicationCodeableConcept":{"text":"ketamine"}}""");

        var result = await Review(export);

        Assert.Equal(2, result.Summary.ResourcesNamingNoPatient["MedicationRequest"]);
        Assert.Equal(2, result.Rows.Count);
    }

    [Fact]
    public async Task Without_an_Observation_file_the_QIDS_course_is_said_to_be_not_available()
    {
        using var export = ClinicOfThree();
        File.Delete(Path.Combine(export.Input, "Observation.ndjson"));

        var result = await Review(export);

        Assert.Contains(result.Summary.MissingResourceTypes, m => m.StartsWith("Observation: not in the export"));
        Assert.All(result.Rows, r => Assert.Equal("not available: the export holds no Observation file", r.Qids.Availability));
        Assert.Contains("Observation: not in the export", ReportWriters.RenderHtml(result));
    }

    [Fact]
    public async Task A_Bundle_file_and_a_gzipped_NDJSON_file_are_read_like_NDJSON()
    {
        using var export = new TempExport();
        export.File("clinic-bundle.json",
            $$$"""{"resourceType":"Bundle","type":"collection","entry":[{"resource":{{{Fhir.Patient("b1")}}}},{"resource":{{{Fhir.IvKetamine("kb", "b1")}}}},{"fullUrl":"x"}]}""");
        using (var gz = new GZipStream(File.Create(Path.Combine(export.Input, "MedicationStatement.ndjson.gz")), CompressionLevel.Fastest))
        {
            gz.Write(Encoding.UTF8.GetBytes(Fhir.Clonazepam2mgBid("bz", "b1") + "\n"));
        }

        var result = await Review(export);

        var row = Assert.Single(result.Rows);
        Assert.Equal("b1", row.PatientId);
        Assert.Contains("benzodiazepine-threshold", row.Findings);
        Assert.Equal(new UnreadableRecord("clinic-bundle.json", 3, "Bundle entry without a resource (entry number given as line)"), Assert.Single(result.Summary.UnreadableDetails));
    }

    [Fact]
    public async Task A_truncated_gzip_file_is_reported_at_the_line_where_it_breaks_and_what_was_read_is_kept()
    {
        using var export = ClinicOfThree();
        var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            for (var i = 0; i < 2000; i++)
            {
                gz.Write(Encoding.UTF8.GetBytes(Fhir.HeartRate($"x{i}", "p1") + "\n"));
            }
        }

        export.Bytes("Observation.001.ndjson.gz", buffer.ToArray()[..(int)(buffer.Length / 2)]);

        var result = await Review(export);

        // The stream ends mid-line: that line is reported with its number; the lines before it were read.
        var cut = Assert.Single(result.Summary.UnreadableDetails);
        Assert.Equal("Observation.001.ndjson.gz", cut.File);
        Assert.InRange(cut.Line, 2, 2000);
        Assert.Equal(cut.Line - 1, result.Summary.ResourcesByType["Observation"] - 4);
        Assert.Equal(2, result.Rows.Count);
    }

    [Fact]
    public async Task Shards_partition_the_patients_by_a_stable_hash_and_together_give_the_whole_review()
    {
        using var export = new TempExport();
        var patients = Enumerable.Range(0, 60).Select(i => $"pt{i}").ToList();
        export.File("Patient.ndjson", patients.Select(p => Fhir.Patient(p)).ToArray());
        export.File("MedicationRequest.ndjson", patients.Select(p => Fhir.IvKetamine("k-" + p, p)).ToArray());

        var whole = await Review(export);
        var shards = new List<ReviewResult>();
        for (var i = 1; i <= 3; i++)
        {
            shards.Add(await Review(export, new ShardSpec(i, 3)));
        }

        Assert.Equal(60, whole.Rows.Count);
        var union = shards.SelectMany(s => s.Rows.Select(r => r.PatientId)).ToList();
        Assert.Equal(union.Count, union.Distinct().Count());
        Assert.Equal(whole.Rows.Select(r => r.PatientId).Order(), union.Order());
        Assert.All(shards, s => Assert.InRange(s.Rows.Count, 5, 40));
        // Stable across processes: FNV-1a of the UTF-8 id, not string.GetHashCode.
        Assert.Equal(0xaf63dc4c8601ec8cUL, PatientPartition.Hash("a"));
    }

    [Theory]
    [InlineData("0/4")]
    [InlineData("5/4")]
    [InlineData("1/0")]
    [InlineData("x")]
    [InlineData("1/2/3")]
    public void An_invalid_shard_is_refused_with_the_reason(string text)
    {
        Assert.Null(ShardSpec.Parse(text, out var error));
        Assert.Contains("--shard must be i/N", error);
    }

    [Fact]
    public async Task The_report_is_self_contained_and_the_CSV_and_JSON_hold_the_same_rows()
    {
        using var export = ClinicOfThree();
        var result = await Review(export);
        await ReportWriters.WriteAllAsync(result, export.Output);

        var html = await File.ReadAllTextAsync(Path.Combine(export.Output, ReportWriters.Html));
        Assert.Contains("Contains protected health information", html);
        Assert.DoesNotContain("<script src", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", ""));
        Assert.Contains("@media print", html);
        Assert.Equal(2, html.Split("<tr data-findings=").Length - 1);

        var csv = await File.ReadAllLinesAsync(Path.Combine(export.Output, ReportWriters.Csv));
        Assert.Equal(string.Join(',', ReportWriters.CsvColumns), csv[0]);
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("p1,\"Garcia, Maria\",1980-04-02,", csv[1]);

        using var json = System.Text.Json.JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(export.Output, ReportWriters.Json)));
        Assert.Equal(2, json.RootElement.GetArrayLength());
        Assert.Equal("p2", json.RootElement[1].GetProperty("patientId").GetString());
    }

    [Fact]
    public void A_CSV_cell_that_a_spreadsheet_would_run_as_a_formula_is_defused()
    {
        var row = new ReviewRow
        {
            PatientId = "=HYPERLINK(\"x\")", Ketamine = ["ketamine"], Findings = [],
            Qids = new QidsCourse("available", null, null, null, null, null, 0, 0, null, null),
        };
        var writer = new StringWriter();
        ReportWriters.WriteCsv([row], writer);
        Assert.StartsWith("\"'=HYPERLINK(\"\"x\"\")\",", writer.ToString().Split('\n')[1]);
    }
}

[Collection(ReviewCollection.Name)]
public sealed class UndosableBenzodiazepineTests(EngineFixture fixture)
{
    [Fact]
    public async Task An_undosable_alprazolam_is_named_with_its_reason_and_never_totalled_as_zero()
    {
        using var export = new TempExport()
            .File("MedicationRequest.ndjson", Fhir.IvKetamine("k1", "p1"))
            .File("MedicationStatement.ndjson", Fhir.OracleStatement("a1", "p1", "596", "alprazolam oral tablet", "Take as directed"));
        var result = await new ClinicReview(fixture.Engine).RunAsync(export.Options());

        var row = Assert.Single(result.Rows);
        Assert.Contains("benzodiazepine-dose-unknown", row.Findings);
        Assert.Null(row.BenzodiazepineTotalPrimary);
        Assert.Null(row.BenzodiazepineTotalAlternate);
        var undetermined = Assert.Single(row.UndeterminedDoses);
        Assert.Equal("alprazolam oral tablet", undetermined.Medication);
        Assert.Contains("Take as directed", undetermined.Reason);
        Assert.Contains("No total: no dose could be counted", ReportWriters.RenderHtml(result));
    }
}
