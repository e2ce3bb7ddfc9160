using System.Text.Json.Nodes;
using KetamineCds.Api.Tests.Support;
using static KetamineCds.Api.Tests.Support.RequestBuilder;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>The patient's own QIDS-SR/CADSS course on the cards, next to the study's figures (issue 4, item 2).</summary>
public sealed class OutcomeCardTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    private const string AssessmentSystem = "http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-assessment";

    private static JsonObject Score(string id, string code, int value, string when, string status = "final") => new()
    {
        ["resourceType"] = "Observation",
        ["id"] = id,
        ["status"] = status,
        ["category"] = new JsonArray(new JsonObject
        {
            ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://terminology.hl7.org/CodeSystem/observation-category", ["code"] = "survey" }),
        }),
        ["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = AssessmentSystem, ["code"] = code }) },
        ["subject"] = new JsonObject { ["reference"] = $"Patient/{PatientId}" },
        ["effectiveDateTime"] = when,
        ["valueInteger"] = value,
    };

    private static JsonObject Course(IEnumerable<JsonObject> observations, bool withLamotrigine = false)
    {
        var statements = new List<JsonObject>
        {
            Statement("k1", Concept("ketamine", "6130"), null),
        };
        statements[0]["effectivePeriod"] = new JsonObject { ["start"] = "2024-03-01T08:00:00Z" };
        if (withLamotrigine)
        {
            statements.Add(Statement("l1", Concept("lamotrigine", "28439"), Dosage(100)));
        }

        var request = PatientView(statements);
        request["prefetch"]!["observations"] = Bundle(observations);
        return request;
    }

    private async Task<JsonArray> Cards(JsonObject request, string service = "ketamine-patient-view") =>
        await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), service, request));

    [Theory]
    [MemberData(nameof(Table2ScenarioTests.Patients), MemberType = typeof(Table2ScenarioTests))]
    public async Task Table2_baseline_QIDS_SR_is_shown_on_the_lamotrigine_card(string patient)
    {
        var expected = ScenarioFiles.Load($"table2/{patient}/expected.json");
        var cards = await Cards(ScenarioFiles.Load($"table2/{patient}/request.json"), "ketamine-order-sign");
        var qids = ScenarioFiles.Card(cards, "lamotrigine-concurrent")!["extension"]!["ketaminecds"]!["qidsSr"]!;
        Assert.Equal((decimal)expected["baselineQidsSr"]!, (decimal)qids["baseline"]!);
        Assert.Null(qids["percentChange"]); // one score: no change claimed
    }

    [Fact]
    public async Task Patient_view_shows_the_course_with_response_and_remission_as_the_article_defines_them()
    {
        var request = Course(
        [
            Score("q0", "qids-sr16-total", 20, "2024-02-28T09:00:00Z"),
            Score("q1", "qids-sr16-total", 14, "2024-03-02T09:00:00Z"),
            Score("q2", "qids-sr16-total", 5, "2024-03-20T09:00:00Z"),
            Score("c1", "cadss-total", 6, "2024-03-01T09:00:00Z"),
            Score("c2", "cadss-total", 2, "2024-03-20T09:00:00Z"),
        ]);
        var card = ScenarioFiles.Card(await Cards(request), "ketamine-course")!;
        var ext = card["extension"]!["ketaminecds"]!;
        Assert.Equal(20m, (decimal)ext["qidsSr"]!["baseline"]!);
        Assert.Equal(5m, (decimal)ext["qidsSr"]!["latest"]!);
        Assert.Equal(-75m, (decimal)ext["qidsSr"]!["percentChange"]!);
        Assert.True((bool)ext["qidsSr"]!["response"]!);
        Assert.True((bool)ext["qidsSr"]!["remission"]!);
        Assert.True((bool)ext["qidsSr"]!["responseAtAnyPoint"]!);
        Assert.True((bool)ext["qidsSr"]!["remissionAtAnyPoint"]!);
        Assert.Equal(4m, (decimal)ext["cadss"]!["mean"]!);
        Assert.Equal(2m, (decimal)ext["cadss"]!["latest"]!);
        Assert.Contains("QIDS-SR 20 to 5 (-75%), remission", (string)card["summary"]!, StringComparison.Ordinal);
        var detail = (string)card["detail"]!;
        Assert.Contains("baseline: 20 on 2024-02-28 (last score before the course began)", detail, StringComparison.Ordinal);
        Assert.Contains("62.5% (5/8) with lamotrigine vs 57.4% (31/54) without (p = 0.79)", detail, StringComparison.Ordinal); // the study's rates with n and p
        Assert.Contains("remission 37.5% (3/8) vs 38.9% (21/54) (p = 0.94)", detail, StringComparison.Ordinal);
        Assert.Contains("at any point yes (first 2024-03-20), on the latest score yes", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Per_treatment_series_uses_the_CADSS_days_as_treatment_days()
    {
        var request = Course(
        [
            Score("q0", "qids-sr16-total", 20, "2024-02-28T09:00:00Z"),
            Score("c1a", "cadss-total", 1, "2024-03-01T09:00:00Z"), // pre-infusion and post-infusion CADSS: one session
            Score("c1b", "cadss-total", 6, "2024-03-01T10:00:00Z"),
            Score("q1", "qids-sr16-total", 14, "2024-03-02T09:00:00Z"),
            Score("c2", "cadss-total", 3, "2024-03-04T10:00:00Z"),
            Score("q2", "qids-sr16-total", 9, "2024-03-05T09:00:00Z"),
            Score("c3", "cadss-total", 2, "2024-03-07T10:00:00Z"),
            Score("q3", "qids-sr16-total", 5, "2024-03-08T09:00:00Z"),
        ]);
        var detail = (string)ScenarioFiles.Card(await Cards(request), "ketamine-course")!["detail"]!;
        Assert.Contains("#1 (2024-03-01) 14 (-30%), #2 (2024-03-04) 9 (-55%), #3 (2024-03-07) 5 (-75%)", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_49_percent_reduction_is_not_a_response()
    {
        var request = Course([Score("q0", "qids-sr16-total", 100 / 4, "2024-02-28T09:00:00Z"), Score("q1", "qids-sr16-total", 13, "2024-03-10T09:00:00Z")]);
        var ext = ScenarioFiles.Card(await Cards(request), "ketamine-course")!["extension"]!["ketaminecds"]!;
        Assert.Equal(-48m, (decimal)ext["qidsSr"]!["percentChange"]!);
        Assert.False((bool)ext["qidsSr"]!["response"]!);
        Assert.False((bool)ext["qidsSr"]!["remission"]!);
    }

    [Fact]
    public async Task Lamotrigine_card_on_patient_view_carries_the_course_too()
    {
        var request = Course([Score("q0", "qids-sr16-total", 20, "2024-02-28T09:00:00Z"), Score("q1", "qids-sr16-total", 8, "2024-03-10T09:00:00Z")], withLamotrigine: true);
        var cards = await Cards(request);
        Assert.Equal(-60m, (decimal)ScenarioFiles.Card(cards, "lamotrigine-concurrent")!["extension"]!["ketaminecds"]!["qidsSr"]!["percentChange"]!);
        Assert.NotNull(ScenarioFiles.Card(cards, "ketamine-course"));
    }

    [Fact]
    public async Task Invalid_assessment_observations_are_excluded_and_the_card_says_how_many_and_why()
    {
        var outOfRange = Score("bad1", "qids-sr16-total", 31, "2024-03-05T09:00:00Z");
        var noSurvey = Score("bad2", "qids-sr16-total", 9, "2024-03-06T09:00:00Z");
        noSurvey.Remove("category");
        var request = Course([Score("q0", "qids-sr16-total", 20, "2024-02-28T09:00:00Z"), outOfRange, noSurvey, Score("q1", "qids-sr16-total", 12, "2024-03-10T09:00:00Z")]);
        var card = ScenarioFiles.Card(await Cards(request), "ketamine-course")!;
        Assert.Equal(12m, (decimal)card["extension"]!["ketaminecds"]!["qidsSr"]!["latest"]!);
        var detail = (string)card["detail"]!;
        Assert.Contains("2 assessment observation(s) were left out", detail, StringComparison.Ordinal);
        Assert.Contains("failed profile validation", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preliminary_scores_do_not_count()
    {
        var request = Course([Score("q0", "qids-sr16-total", 20, "2024-02-28T09:00:00Z"), Score("q1", "qids-sr16-total", 4, "2024-03-10T09:00:00Z", "preliminary")]);
        var ext = ScenarioFiles.Card(await Cards(request), "ketamine-course")!["extension"]!["ketaminecds"]!;
        Assert.Null(ext["qidsSr"]!["latest"]);
    }

    [Fact]
    public async Task No_scores_no_course_card()
    {
        Assert.Empty(await Cards(Course([])));
    }

    [Fact]
    public async Task Missing_observations_are_said_on_the_lamotrigine_card()
    {
        var request = ScenarioFiles.Load("table2/patient-02/request.json");
        request["prefetch"]!.AsObject().Remove("observations");
        var card = ScenarioFiles.Card(await Cards(request, "ketamine-order-sign"), "lamotrigine-concurrent")!;
        Assert.Contains("Not available: the patient's survey Observations", (string)card["detail"]!, StringComparison.Ordinal);
        Assert.Null(card["extension"]!["ketaminecds"]!["qidsSr"]);
    }
}

/// <summary>A site's own flowsheet code for the QIDS-SR16 total, from configuration alone.</summary>
public sealed class SiteAssessmentCodeTests : IDisposable
{
    private readonly CdsApplication _app = CdsApplication.With(new Dictionary<string, string?>
    {
        ["KetamineCds:AssessmentCodes:0:Kind"] = "QidsSr16",
        ["KetamineCds:AssessmentCodes:0:System"] = "urn:oid:1.2.840.114350.1.13.0.1.7.2.707679",
        ["KetamineCds:AssessmentCodes:0:Code"] = "QIDS-TOTAL",
        ["KetamineCds:ValidateAssessments"] = "false",
    });

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_configured_flowsheet_code_is_read_as_a_QIDS_SR16_total()
    {
        var statements = new[] { Statement("k1", Concept("ketamine", "6130"), null) };
        var request = PatientView(statements);
        var observation = new JsonObject
        {
            ["resourceType"] = "Observation",
            ["id"] = "f1",
            ["status"] = "final",
            ["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "urn:oid:1.2.840.114350.1.13.0.1.7.2.707679", ["code"] = "QIDS-TOTAL" }) },
            ["subject"] = new JsonObject { ["reference"] = $"Patient/{PatientId}" },
            ["effectiveDateTime"] = "2024-03-01T09:00:00Z",
            ["valueInteger"] = 17,
        };
        request["prefetch"]!["observations"] = Bundle([observation]);
        var cards = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(_app.CreateClient(), "ketamine-patient-view", request));
        Assert.Equal(17m, (decimal)ScenarioFiles.Card(cards, "ketamine-course")!["extension"]!["ketaminecds"]!["qidsSr"]!["baseline"]!);
    }
}
