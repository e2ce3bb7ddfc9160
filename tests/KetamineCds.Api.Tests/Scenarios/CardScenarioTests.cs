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

    private static IEnumerable<string> Strings(JsonNode spec, string key) =>
        spec[key]?.AsArray().Select(s => (string)s!) ?? [];
}
