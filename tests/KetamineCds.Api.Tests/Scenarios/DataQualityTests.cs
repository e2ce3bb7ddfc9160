using System.Net;
using System.Text.Json.Nodes;
using KetamineCds.Api.Tests.Support;
using static KetamineCds.Api.Tests.Support.RequestBuilder;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>
/// Messy real-world data must neither hide a benzodiazepine nor invent one: external Medication references, negative
/// and absurd numbers, renewals and duplicates, disagreeing reports, stray format errors, RxNorm OIDs, entries under
/// the wrong prefetch key, unknown routes.
/// </summary>
public sealed class DataQualityTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    private async Task<JsonArray> Cards(JsonObject request) =>
        await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-order-sign", request));

    private static JsonObject Benzo(string? id, string name, decimal mg, string code = "TID") => Statement(id ?? name, Concept(name), Dosage(mg, code));

    private static decimal? Total(JsonArray cards, string finding) =>
        (decimal?)ScenarioFiles.Card(cards, finding)?["extension"]?["ketaminecds"]?["lorazepamEquivalentMgPerDay"];

    [Fact]
    public async Task A_medicationReference_to_an_included_Medication_is_resolved()
    {
        var statement = Statement("s1", Concept("x"), Dosage(1, "TID"));
        statement.Remove("medicationCodeableConcept");
        statement["medicationReference"] = new JsonObject { ["reference"] = "Medication/clon-2mg" };
        var request = OrderSign([statement]);
        request["prefetch"]!["medicationStatements"]!["entry"]!.AsArray().Add(new JsonObject
        {
            ["resource"] = new JsonObject { ["resourceType"] = "Medication", ["id"] = "clon-2mg", ["code"] = Concept("clonazepam 2 MG Oral Tablet") },
            ["search"] = new JsonObject { ["mode"] = "include" },
        });
        Assert.Equal(6m, Total(await Cards(request), "benzodiazepine-threshold")); // clonazepam 1 mg x 3 = 3 mg / 0.5
    }

    [Fact]
    public async Task An_unresolvable_medicationReference_is_disclosed_not_dropped()
    {
        var statement = Statement("s1", Concept("x"), Dosage(1, "TID"));
        statement.Remove("medicationCodeableConcept");
        statement["medicationReference"] = new JsonObject { ["reference"] = "Medication/not-sent" };
        var card = Assert.Single(await Cards(OrderSign([statement])))!;
        Assert.Equal("patient-data-unreadable", (string)card["extension"]!["ketaminecds"]!["finding"]!);
    }

    [Fact]
    public async Task A_negative_dose_never_cancels_another_benzodiazepine()
    {
        var cards = await Cards(OrderSign([Benzo("c", "clonazepam", -10, "QD"), Benzo("l", "lorazepam", 5, "QD")]));
        Assert.Equal(5m, Total(cards, "benzodiazepine-threshold"));
        Assert.NotNull(ScenarioFiles.Card(cards, "benzodiazepine-dose-unknown"));
    }

    [Theory]
    [InlineData("7.9e27", "1e-6", "h")]
    [InlineData("1", "1e27", "a")]
    [InlineData("2", "1e-10", "s")]
    public async Task Absurd_numbers_are_an_unknown_dose_not_a_500(string dose, string period, string unit)
    {
        var statement = Statement("s1", Concept("lorazepam"), null);
        statement["dosage"] = JsonNode.Parse(
            "[{\"timing\":{\"repeat\":{\"frequency\":2147483647,\"period\":" + period + ",\"periodUnit\":\"" + unit + "\"}}," +
            "\"doseAndRate\":[{\"doseQuantity\":{\"value\":" + dose + ",\"unit\":\"mg\",\"code\":\"mg\"}}]}]");
        var response = await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-order-sign", OrderSign([statement]));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cards = await ScenarioFiles.CardsAsync(response);
        Assert.Null(ScenarioFiles.Card(cards, "benzodiazepine-threshold"));
        Assert.NotNull(ScenarioFiles.Card(cards, "benzodiazepine-dose-unknown"));
    }

    [Fact]
    public async Task An_ended_dispensing_window_does_not_end_the_therapy()
    {
        var request = Request("r1", Concept("clonazepam", "2598"), Dosage(2, "TID"));
        request["dispenseRequest"] = new JsonObject { ["validityPeriod"] = new JsonObject { ["start"] = "2024-01-01", ["end"] = "2024-07-01" } };
        Assert.Equal(12m, Total(await Cards(OrderSign(requests: [request])), "benzodiazepine-threshold"));
    }

    [Fact]
    public async Task A_renewal_and_the_prescription_it_renews_count_once()
    {
        var original = Request("a", Concept("clonazepam", "2598"), Dosage(1, "BID"));
        var renewal = Request("b", Concept("clonazepam", "2598"), Dosage(1, "BID"));
        renewal["priorPrescription"] = new JsonObject { ["reference"] = "MedicationRequest/a" };
        Assert.Equal(4m, Total(await Cards(OrderSign(requests: [original, renewal])), "benzodiazepine-threshold"));
    }

    [Fact]
    public async Task The_same_resource_twice_counts_once()
    {
        var statement = Benzo("dup", "clonazepam", 1, "BID");
        var request = OrderSign([statement, statement]);
        request["prefetch"]!["medicationRequests"] = Bundle([statement]); // and once more under the other key
        Assert.Equal(4m, Total(await Cards(request), "benzodiazepine-threshold"));
    }

    [Fact]
    public async Task An_unlinked_report_and_prescription_that_disagree_are_one_therapy_at_the_higher_dose()
    {
        var cards = await Cards(OrderSign(
            [Statement("s", Concept("lamotrigine", "28439"), Dosage(50, "QD"))],
            [Request("r", Concept("lamotrigine", "28439"), Dosage(75, "QD"))]));
        var card = ScenarioFiles.Card(cards, "lamotrigine-concurrent")!;
        Assert.Equal(75m, (decimal)card["extension"]!["ketaminecds"]!["lamotrigineMgPerDay"]!);
        Assert.Equal("low", (string)card["extension"]!["ketaminecds"]!["lamotrigineDoseCategory"]!);
        Assert.Contains("disagree", (string)card["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stray_format_error_does_not_hide_a_benzodiazepine()
    {
        var statement = Benzo("s", "clonazepam", 2, "TID");
        statement["note"] = "oops";
        var cards = await Cards(OrderSign([statement]));
        Assert.Equal(12m, Total(cards, "benzodiazepine-threshold"));
        Assert.Contains("format errors", (string)ScenarioFiles.Card(cards, "benzodiazepine-threshold")!["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RxNorm_sent_as_its_OID_is_recognized()
    {
        var concept = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "urn:oid:2.16.840.1.113883.6.88", ["code"] = ScenarioKnowledge.ProductCodeFor("lorazepam") }) };
        Assert.NotNull(ScenarioFiles.Card(await Cards(OrderSign([Statement("s", concept, Dosage(4, "QD"))])), "benzodiazepine-threshold"));
    }

    [Fact]
    public async Task A_statement_under_the_requests_key_is_still_counted() =>
        Assert.Equal(4m, Total(await Cards(OrderSign(requests: [Benzo("s", "lorazepam", 4, "QD")])), "benzodiazepine-threshold"));

    [Fact]
    public async Task When_nothing_could_be_counted_no_total_is_reported()
    {
        var card = ScenarioFiles.Card(await Cards(OrderSign([Statement("d", Concept("diazepam"), null)])), "benzodiazepine-dose-unknown")!;
        var ext = card["extension"]!["ketaminecds"]!;
        Assert.Null(ext["lorazepamEquivalentMgPerDay"]);
        Assert.True((bool)ext["totalExcludesUncountedMedications"]!);
    }

    [Fact]
    public async Task An_unrecognized_route_is_named_but_not_counted_as_oral()
    {
        var cards = await Cards(OrderSign([Statement("s", Concept("lorazepam"), Dosage(2, "TID", route: "intradermal"))]));
        Assert.Null(ScenarioFiles.Card(cards, "benzodiazepine-threshold"));
        Assert.Contains("intradermal", (string)ScenarioFiles.Card(cards, "benzodiazepine-dose-unknown")!["detail"]!, StringComparison.Ordinal);
    }
}
