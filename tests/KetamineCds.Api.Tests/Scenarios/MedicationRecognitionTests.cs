using System.Text.Json.Nodes;
using KetamineCds.Api.Tests.Support;
using static KetamineCds.Api.Tests.Support.RequestBuilder;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>
/// Which entries count (status, intent), how medications are recognized (RxNorm ingredient and product codes,
/// contained Medication, names and brands), and when each hook answers at all.
/// </summary>
public sealed class MedicationRecognitionTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    private static JsonObject Clonazepam => Concept("clonazepam", "2598");

    private async Task<JsonArray> Cards(JsonObject request, string service = "ketamine-order-sign") =>
        await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), service, request));

    private async Task<IReadOnlyList<string>> Findings(JsonObject request, string service = "ketamine-order-sign") =>
        ScenarioFiles.Findings(await Cards(request, service));

    [Theory]
    [InlineData("active", true)]
    [InlineData("intended", true)]
    [InlineData("on-hold", true)]
    [InlineData("stopped", false)]
    [InlineData("completed", false)]
    [InlineData("entered-in-error", false)]
    [InlineData("not-taken", false)]
    [InlineData("unknown", false)]
    public async Task MedicationStatement_status_decides_whether_clonazepam_2mg_counts(string status, bool counts)
    {
        var findings = await Findings(OrderSign([Statement("s1", Clonazepam, Dosage(2), status)]));
        Assert.Equal(counts, findings.Contains("benzodiazepine-threshold"));
    }

    [Theory]
    [InlineData("active", "order", true)]
    [InlineData("on-hold", "order", true)]
    [InlineData("active", "plan", true)]
    [InlineData("active", "proposal", true)]
    [InlineData("cancelled", "order", false)]
    [InlineData("completed", "order", false)]
    [InlineData("stopped", "order", false)]
    [InlineData("entered-in-error", "order", false)]
    [InlineData("draft", "order", false)]
    public async Task MedicationRequest_status_and_intent_decide_whether_clonazepam_2mg_counts(string status, string intent, bool counts)
    {
        var findings = await Findings(OrderSign(requests: [Request("r1", Clonazepam, Dosage(2), status, intent)]));
        Assert.Equal(counts, findings.Contains("benzodiazepine-threshold"));
    }

    [Fact]
    public async Task An_ended_effective_period_is_not_current()
    {
        var statement = Statement("s1", Clonazepam, Dosage(2));
        statement["effectivePeriod"] = new JsonObject { ["start"] = "2020-01-01", ["end"] = "2021-01-01" };
        Assert.DoesNotContain("benzodiazepine-threshold", await Findings(OrderSign([statement])));
    }

    [Fact]
    public async Task An_RxNorm_ingredient_code_is_recognized_even_with_a_misleading_text()
    {
        var concept = new JsonObject
        {
            ["coding"] = new JsonArray(new JsonObject { ["system"] = RxNorm, ["code"] = "2598" }),
            ["text"] = "home med #3",
        };
        Assert.Contains("benzodiazepine-threshold", await Findings(OrderSign([Statement("s1", concept, Dosage(2))])));
    }

    [Fact]
    public async Task A_product_code_from_the_reference_list_is_recognized()
    {
        var code = ScenarioKnowledge.ProductCodeFor("clonazepam");
        var concept = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = RxNorm, ["code"] = code }) };
        Assert.Contains("benzodiazepine-threshold", await Findings(OrderSign([Statement("s1", concept, Dosage(2))])));
    }

    [Theory]
    [InlineData("Klonopin")]
    [InlineData("KLONOPIN 1 MG TABLET")]
    [InlineData("clonazepam (Klonopin)")]
    public async Task Brand_and_ingredient_names_without_codes_are_recognized(string text) =>
        Assert.Contains("benzodiazepine-threshold", await Findings(OrderSign([Statement("s1", Concept(text), Dosage(2))])));

    [Fact]
    public async Task An_unknown_local_code_never_hides_a_benzodiazepine_named_in_the_display()
    {
        var concept = new JsonObject
        {
            ["coding"] = new JsonArray(new JsonObject { ["system"] = "urn:oid:1.2.3.4", ["code"] = "LOCAL-99", ["display"] = "Lorazepam 2 mg tab" }),
        };
        Assert.Contains("benzodiazepine-threshold", await Findings(OrderSign([Statement("s1", concept, Dosage(4))])));
    }

    [Fact]
    public async Task MedicationReference_to_a_contained_Medication_is_read()
    {
        var statement = Statement("s1", Clonazepam, Dosage(2));
        statement.Remove("medicationCodeableConcept");
        statement["contained"] = new JsonArray(new JsonObject
        {
            ["resourceType"] = "Medication",
            ["id"] = "med1",
            ["code"] = Concept("clonazepam", "2598"),
        });
        statement["medicationReference"] = new JsonObject { ["reference"] = "#med1" };
        Assert.Contains("benzodiazepine-threshold", await Findings(OrderSign([statement])));
    }

    [Fact]
    public async Task Lamotrigine_is_recognized_by_brand_name()
    {
        var cards = await Cards(OrderSign([Statement("s1", Concept("Lamictal"), Dosage(200))]));
        var card = ScenarioFiles.Card(cards, "lamotrigine-concurrent")!;
        Assert.Equal(200m, (decimal)card["extension"]!["ketaminecds"]!["lamotrigineMgPerDay"]!);
    }

    [Fact]
    public async Task Two_dosage_lines_are_summed()
    {
        var statement = Statement("s1", Concept("lamotrigine", "28439"), Dosage(100, "AM"));
        statement["dosage"]!.AsArray().Add(Dosage(200, "BED"));
        var cards = await Cards(OrderSign([statement]));
        Assert.Equal(300m, (decimal)ScenarioFiles.Card(cards, "lamotrigine-concurrent")!["extension"]!["ketaminecds"]!["lamotrigineMgPerDay"]!);
    }

    [Fact]
    public async Task A_resource_of_another_patient_is_never_counted()
    {
        var statement = Statement("s1", Clonazepam, Dosage(2));
        statement["subject"] = new JsonObject { ["reference"] = "Patient/someone-else" };
        Assert.DoesNotContain("benzodiazepine-threshold", await Findings(OrderSign([statement, Statement("l1", Concept("lamotrigine"), Dosage(100))])));
    }

    [Fact]
    public async Task An_unreadable_resource_is_skipped_counted_and_disclosed()
    {
        var broken = new JsonObject { ["resourceType"] = "MedicationStatement", ["id"] = "bad", ["status"] = new JsonObject { ["nested"] = true }, ["medicationCodeableConcept"] = Concept("clonazepam 1 mg") };
        var cards = await Cards(OrderSign([broken, Statement("l1", Concept("lamotrigine"), Dosage(100))]));
        var card = ScenarioFiles.Card(cards, "lamotrigine-concurrent")!;
        Assert.Equal(1, (int)card["extension"]!["ketaminecds"]!["unreadableResources"]!);
        Assert.Contains("could not be read", (string)card["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_bundle_means_no_medications_and_no_cards()
    {
        var request = OrderSign();
        request["prefetch"]!["medicationStatements"]!.AsObject().Remove("entry");
        Assert.Empty(await Cards(request));
    }

    [Fact]
    public async Task Order_sign_without_a_ketamine_order_answers_no_cards()
    {
        var request = WithDraftMedication(OrderSign([Statement("s1", Clonazepam, Dosage(2))]), Concept("sertraline"));
        Assert.Empty(await Cards(request));
    }

    [Theory]
    [InlineData("esketamine", "2201623")]
    [InlineData("Spravato 56 mg nasal spray", null)]
    [InlineData("ketamine hydrochloride injection", null)]
    [InlineData("Ketalar", null)]
    public async Task Ketamine_and_esketamine_orders_by_any_route_trigger_the_service(string text, string? code)
    {
        var request = WithDraftMedication(OrderSign([Statement("s1", Clonazepam, Dosage(2))]), Concept(text, code));
        Assert.Contains("benzodiazepine-threshold", await Findings(request));
    }

    [Fact]
    public async Task Order_select_answers_only_when_the_selected_order_is_ketamine()
    {
        var statements = new[] { Statement("s1", Clonazepam, Dosage(2)) };
        var selected = OrderSelect(statements, DraftOrderReference(OrderSign()));
        Assert.Contains("benzodiazepine-threshold", await Findings(selected, "ketamine-order-select"));

        var other = OrderSelect(statements, "MedicationRequest/not-the-ketamine-order");
        Assert.Empty(await Cards(other, "ketamine-order-select"));
    }

    [Fact]
    public async Task Patient_view_answers_only_for_patients_on_ketamine_or_esketamine()
    {
        var lamotrigine = Statement("l1", Concept("lamotrigine", "28439"), Dosage(100));
        Assert.Empty(await Cards(PatientView([lamotrigine]), "ketamine-patient-view"));

        var esketamine = Statement("k1", Concept("esketamine", "2201623"), null);
        Assert.Contains("lamotrigine-concurrent", await Findings(PatientView([lamotrigine, esketamine]), "ketamine-patient-view"));

        var stoppedKetamine = Statement("k2", Concept("ketamine", "6130"), null, "completed");
        Assert.Empty(await Cards(PatientView([lamotrigine, stoppedKetamine]), "ketamine-patient-view"));

        var plannedKetamine = Request("k3", Concept("ketamine", "6130"), null, "active", "plan");
        Assert.Contains("lamotrigine-concurrent", await Findings(PatientView([lamotrigine], [plannedKetamine]), "ketamine-patient-view"));
    }

    [Fact]
    public async Task A_benzodiazepine_without_a_dose_is_named_on_its_own_card()
    {
        var cards = await Cards(OrderSign([Statement("s1", Concept("diazepam", "3322"), null)]));
        var card = ScenarioFiles.Card(cards, "benzodiazepine-dose-unknown")!;
        Assert.Contains("diazepam", (string)card["summary"]!, StringComparison.OrdinalIgnoreCase);
        var line = card["extension"]!["ketaminecds"]!["medications"]![0]!;
        Assert.Null(line["mgPerDay"]);
        Assert.False((bool)line["counted"]!);
    }

    [Fact]
    public async Task Unreadable_data_with_no_other_finding_is_said_on_a_card_not_answered_silently()
    {
        var broken = new JsonObject { ["resourceType"] = "MedicationStatement", ["id"] = "bad", ["status"] = new JsonObject { ["nested"] = true }, ["medicationCodeableConcept"] = Concept("clonazepam 1 mg") };
        var cards = await Cards(OrderSign([broken]));
        var card = Assert.Single(cards)!;
        Assert.Equal("patient-data-unreadable", (string)card["extension"]!["ketaminecds"]!["finding"]!);
        Assert.Equal(1, (int)card["extension"]!["ketaminecds"]!["unreadableResources"]!);
    }
}
