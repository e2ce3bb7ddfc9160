namespace KetamineCds.Storage.Tests;

/// <summary>
/// The contract every store keeps, run against SQLite and against a real PostgreSQL server: the same tests, the same
/// expectations. A store that passes here can back the service.
/// </summary>
public abstract partial class StoreContract : IAsyncLifetime
{
    protected const string OurReasons = "http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason";
    protected static readonly DateTimeOffset Monday = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);

    private IKetamineCdsStore? store;

    protected IKetamineCdsStore Store => store ?? throw new InvalidOperationException("store not created");

    /// <summary>A new store over an empty database, not yet initialized.</summary>
    protected abstract IKetamineCdsStore CreateStore();

    /// <summary>Another empty database: a store over it (not initialized) and a way to run SQL on it as an older version would have.</summary>
    protected abstract (IKetamineCdsStore Store, Func<string, Task> Sql) CreateEmptyDatabase();

    public async Task InitializeAsync()
    {
        store = CreateStore();
        await store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (store is not null)
        {
            await store.DisposeAsync();
        }
    }

    protected static IssuedCard Card(string patient = "hmac-sha256:p1", string finding = "benzodiazepine-threshold", decimal? total = 6m,
        string[]? ingredients = null, DateTimeOffset? at = null) => new(
        Guid.NewGuid(), "ketamine-order-sign", Guid.NewGuid().ToString(), patient, "Practitioner/dr-a",
        new CardNumbers { Finding = finding, LorazepamEquivalentMgPerDay = total, Ingredients = ingredients ?? ["clonazepam"] },
        at ?? Monday);

    protected static FeedbackItem Override(IssuedCard card, DateTimeOffset at, string code = "benefit-outweighs-risk", string system = OurReasons, string? comment = null) =>
        new(card.CardUuid, card.ServiceId, FeedbackOutcome.Overridden, at, new ReasonCoding(system, code, "Benefit outweighs risk, reviewed with patient"),
            comment, [], "https://ehr.example/iss", "client-1", at.AddSeconds(2));

    protected static FeedbackItem Accept(Guid card, DateTimeOffset at) =>
        new(card, "ketamine-order-sign", FeedbackOutcome.Accepted, at, null, null, ["s-1"], "https://ehr.example/iss", "client-1", at.AddSeconds(1));

    [ContractFact]
    public async Task A_recorded_card_is_found_with_the_numbers_it_showed()
    {
        var card = Card(total: 6.25m, ingredients: ["clonazepam", "lorazepam"]);
        await Store.RecordAsync([card], CancellationToken.None);
        var found = await Store.FindCardAsync(card.CardUuid, CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal(6.25m, found.Numbers.LorazepamEquivalentMgPerDay);
        Assert.Equal(["clonazepam", "lorazepam"], found.Numbers.Ingredients);
        Assert.Equal(card.PatientHash, found.PatientHash);
        Assert.Equal("Practitioner/dr-a", found.UserId);
        Assert.Equal(Monday, found.IssuedAt);
    }

    [ContractFact]
    public async Task Recording_the_same_card_twice_keeps_one_row()
    {
        var card = Card();
        await Store.RecordAsync([card], CancellationToken.None);
        await Store.RecordAsync([card], CancellationToken.None);
        Assert.Equal(1, (await Store.CountsAsync(CancellationToken.None)).Cards);
    }

    [ContractFact]
    public async Task The_same_feedback_posted_twice_counts_once()
    {
        var card = Card();
        await Store.RecordAsync([card], CancellationToken.None);
        var item = Override(card, Monday.AddMinutes(1));
        var first = await Store.SaveFeedbackAsync([item], CancellationToken.None);
        var replay = await Store.SaveFeedbackAsync([item with { ReceivedAt = item.ReceivedAt.AddMinutes(5) }], CancellationToken.None);
        Assert.Equal(new FeedbackWriteResult(1, 0, 0), first);
        Assert.Equal(new FeedbackWriteResult(0, 1, 0), replay);
        Assert.Single(await Store.FeedbackForCardAsync(card.CardUuid, CancellationToken.None));
    }

    [ContractFact]
    public async Task A_later_action_on_the_same_card_is_its_own_feedback()
    {
        var card = Card();
        await Store.RecordAsync([card], CancellationToken.None);
        await Store.SaveFeedbackAsync([Override(card, Monday.AddMinutes(1))], CancellationToken.None);
        await Store.SaveFeedbackAsync([Accept(card.CardUuid, Monday.AddMinutes(1)), Override(card, Monday.AddMinutes(9))], CancellationToken.None);
        var stored = await Store.FeedbackForCardAsync(card.CardUuid, CancellationToken.None);
        Assert.Equal(3, stored.Count);
        Assert.All(stored, s => Assert.Equal(card.CardUuid, s.Card?.CardUuid));
    }

    [ContractFact]
    public async Task Feedback_on_an_unknown_card_is_kept_and_joins_when_the_card_arrives()
    {
        var card = Card();
        var result = await Store.SaveFeedbackAsync([Override(card, Monday.AddMinutes(1))], CancellationToken.None);
        Assert.Equal(new FeedbackWriteResult(1, 0, 1), result);
        Assert.Null(Assert.Single(await Store.FeedbackForCardAsync(card.CardUuid, CancellationToken.None)).Card);
        Assert.Equal(1, (await Store.CountsAsync(CancellationToken.None)).FeedbackForUnknownCards);

        await Store.RecordAsync([card], CancellationToken.None);
        Assert.NotNull(Assert.Single(await Store.FeedbackForCardAsync(card.CardUuid, CancellationToken.None)).Card);
        Assert.Equal(0, (await Store.CountsAsync(CancellationToken.None)).FeedbackForUnknownCards);
    }

    [ContractFact]
    public async Task A_batch_with_a_replay_stores_only_the_new_items()
    {
        var a = Card();
        var b = Card();
        await Store.RecordAsync([a, b], CancellationToken.None);
        await Store.SaveFeedbackAsync([Override(a, Monday.AddMinutes(1))], CancellationToken.None);
        var result = await Store.SaveFeedbackAsync([Override(a, Monday.AddMinutes(1)), Override(b, Monday.AddMinutes(2))], CancellationToken.None);
        Assert.Equal(new FeedbackWriteResult(1, 1, 0), result);
        Assert.Equal(2, (await Store.CountsAsync(CancellationToken.None)).Feedback);
    }

    [ContractFact]
    public async Task Overrides_are_found_for_the_same_patient_and_finding_within_the_period_newest_first()
    {
        var old = Card(total: 5m);
        var recent = Card(total: 6m);
        var otherPatient = Card(patient: "hmac-sha256:p2");
        var otherFinding = Card(finding: "lamotrigine-concurrent");
        var foreignReason = Card();
        await Store.RecordAsync([old, recent, otherPatient, otherFinding, foreignReason], CancellationToken.None);
        await Store.SaveFeedbackAsync(
        [
            Override(old, Monday.AddDays(-100)),
            Override(recent, Monday.AddDays(-3), code: "not-applicable"),
            Override(otherPatient, Monday.AddDays(-1)),
            Override(otherFinding, Monday.AddDays(-1)),
            Override(foreignReason, Monday.AddDays(-1), system: "https://ehr.example/reasons"),
            Accept(recent.CardUuid, Monday.AddDays(-2)),
        ], CancellationToken.None);

        var overrides = await Store.OverridesAsync("hmac-sha256:p1", "benzodiazepine-threshold", OurReasons, Monday.AddDays(-90), CancellationToken.None);
        var found = Assert.Single(overrides);
        Assert.Equal(recent.CardUuid, found.CardUuid);
        Assert.Equal(6m, found.Numbers.LorazepamEquivalentMgPerDay);
        Assert.Equal("not-applicable", found.Reason.Code);
        Assert.Equal("Practitioner/dr-a", found.User);

        var all = await Store.OverridesAsync("hmac-sha256:p1", "benzodiazepine-threshold", OurReasons, Monday.AddDays(-365), CancellationToken.None);
        Assert.Equal([recent.CardUuid, old.CardUuid], all.Select(o => o.CardUuid));
    }

    [ContractFact]
    public async Task A_snooze_runs_from_the_earlier_of_the_outcome_and_its_receipt_never_from_a_future_claim()
    {
        var card = Card();
        await Store.RecordAsync([card], CancellationToken.None);
        // The client claims the override happened a year from now; it was received on Monday.
        var claimed = Override(card, Monday.AddDays(365)) with { ReceivedAt = Monday };
        await Store.SaveFeedbackAsync([claimed], CancellationToken.None);
        var found = Assert.Single(await Store.OverridesAsync(card.PatientHash, "benzodiazepine-threshold", OurReasons, Monday.AddDays(-1), CancellationToken.None));
        Assert.Equal(Monday, found.At);
    }

    [ContractFact]
    public async Task The_review_sees_the_latest_feedback_on_a_finding()
    {
        var first = Card();
        var second = Card();
        await Store.RecordAsync([first, second], CancellationToken.None);
        Assert.Null(await Store.LatestAsync(first.PatientHash, "benzodiazepine-threshold", CancellationToken.None));
        await Store.SaveFeedbackAsync([Override(first, Monday.AddDays(1), code: "dose-already-adjusted"), Accept(second.CardUuid, Monday.AddDays(2))], CancellationToken.None);
        var latest = await Store.LatestAsync(first.PatientHash, "benzodiazepine-threshold", CancellationToken.None);
        Assert.NotNull(latest);
        Assert.Equal(FeedbackOutcome.Accepted, latest.Outcome);
        Assert.Equal(Monday.AddDays(2), latest.At);
        Assert.Null(await Store.LatestAsync(first.PatientHash, "lamotrigine-concurrent", CancellationToken.None));
    }

    [ContractFact]
    public async Task The_override_reason_comment_and_suggestions_round_trip()
    {
        var card = Card();
        await Store.RecordAsync([card], CancellationToken.None);
        await Store.SaveFeedbackAsync([Override(card, Monday, comment: "discussed at clinic"), Accept(card.CardUuid, Monday.AddMinutes(1))], CancellationToken.None);
        var stored = await Store.FeedbackForCardAsync(card.CardUuid, CancellationToken.None);
        Assert.Equal("discussed at clinic", stored[0].Item.UserComment);
        Assert.Equal(new ReasonCoding(OurReasons, "benefit-outweighs-risk", "Benefit outweighs risk, reviewed with patient"), stored[0].Item.Reason);
        Assert.Equal(["s-1"], stored[1].Item.AcceptedSuggestions);
        Assert.Equal("client-1", stored[1].Item.ClientSubject);
    }

    [ContractFact]
    public async Task Initializing_again_is_harmless_and_the_schema_is_versioned()
    {
        var card = Card();
        await Store.RecordAsync([card], CancellationToken.None);
        await Store.InitializeAsync(CancellationToken.None);
        await Store.InitializeAsync(CancellationToken.None);
        Assert.Equal(2, await ((SqlKetamineCdsStore)Store).SchemaVersionAsync(CancellationToken.None));
        Assert.NotNull(await Store.FindCardAsync(card.CardUuid, CancellationToken.None));
    }

    [ContractFact]
    public async Task Retention_deletes_old_feedback_and_cards_but_keeps_recent_ones()
    {
        var old = Card(at: Monday.AddDays(-400));
        var recent = Card(at: Monday);
        await Store.RecordAsync([old, recent], CancellationToken.None);
        await Store.SaveFeedbackAsync([Override(old, Monday.AddDays(-399)), Override(recent, Monday)], CancellationToken.None);
        var deleted = await ((SqlKetamineCdsStore)Store).DeleteOlderThanAsync(Monday.AddDays(-365), CancellationToken.None);
        Assert.Equal(2, deleted);
        Assert.Null(await Store.FindCardAsync(old.CardUuid, CancellationToken.None));
        Assert.NotNull(await Store.FindCardAsync(recent.CardUuid, CancellationToken.None));
    }

    [ContractFact]
    public async Task Concurrent_writers_lose_nothing_and_count_nothing_twice()
    {
        var cards = Enumerable.Range(0, 40).Select(_ => Card()).ToList();
        await Store.RecordAsync(cards, CancellationToken.None);
        // Every item is posted by two writers at once, as a client retrying after a timeout would.
        var writes = cards.SelectMany(c => new[] { c, c }).Select(c => Task.Run(() => Store.SaveFeedbackAsync([Override(c, Monday)], CancellationToken.None)));
        var results = await Task.WhenAll(writes);
        Assert.Equal(40, results.Sum(r => r.Stored));
        Assert.Equal(40, results.Sum(r => r.Duplicates));
        Assert.Equal(40, (await Store.CountsAsync(CancellationToken.None)).Feedback);
    }
}

