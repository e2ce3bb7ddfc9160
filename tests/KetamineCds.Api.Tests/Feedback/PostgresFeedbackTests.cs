using System.Net;
using System.Text;
using KetamineCds.Api.Tests.Support;
using KetamineCds.Storage;
using KetamineCds.Storage.Tests;
using KetamineCds.Api.Feedback;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using static KetamineCds.Api.Tests.Support.RequestBuilder;

namespace KetamineCds.Api.Tests.Feedback;

/// <summary>
/// The service configured for PostgreSQL (KetamineCds:Storage:Provider=postgres) against a real server started by the
/// test run: the schema is created on start, feedback is stored, and an override quiets the repeat order; with two
/// instances on one database, an override posted to the other instance quiets this one's repeat order once its
/// remembered "no override" expires (SnoozeCacheSeconds), and the alert shows until then.
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

    [Fact]
    public async Task With_two_instances_an_override_posted_to_the_other_one_quiets_this_ones_repeat_order_within_the_cache_period()
    {
        if (PostgresServer.Skipped)
        {
            return;
        }

        var database = server.CreateDatabase();
        var start = new DateTimeOffset(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);
        var clockA = new FakeTimeProvider(start);
        var clockB = new FakeTimeProvider(start);
        Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> Instance(FakeTimeProvider clock) => CdsApplication.With(new Dictionary<string, string?>
            {
                ["KetamineCds:Storage:Provider"] = "postgres",
                ["KetamineCds:Storage:PostgresConnectionString"] = database,
                ["KetamineCds:Storage:SnoozeCacheSeconds"] = "30",
                // Instances behind one load balancer share the audit key, or they would not agree on patient hashes.
                ["KetamineCds:Security:Audit:PatientIdHashKey"] = Convert.ToBase64String(new byte[32]),
            })
            .WithWebHostBuilder(b => b.ConfigureTestServices(s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock))));
        using var a = Instance(clockA);
        using var b = Instance(clockB);
        var clientA = a.CreateClient();
        var clientB = b.CreateClient();
        var order = OrderSign([Statement("b1", Concept("lorazepam"), Dosage(2, "BID"))]);

        var card = ScenarioFiles.Card(await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(clientA, "ketamine-order-sign", order)), "benzodiazepine-threshold");
        Assert.NotNull(card);
        var feedback = SnoozeAndFeedbackTests.Overridden((string)card["uuid"]!);
        Assert.Equal(HttpStatusCode.OK, (await clientB.PostAsync("/cds-services/ketamine-order-sign/feedback", new StringContent(feedback, Encoding.UTF8, "application/json"))).StatusCode);
        await a.Services.GetRequiredService<CardLedgerWriter>().FlushAsync(TimeSpan.FromSeconds(10), CancellationToken.None);

        // B knows at once; A remembers "no override" for this patient's finding and shows the alert until that expires.
        Assert.Null(ScenarioFiles.Card(await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(clientB, "ketamine-order-sign", order)), "benzodiazepine-threshold"));
        clockA.Advance(TimeSpan.FromSeconds(29));
        Assert.NotNull(ScenarioFiles.Card(await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(clientA, "ketamine-order-sign", order)), "benzodiazepine-threshold"));
        clockA.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(ScenarioFiles.Card(await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(clientA, "ketamine-order-sign", order)), "benzodiazepine-threshold"));
    }
}
