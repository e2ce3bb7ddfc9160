using System.Text.Json.Nodes;
using KetamineCds.Api.Tests.Support;
using static KetamineCds.Api.Tests.Support.RequestBuilder;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>
/// SNOMED CT and ATC codings through the whole HTTP pipeline, pre-screen included. The displays used here are brand
/// names outside our RxNorm-derived name list (Rivotril, Temesta: European brands), so only the code can let the entry
/// through the screen and into the classifier.
/// </summary>
public sealed class CodeSystemRecognitionTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    private async Task<JsonArray> Cards(JsonObject request) =>
        await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-order-sign", request));

    private static JsonObject Coding(string system, string code, string? display = null)
    {
        var coding = new JsonObject { ["system"] = system, ["code"] = code };
        if (display is not null)
        {
            coding["display"] = display;
        }

        return new JsonObject { ["coding"] = new JsonArray(coding) };
    }

    private static JsonObject Tablets(decimal count, string timingCode)
    {
        var dosage = Dosage(1, timingCode);
        dosage["doseAndRate"]![0]!["doseQuantity"] = new JsonObject { ["value"] = count, ["unit"] = "tablet" };
        return dosage;
    }

    private static decimal? Total(JsonArray cards) =>
        (decimal?)ScenarioFiles.Card(cards, "benzodiazepine-threshold")?["extension"]?["ketaminecds"]?["lorazepamEquivalentMgPerDay"];

    [Fact]
    public async Task An_ATC_coded_lorazepam_under_a_European_brand_name_is_counted() =>
        // lorazepam 2 mg BID = 4 mg/day = 4 mg lorazepam equivalents.
        Assert.Equal(4m, Total(await Cards(OrderSign([Statement("s1", Coding("http://www.whocc.no/atc", "N05BA06", "Temesta 1 mg"), Dosage(2, "BID"))]))));

    [Fact]
    public async Task A_SNOMED_CT_product_code_gives_the_tablet_strength()
    {
        // SNOMED CT 322898003: clonazepam 2 milligram/1 each oral tablet; 1 tablet BID = 4 mg/day = 8 mg lorazepam equivalents (Ashton 0.5).
        var cards = await Cards(OrderSign([Statement("s1", Coding("http://snomed.info/sct", "322898003", "Rivotril 2 mg tablets"), Tablets(1, "BID"))]));
        Assert.Equal(8m, Total(cards));
    }

    [Fact]
    public async Task A_SNOMED_CT_substance_sent_by_its_OID_is_counted() =>
        Assert.Equal(4m, Total(await Cards(OrderSign([Statement("s1", Coding("urn:oid:2.16.840.1.113883.6.96", "387106007"), Dosage(4, "QD"))]))));

    [Fact]
    public async Task A_stopped_entry_with_an_unknown_code_and_no_name_is_not_counted_as_unreadable()
    {
        var cards = await Cards(OrderSign([
            Statement("old", Coding("http://snomed.info/sct", "999999999"), Dosage(1, "QD"), "stopped"),
            Statement("l1", Concept("lamotrigine", "28439"), Dosage(100)),
        ]));
        Assert.Null(ScenarioFiles.Card(cards, "lamotrigine-concurrent")!["extension"]!["ketaminecds"]!["unreadableResources"]);
    }

    [Fact]
    public async Task An_active_entry_with_an_unknown_code_and_no_name_alone_gives_the_unreadable_card()
    {
        var card = Assert.Single(await Cards(OrderSign([Statement("x", Coding("http://snomed.info/sct", "999999999"), Dosage(1, "QD"))])))!;
        Assert.Equal("patient-data-unreadable", (string)card["extension"]!["ketaminecds"]!["finding"]!);
        Assert.Equal(1, (int)card["extension"]!["ketaminecds"]!["unreadableResources"]!);
    }

    [Fact]
    public async Task A_coded_drug_whose_display_names_another_drug_is_not_unreadable() =>
        Assert.Empty(await Cards(OrderSign([Statement("x", Coding("http://snomed.info/sct", "999999999", "Sertraline 50 mg tablet"), Dosage(50, "QD"))])));
}
