using KetamineCds.Api.Tests.Support;

namespace KetamineCds.Api.Tests.Contract;

/// <summary>
/// Card uuids come from the cryptographic generator, not Guid.NewGuid (issue 8 item 1: a system call per uuid). Feedback
/// names a card by its uuid, so every card must still get a distinct, well-formed random (version 4) uuid.
/// </summary>
public sealed class CardUuidTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    [Fact]
    public async Task Every_card_of_every_scenario_gets_a_distinct_random_version_4_uuid()
    {
        var client = app.CreateClient();
        var seen = new HashSet<Guid>();
        foreach (var (_, service, request) in CardScenarios.All())
        {
            foreach (var card in await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(client, service, request)))
            {
                var text = (string)card!["uuid"]!;
                Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", text);
                var uuid = Guid.Parse(text);
                Assert.Equal(4, uuid.Version);
                Assert.True(seen.Add(uuid), $"uuid {text} issued twice");
            }
        }

        Assert.True(seen.Count > 40, $"only {seen.Count} cards");
    }
}
