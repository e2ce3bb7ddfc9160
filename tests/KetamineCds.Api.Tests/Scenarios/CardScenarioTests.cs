using System.Text.Json.Nodes;
using KetamineCds.Api.Tests.Support;

namespace KetamineCds.Api.Tests.Scenarios;

/// <summary>
/// The ehr-style card scenarios (tests/scenarios/ehr-style/cards-*; narrative.md holds each hand computation): issue 7
/// items 5-8. expected.json names the findings and, per card, what the summary and detail must (not) say and the
/// extension members (dotted paths) with their values.
/// </summary>
public sealed class CardScenarioTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    public static TheoryData<string> Scenarios() => new(CardScenarios.EhrStyleCardScenarios());

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Cards_say_what_the_pharmacist_computed(string scenario)
    {
        var expected = ScenarioFiles.Load($"ehr-style/{scenario}/expected.json");
        var cards = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), (string)expected["service"]!, ScenarioFiles.Load($"ehr-style/{scenario}/request.json")));
        Assert.Equal(expected["findings"]!.AsArray().Select(f => (string)f!).Order(StringComparer.Ordinal), ScenarioFiles.Findings(cards));
        foreach (var (finding, spec) in expected["cards"]!.AsObject())
        {
            var card = ScenarioFiles.Card(cards, finding) ?? throw new Xunit.Sdk.XunitException($"no {finding} card");
            var summary = (string)card["summary"]!;
            var detail = (string)card["detail"]!;
            if (spec!["indicator"] is { } indicator)
            {
                Assert.Equal((string)indicator!, (string)card["indicator"]!);
            }

            foreach (var text in Strings(spec, "summaryContains"))
            {
                Assert.Contains(text, summary, StringComparison.Ordinal);
            }

            foreach (var text in Strings(spec, "detailContains"))
            {
                Assert.Contains(text, detail, StringComparison.Ordinal);
            }

            foreach (var text in Strings(spec, "detailNotContains"))
            {
                Assert.DoesNotContain(text, detail, StringComparison.Ordinal);
            }

            foreach (var (path, value) in spec["extension"]?.AsObject() ?? [])
            {
                JsonNode? node = card["extension"]!["ketaminecds"];
                foreach (var part in path.Split('.'))
                {
                    node = node?[part];
                }

                Assert.True(node is not null, $"{finding}: extension member {path} is missing");
                Assert.True(value!.GetValueKind() == System.Text.Json.JsonValueKind.Number
                        ? (decimal)value == (decimal)node!
                        : JsonNode.DeepEquals(value, node),
                    $"{finding}: extension {path} is {node!.ToJsonString()}, expected {value.ToJsonString()}");
            }
        }
    }

    /// <summary>Issue 7 item 1 (card side): the dose-unknown summary names the drug and the actual reason.</summary>
    [Theory]
    [InlineData("lorazepam", 2, "Intravenous", "Benzodiazepine not counted: lorazepam (route not oral); the total excludes it")]
    [InlineData("midazolam", 5, "Oral", "Benzodiazepine not counted: midazolam (no oral lorazepam equivalence); the total excludes it")]
    [InlineData("diazepam", null, null, "Benzodiazepine not counted: diazepam (dose unknown); the total excludes it")]
    public async Task The_dose_unknown_summary_names_the_drug_and_why_it_was_not_counted(string drug, int? mg, string? route, string summary)
    {
        var statement = RequestBuilder.Statement("b1", RequestBuilder.Concept(drug), mg is { } dose ? RequestBuilder.Dosage(dose, route: route) : null);
        var cards = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-order-sign", RequestBuilder.OrderSign([statement])));
        var card = ScenarioFiles.Card(cards, "benzodiazepine-dose-unknown")!;
        Assert.Equal(summary, (string)card["summary"]!);
        var kind = (string)card["extension"]!["ketaminecds"]!["medications"]![0]!["notCountedKind"]!;
        Assert.Equal(summary.Contains("route", StringComparison.Ordinal) ? "not-oral" : summary.Contains("equivalence", StringComparison.Ordinal) ? "no-equivalence" : "dose-unknown", kind);
    }

    [Fact]
    public async Task Two_benzodiazepines_not_counted_for_different_reasons_are_both_named()
    {
        var cards = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(app.CreateClient(), "ketamine-order-sign", RequestBuilder.OrderSign(
        [
            RequestBuilder.Statement("b1", RequestBuilder.Concept("lorazepam"), RequestBuilder.Dosage(2, route: "Intravenous")),
            RequestBuilder.Statement("b2", RequestBuilder.Concept("diazepam"), null),
        ])));
        Assert.Equal("Benzodiazepines not counted: lorazepam (route not oral); diazepam (dose unknown); the total excludes them",
            (string)ScenarioFiles.Card(cards, "benzodiazepine-dose-unknown")!["summary"]!);
    }

    private static IEnumerable<string> Strings(JsonNode spec, string key) =>
        spec[key]?.AsArray().Select(s => (string)s!) ?? [];
}