public sealed class SqliteStoreContractTests : StoreContract, IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "kcds-sqlite-" + Guid.NewGuid().ToString("N")[..12]);

    protected override IKetamineCdsStore CreateStore() => new SqliteKetamineCdsStore(Path.Combine(directory, "nested", "ketaminecds.db"));

    protected override (IKetamineCdsStore Store, Func<string, Task> Sql) CreateEmptyDatabase()
    {
        var path = Path.Combine(directory, "older-" + Guid.NewGuid().ToString("N")[..8] + ".db");
        return (new SqliteKetamineCdsStore(path), async sql =>
        {
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        });
    }

    [ContractFact]
    public async Task The_database_file_is_created_on_first_use_in_WAL_mode()
    {
        var path = Path.Combine(directory, "nested", "ketaminecds.db");
        Assert.True(File.Exists(path));
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreContractTests(PostgresServer server) : StoreContract
{
    protected override IKetamineCdsStore CreateStore() => new PostgresKetamineCdsStore(server.CreateDatabase());

    protected override (IKetamineCdsStore Store, Func<string, Task> Sql) CreateEmptyDatabase()
    {
        var connectionString = server.CreateDatabase();
        return (new PostgresKetamineCdsStore(connectionString), async sql =>
        {
            await using var connection = new Npgsql.NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        });
    }

    [ContractFact]
    public async Task Two_instances_starting_together_migrate_once()
    {
        var connection = server.CreateDatabase();
        var instances = Enumerable.Range(0, 4).Select(_ => new PostgresKetamineCdsStore(connection)).ToList();
        await Task.WhenAll(instances.Select(i => Task.Run(() => i.InitializeAsync(CancellationToken.None))));
        Assert.Equal(2, await instances[0].SchemaVersionAsync(CancellationToken.None));
        foreach (var instance in instances)
        {
            await instance.DisposeAsync();
        }
    }
}
