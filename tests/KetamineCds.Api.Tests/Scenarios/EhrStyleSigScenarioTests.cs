using System.Text.Json.Nodes;
using KetamineCds.Api.Tests.Support;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>
/// Issue 7, items 1 and 3: medications as Epic sends them (medicationReference to an included Medication, the schedule
/// only in the sig text, Epic's default sig wording, a route only in the text), through the real HTTP pipeline. Each
/// fixture (tests/scenarios/ehr-style/sig-*/) holds the request, the expected result and the pharmacist's hand
/// computation in narrative.md.
/// </summary>
public sealed class EhrStyleSigScenarioTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    public static TheoryData<string> Scenarios() => new(
        Directory.GetDirectories(Path.Combine(ScenarioFiles.Root, "ehr-style"), "sig-*").Select(Path.GetFileName).OfType<string>().Order());

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Epic_style_sig_gives_the_pharmacists_numbers(string scenario)
    {
        var expected = ScenarioFiles.Load($"ehr-style/{scenario}/expected.json");
        var response = await ScenarioFiles.PostAsync(app.CreateClient(), (string)expected["service"]!, ScenarioFiles.Load($"ehr-style/{scenario}/request.json"));
        var cards = await ScenarioFiles.CardsAsync(response);
        var findings = ScenarioFiles.Findings(cards);

        foreach (var finding in expected["findings"]!.AsArray().Select(f => (string)f!))
        {
            Assert.Contains(finding, findings);
        }

        foreach (var absent in expected["noFinding"]?.AsArray().Select(f => (string)f!) ?? [])
        {
            Assert.DoesNotContain(absent, findings);
        }

        if (expected["lamotrigineMgPerDay"] is JsonValue lamotrigineMg)
        {
            var lamotrigine = ScenarioFiles.Card(cards, "lamotrigine-concurrent")!["extension"]!["ketaminecds"]!;
            Assert.Equal((decimal)lamotrigineMg, (decimal)lamotrigine["lamotrigineMgPerDay"]!);
            Assert.Equal((string)expected["lamotrigineDoseCategory"]!, (string)lamotrigine["lamotrigineDoseCategory"]!);
        }

        if (expected["medications"] is not JsonArray medications)
        {
            return;
        }

        var benzo = cards.Select(c => c!["extension"]!["ketaminecds"]!)
            .First(e => ((string)e["finding"]!).StartsWith("benzodiazepine", StringComparison.Ordinal));
        if (expected["lorazepamEquivalentMgPerDay"] is JsonValue primary)
        {
            Assert.Equal((decimal)primary, (decimal)benzo["lorazepamEquivalentMgPerDay"]!);
            Assert.Equal((decimal)expected["lorazepamEquivalentMgPerDayAlternate"]!, (decimal)benzo["lorazepamEquivalentMgPerDayAlternate"]!);
        }

        foreach (var medication in medications)
        {
            var line = benzo["medications"]!.AsArray().Single(m => (string)m!["ingredient"]! == (string)medication!["ingredient"]!)!;
            Assert.Equal((decimal)medication!["mgPerDay"]!, (decimal)line["mgPerDay"]!);
            Assert.Equal((bool)medication["counted"]!, (bool)line["counted"]!);
            if (medication["notCountedReasonContains"] is JsonValue reason)
            {
                Assert.Contains((string)reason!, (string)line["notCountedReason"]!, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task The_IV_lorazepam_sig_raises_no_threshold_warning_and_names_the_route()
    {
        var response = await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-order-sign", ScenarioFiles.Load("ehr-style/sig-iv-lorazepam-route-in-text/request.json"));
        var cards = await ScenarioFiles.CardsAsync(response);
        Assert.DoesNotContain("benzodiazepine-threshold", ScenarioFiles.Findings(cards));
        var card = ScenarioFiles.Card(cards, "benzodiazepine-dose-unknown");
        Assert.NotNull(card);
        Assert.Contains("intravenous", (string)card!["detail"]!, StringComparison.OrdinalIgnoreCase);
        Assert.Null(card["extension"]!["ketaminecds"]!["lorazepamEquivalentMgPerDay"]);
    }
}
