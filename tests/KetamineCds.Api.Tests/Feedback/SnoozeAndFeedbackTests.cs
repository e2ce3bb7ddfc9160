using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using KetamineCds.Api.Tests.Support;
using KetamineCds.Api.Feedback;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using static KetamineCds.Api.Tests.Support.RequestBuilder;

namespace KetamineCds.Api.Tests.Feedback;

/// <summary>
/// Overrides quiet repeat alerts, through the real pipeline and a real SQLite store: a repeat order after an override
/// with a reason gets no repeat card, a worse one does, patient-view marks it reviewed, and the snooze ends with its
/// period (a clock the test controls). Feedback is idempotent and unknown cards are kept.
/// </summary>
public sealed class SnoozeAndFeedbackTests : IDisposable
{
    private const string Reasons = "http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason";
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 11, 27, 9, 0, 0, TimeSpan.Zero));
    private readonly string database = Path.Combine(Path.GetTempPath(), "kcds-snooze-" + Guid.NewGuid().ToString("N") + ".db");
    private readonly Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> app;
    private readonly HttpClient client;

    public SnoozeAndFeedbackTests()
    {
        app = CdsApplication.With(new Dictionary<string, string?> { ["KetamineCds:Storage:SqlitePath"] = database })
            .WithWebHostBuilder(b => b.ConfigureTestServices(s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock))));
        client = app.CreateClient();
    }

    private static JsonObject Lorazepam(decimal mgTwiceDaily) => Statement("b1", Concept("lorazepam"), Dosage(mgTwiceDaily, "BID"));

    private static JsonObject Ketamine() => Statement("k1", Concept("ketamine", "6130"), null);

    private async Task<JsonArray> CardsAsync(string service, JsonObject request) =>
        await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(client, service, request));

    private async Task<HttpResponseMessage> FeedbackAsync(string body) =>
        await client.PostAsync("/cds-services/ketamine-order-sign/feedback", new StringContent(body, Encoding.UTF8, "application/json"));

    internal static string Overridden(string card, string at = "2026-11-27T09:01:00Z", string code = "benefit-outweighs-risk", string system = Reasons, string? comment = null) =>
        new JsonObject
        {
            ["feedback"] = new JsonArray(new JsonObject
            {
                ["card"] = card,
                ["outcome"] = "overridden",
                ["overrideReason"] = new JsonObject
                {
                    ["reason"] = new JsonObject { ["code"] = code, ["system"] = system },
                    ["userComment"] = comment,
                },
                ["outcomeTimestamp"] = at,
            }),
        }.ToJsonString();

    private async Task<string> OverrideThresholdCardAsync(decimal mgTwiceDaily = 2)
    {
        var card = ScenarioFiles.Card(await CardsAsync("ketamine-order-sign", OrderSign([Lorazepam(mgTwiceDaily)])), "benzodiazepine-threshold");
        Assert.NotNull(card);
        var uuid = (string)card["uuid"]!;
        Assert.Equal(HttpStatusCode.OK, (await FeedbackAsync(Overridden(uuid))).StatusCode);
        return uuid;
    }

    private T Service<T>() where T : notnull => app.Services.GetRequiredService<T>();

    [Fact]
    public async Task After_an_override_with_a_reason_the_same_order_gets_no_repeat_benzodiazepine_card()
    {
        await OverrideThresholdCardAsync();
        var repeat = await CardsAsync("ketamine-order-sign", OrderSign([Lorazepam(2)]));
        Assert.Null(ScenarioFiles.Card(repeat, "benzodiazepine-threshold"));

        // order-select is quieted too: the override is of the finding for this patient, not of one hook.
        Assert.Null(ScenarioFiles.Card(await CardsAsync("ketamine-order-select", OrderSelect([Lorazepam(2)], DraftOrderReference(OrderSign()))), "benzodiazepine-threshold"));
    }

    [Fact]
    public async Task A_higher_lorazepam_equivalent_total_shows_the_card_again()
    {
        await OverrideThresholdCardAsync();
        var worse = ScenarioFiles.Card(await CardsAsync("ketamine-order-sign", OrderSign([Lorazepam(3)])), "benzodiazepine-threshold");
        Assert.NotNull(worse);
        Assert.Equal(6m, (decimal)worse["extension"]!["ketaminecds"]!["lorazepamEquivalentMgPerDay"]!);
    }

    [Fact]
    public async Task A_new_benzodiazepine_shows_the_card_again_even_when_the_total_does_not_rise()
    {
        await OverrideThresholdCardAsync();
        // Diazepam without a dose: not counted (the total stays 4), but it is a benzodiazepine the override never saw.
        var cards = await CardsAsync("ketamine-order-sign", OrderSign([Lorazepam(2), Statement("d1", Concept("diazepam"), null)]));
        var card = ScenarioFiles.Card(cards, "benzodiazepine-threshold");
        Assert.NotNull(card);
        Assert.Equal(4m, (decimal)card["extension"]!["ketaminecds"]!["lorazepamEquivalentMgPerDay"]!);
    }

    [Fact]
    public async Task A_lower_total_stays_quiet()
    {
        await OverrideThresholdCardAsync(mgTwiceDaily: 3);
        Assert.Null(ScenarioFiles.Card(await CardsAsync("ketamine-order-sign", OrderSign([Lorazepam(2.5m)])), "benzodiazepine-threshold"));
    }

    [Fact]
    public async Task Patient_view_still_shows_the_card_marked_as_reviewed_by_whom_and_when()
    {
        await OverrideThresholdCardAsync();
        var card = ScenarioFiles.Card(await CardsAsync("ketamine-patient-view", PatientView([Lorazepam(2), Ketamine()])), "benzodiazepine-threshold");
        Assert.NotNull(card);
        var detail = (string)card["detail"]!;
        Assert.StartsWith("**Reviewed:** overridden by Practitioner/prescriber-1 on 2026-11-27 — Benefit outweighs risk, reviewed with patient.", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_snooze_ends_after_90_days()
    {
        await OverrideThresholdCardAsync();
        clock.Advance(TimeSpan.FromDays(89));
        Assert.Null(ScenarioFiles.Card(await CardsAsync("ketamine-order-sign", OrderSign([Lorazepam(2)])), "benzodiazepine-threshold"));
        clock.Advance(TimeSpan.FromDays(2));
        Assert.NotNull(ScenarioFiles.Card(await CardsAsync("ketamine-order-sign", OrderSign([Lorazepam(2)])), "benzodiazepine-threshold"));
    }

    [Fact]
    public async Task An_override_without_a_reason_or_with_the_clients_own_reason_does_not_snooze()
    {
        var first = (string)ScenarioFiles.Card(await CardsAsync("ketamine-order-sign", OrderSign([Lorazepam(2)])), "benzodiazepine-threshold")!["uuid"]!;
        var noReason = $$"""{"feedback":[{"card":"{{first}}","outcome":"overridden","outcomeTimestamp":"2026-11-27T09:01:00Z"}]}""";
        Assert.Equal(HttpStatusCode.OK, (await FeedbackAsync(noReason)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await FeedbackAsync(Overridden(first, system: "https://ehr.example.org/override-reasons", code: "busy"))).StatusCode);
        Assert.NotNull(ScenarioFiles.Card(await CardsAsync("ketamine-order-sign", OrderSign([Lorazepam(2)])), "benzodiazepine-threshold"));
    }

    [Fact]
    public async Task The_same_feedback_posted_twice_counts_once()
    {
        var uuid = await OverrideThresholdCardAsync();
        Assert.Equal(HttpStatusCode.OK, (await FeedbackAsync(Overridden(uuid))).StatusCode);
        var stored = await Service<KetamineCds.Storage.IFeedbackStore>().FeedbackForCardAsync(Guid.Parse(uuid), CancellationToken.None);
        var item = Assert.Single(stored);
        Assert.NotNull(item.Card);
        Assert.Equal("benzodiazepine-threshold", item.Card.Numbers.Finding);
        Assert.Equal(4m, item.Card.Numbers.LorazepamEquivalentMgPerDay);
    }

    [Fact]
    public async Task A_user_comment_is_kept_when_the_site_enables_it()
    {
        var settings = new Dictionary<string, string?>
        {
            ["KetamineCds:Storage:SqlitePath"] = database + ".comments.db",
            ["KetamineCds:Storage:StoreUserComments"] = "true",
        };
        var logs = new KetamineCds.Api.Tests.Fallback.CapturedLogs();
        using var withComments = CdsApplication.With(settings).WithWebHostBuilder(b => b.ConfigureLogging(l => l.AddProvider(logs)));
        var http = withComments.CreateClient();
        var uuid = Guid.NewGuid().ToString();
        var response = await http.PostAsync("/cds-services/ketamine-order-sign/feedback", new StringContent(Overridden(uuid, comment: "Reviewed at the clinic meeting"), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = Assert.Single(await withComments.Services.GetRequiredService<KetamineCds.Storage.IFeedbackStore>().FeedbackForCardAsync(Guid.Parse(uuid), CancellationToken.None));
        Assert.Equal("Reviewed at the clinic meeting", stored.Item.UserComment);
        // Kept, but never logged.
        Assert.Contains(logs.Lines, l => l.Contains("Feedback stored", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains("clinic meeting", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        client.Dispose();
        app.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { database, database + ".comments.db" }.SelectMany(f => new[] { f, f + "-wal", f + "-shm" }))
        {
            File.Delete(file);
        }
    }
}

/// <summary>Feedback validation and idempotency edges that need no fresh store: one host for the class.</summary>
public sealed class FeedbackValidationTests(CdsApplication app) : IClassFixture<CdsApplication>
{
    private const string Reasons = "http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason";
    private readonly HttpClient client = app.CreateClient();

    private async Task<JsonArray> CardsAsync(string service, JsonObject request) =>
        await ScenarioFiles.CardsAsync(await ScenarioFiles.PostAsync(client, service, request));

    private async Task<HttpResponseMessage> FeedbackAsync(string body) =>
        await client.PostAsync("/cds-services/ketamine-order-sign/feedback", new StringContent(body, Encoding.UTF8, "application/json"));

    private static JsonObject Lorazepam(decimal mgTwiceDaily) => Statement("b1", Concept("lorazepam"), Dosage(mgTwiceDaily, "BID"));

    private static string Overridden(string card, string code = "benefit-outweighs-risk", string? comment = null) =>
        SnoozeAndFeedbackTests.Overridden(card, code: code, comment: comment);

    private T Service<T>() where T : notnull => app.Services.GetRequiredService<T>();

    [Fact]
    public async Task Feedback_on_an_unknown_card_is_accepted_and_kept_as_unknown()
    {
        var unknown = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.OK, (await FeedbackAsync(Overridden(unknown))).StatusCode);
        var stored = Assert.Single(await Service<KetamineCds.Storage.IFeedbackStore>().FeedbackForCardAsync(Guid.Parse(unknown), CancellationToken.None));
        Assert.Null(stored.Card);
    }

    [Fact]
    public async Task An_override_reason_of_our_system_must_be_one_of_our_codes()
    {
        var response = await FeedbackAsync(Overridden(Guid.NewGuid().ToString(), code: "stop-the-benzodiazepine"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = await ScenarioFiles.OutcomeAsync(response);
        Assert.Contains("benefit-outweighs-risk", message, StringComparison.Ordinal);
        Assert.DoesNotContain("stop-the-benzodiazepine", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_comment_is_not_kept_unless_the_site_enables_it()
    {
        var uuid = (string)ScenarioFiles.Card(await CardsAsync("ketamine-order-sign", OrderSign([Lorazepam(2)])), "benzodiazepine-threshold")!["uuid"]!;
        Assert.Equal(HttpStatusCode.OK, (await FeedbackAsync(Overridden(uuid, comment: "Patient 13 says she stopped"))).StatusCode);
        var stored = Assert.Single(await Service<KetamineCds.Storage.IFeedbackStore>().FeedbackForCardAsync(Guid.Parse(uuid), CancellationToken.None));
        Assert.Null(stored.Item.UserComment);
    }

    [Theory]
    [InlineData("""{"feedback":[{"card":"9368d37b-283f-44a0-93ea-547cebab93ed","outcome":"overridden","outcomeTimestamp":"yesterday"}]}""")]
    [InlineData("""{"feedback":[{"card":"9368d37b-283f-44a0-93ea-547cebab93ed","outcome":"overridden","overrideReason":"busy","outcomeTimestamp":"2026-11-27T09:00:00Z"}]}""")]
    [InlineData("""{"feedback":[{"card":"9368d37b-283f-44a0-93ea-547cebab93ed","outcome":"overridden","overrideReason":{"reason":{"code":"x"}},"outcomeTimestamp":"2026-11-27T09:00:00Z"}]}""")]
    [InlineData("""{"feedback":[{"card":"9368d37b-283f-44a0-93ea-547cebab93ed","outcome":"accepted","acceptedSuggestions":[{"id":1}],"outcomeTimestamp":"2026-11-27T09:00:00Z"}]}""")]
    [InlineData("""{"feedback":[{"card":"9368d37b-283f-44a0-93ea-547cebab93ed","outcome":"overridden","overrideReason":{"userComment":5},"outcomeTimestamp":"2026-11-27T09:00:00Z"}]}""")]
    public async Task Malformed_items_refuse_the_whole_post_and_store_nothing(string body)
    {
        var response = await FeedbackAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await ScenarioFiles.OutcomeAsync(response);
        Assert.Empty(await Service<KetamineCds.Storage.IFeedbackStore>().FeedbackForCardAsync(Guid.Parse("9368d37b-283f-44a0-93ea-547cebab93ed"), CancellationToken.None));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("3601")]
    public void A_snooze_cache_period_below_zero_or_above_an_hour_stops_the_start(string seconds)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["KetamineCds:Storage:SnoozeCacheSeconds"] = seconds }).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddFeedbackStore().BuildServiceProvider();
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => services.GetRequiredService<Microsoft.Extensions.Options.IOptions<FeedbackStoreOptions>>().Value);
        Assert.Contains("SnoozeCacheSeconds", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_snooze_cache_period_of_zero_asks_the_store_on_every_call()
    {
        var store = Service<KetamineCds.Storage.IKetamineCdsStore>();
        Assert.Same(store, FeedbackServices.OverrideLookup(store, new FeedbackStoreOptions { SnoozeCacheSeconds = 0 }, TimeProvider.System));
        Assert.IsType<KetamineCds.Storage.OverrideLookupCache>(FeedbackServices.OverrideLookup(store, new FeedbackStoreOptions(), TimeProvider.System));
        // The service as configured by default answers look-ups through the cache, which the feedback handler shares.
        Assert.IsType<KetamineCds.Storage.OverrideLookupCache>(Service<KetamineCds.Storage.IFeedbackStore>());
    }
}
