using KetamineCds.Api.Tests.Support;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>
/// Short cards (issue 9 item 4, issue 7 item 9): a clinician gets the point from the summary and the first lines; the
/// detail has a length budget per card kind (docs/cds-hooks-contract.md), checked on every scenario. The budgets are
/// set here, independently of the renderer, so that a longer card fails a test.
/// </summary>
public sealed class CardBudgetTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    /// <summary>Detail characters per finding. The benzodiazepine cards carry the calculation table (for EHRs that show
    /// no links); the lamotrigine card is "about 1,200" (issue 7 item 9).</summary>
    private static readonly Dictionary<string, int> Budgets = new(StringComparer.Ordinal)
    {
        ["lamotrigine-concurrent"] = 1300,
        ["benzodiazepine-threshold"] = 1500,
        ["benzodiazepine-borderline"] = 1500,
        ["benzodiazepine-dose-unknown"] = 1500,
        ["benzodiazepine-below-threshold"] = 1500,
        ["ketamine-course"] = 1500,
        ["patient-data-unreadable"] = 500,
    };

    public static TheoryData<string> AllScenarioNames() => new(CardScenarios.All().Select(s => s.Name));

    [Theory]
    [MemberData(nameof(AllScenarioNames))]
    public async Task Every_card_stays_within_its_length_budget_and_carries_no_FHIR_ids_or_internal_references(string name)
    {
        var (_, service, request) = CardScenarios.All().Single(s => s.Name == name);
        var cards = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), service, request));
        Assert.NotEmpty(cards);
        foreach (var card in cards)
        {
            var finding = (string)card!["extension"]!["ketaminecds"]!["finding"]!;
            var summary = (string)card["summary"]!;
            var detail = (string)card["detail"]!;
            Assert.True(summary.Length < 140, $"{finding} summary is {summary.Length} characters: {summary}");
            Assert.True(detail.Length <= Budgets[finding], $"{finding} detail is {detail.Length} characters (budget {Budgets[finding]}):\n{detail}");
            AssertClean(finding, summary + "\n" + detail);
        }
    }

    [Fact]
    public async Task The_patient_view_course_card_stays_within_budget_with_a_long_course()
    {
        var cards = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-patient-view",
            ScenarioFiles.Load("ehr-style/cards-remission-then-relapse/request.json")));
        var detail = (string)ScenarioFiles.Card(cards, "ketamine-course")!["detail"]!;
        Assert.True(detail.Length <= Budgets["ketamine-course"], $"ketamine-course detail is {detail.Length} characters:\n{detail}");
        AssertClean("ketamine-course", detail);
    }

    /// <summary>The patient-view lamotrigine card does not repeat the course block that the course card shows.</summary>
    [Fact]
    public async Task On_patient_view_the_course_is_shown_once()
    {
        var request = ScenarioFiles.Load("ehr-style/cards-remission-then-relapse/request.json");
        var statements = request["prefetch"]!["medicationStatements"]!["entry"]!.AsArray();
        statements.Add(System.Text.Json.Nodes.JsonNode.Parse("""
            {"fullUrl": "https://ehr.example.org/fhir/MedicationStatement/ms-lam", "resource": {"resourceType": "MedicationStatement", "id": "ms-lam",
             "status": "active", "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "28439"}], "text": "lamotrigine"},
             "subject": {"reference": "Patient/cards-relapse-1"}, "dosage": [{"text": "100 mg daily", "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
             "doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}]}}
            """));
        var cards = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-patient-view", request));
        var all = string.Join("\n", cards.Select(c => (string)c!["detail"]!));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(all, "QIDS-SR16 baseline: 20"));
        Assert.Contains("on the ketamine course card", (string)ScenarioFiles.Card(cards, "lamotrigine-concurrent")!["detail"]!, StringComparison.Ordinal);
    }

    private static void AssertClean(string finding, string text)
    {
        foreach (var id in new[] { "MedicationStatement/", "MedicationRequest/", "Observation/", "Medication/", "urn:uuid:" })
        {
            Assert.False(text.Contains(id, StringComparison.Ordinal), $"{finding}: clinician text names a FHIR id ({id}): {text}");
        }

        foreach (var internalText in new[] { "README", "KetamineCds reference", "as transcribed", "Limitations: Limitations", "Correction: Correction", "Correction to:" })
        {
            Assert.False(text.Contains(internalText, StringComparison.OrdinalIgnoreCase), $"{finding}: '{internalText}' in: {text}");
        }

        // One heading of each kind (a heading opens a line; bold cells of the table are not headings).
        var headings = System.Text.RegularExpressions.Regex.Matches(text, @"(?m)^\*\*[^*]+\*\*").Select(m => m.Value).ToList();
        Assert.Equal(headings.Distinct(StringComparer.Ordinal).Count(), headings.Count);
    }
}
