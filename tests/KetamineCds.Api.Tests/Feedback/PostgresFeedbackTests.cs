using System.Net;
using System.Text;
using KetamineCds.Api.Tests.Support;
using KetamineCds.Storage;
using KetamineCds.Storage.Tests;
using Microsoft.Extensions.DependencyInjection;
using static KetamineCds.Api.Tests.Support.RequestBuilder;

namespace KetamineCds.Api.Tests.Feedback;

/// <summary>
/// The service configured for PostgreSQL (KetamineCds:Storage:Provider=postgres) against a real server started by the
/// test run: the schema is created on start, feedback is stored, and an override quiets the repeat order.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresFeedbackTests(PostgresServer server)
{
    [Fact]
    public async Task With_PostgreSQL_configured_an_override_is_stored_and_quiets_the_repeat_order()
    {
        if (PostgresServer.Skipped)
        {
            // KETAMINECDS_SKIP_POSTGRES=1: PostgreSQL skipped on purpose (the store contract tests report it as skipped).
            return;
        }

        using var app = CdsApplication.With(new Dictionary<string, string?>
        {
            ["KetamineCds:Storage:Provider"] = "postgres",
            ["KetamineCds:Storage:PostgresConnectionString"] = server.CreateDatabase(),
        });
        var client = app.CreateClient();
        var order = OrderSign([Statement("b1", Concept("lorazepam"), Dosage(2, "BID"))]);
        var card = ScenarioFiles.Card(await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(client, "ketamine-order-sign", order)), "benzodiazepine-threshold");
        Assert.NotNull(card);
        var uuid = (string)card["uuid"]!;

        var feedback = $$$"""{"feedback":[{"card":"{{{uuid}}}","outcome":"overridden","overrideReason":{"reason":{"system":"http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason","code":"dose-already-adjusted"}},"outcomeTimestamp":"2026-11-27T09:01:00Z"}]}""";
        for (var i = 0; i < 2; i++)
        {
            var response = await client.PostAsync("/cds-services/ketamine-order-sign/feedback", new StringContent(feedback, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var store = app.Services.GetRequiredService<IKetamineCdsStore>();
        Assert.Equal("postgres", store.Provider);
        var stored = Assert.Single(await store.FeedbackForCardAsync(Guid.Parse(uuid), CancellationToken.None));
        Assert.Equal("dose-already-adjusted", stored.Item.Reason?.Code);
        Assert.NotNull(stored.Card);

        var repeat = await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(client, "ketamine-order-sign", order));
        Assert.Null(ScenarioFiles.Card(repeat, "benzodiazepine-threshold"));
    }
}
