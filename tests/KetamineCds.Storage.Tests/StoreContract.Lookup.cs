namespace KetamineCds.Storage.Tests;

/// <summary>
/// Part of the store contract (SQLite and PostgreSQL): the snooze and review look-ups that start from the patient's
/// feedback (schema version 2) answer as the version-1 join over the patient's whole ledger did, on a ledger with
/// hundreds of cards per patient, and a version-1 database with data is migrated in place.
/// </summary>
public abstract partial class StoreContract
{
    [ContractFact]
    public async Task On_a_ledger_with_hundreds_of_cards_per_patient_the_look_ups_find_exactly_the_overrides_the_rule_defines()
    {
        var random = new Random(8);
        string[] patients = ["hmac-sha256:h1", "hmac-sha256:h2", "hmac-sha256:h3"];
        string[] findings = ["benzodiazepine-threshold", "lamotrigine-concurrent"];
        string[] systems = [OurReasons, "https://ehr.example/reasons"];
        var cards = Enumerable.Range(0, 1200).Select(i => Card(patient: patients[i % 3], finding: findings[i / 3 % 2], total: i, at: Monday.AddMinutes(-i))).ToList();
        var feedback = new List<FeedbackItem>();
        foreach (var card in cards.Where(_ => random.Next(3) == 0))
        {
            var at = Monday.AddDays(-random.Next(200)).AddMinutes(-random.Next(1000));
            feedback.Add(random.Next(4) == 0 ? Accept(card.CardUuid, at) : Override(card, at, system: systems[random.Next(2)]));
        }

        // A quarter of the feedback arrives before its card reaches the ledger (the writer is asynchronous).
        var early = feedback.Where((_, i) => i % 4 == 0).ToList();
        await Store.SaveFeedbackAsync(early, CancellationToken.None);
        foreach (var chunk in cards.Chunk(256))
        {
            await Store.RecordAsync(chunk, CancellationToken.None);
        }

        await Store.SaveFeedbackAsync(feedback.Except(early).ToList(), CancellationToken.None);
        var byCard = cards.ToDictionary(c => c.CardUuid);

        foreach (var patient in patients)
        {
            foreach (var finding in findings)
            {
                var since = Monday.AddDays(-90);
                var expected = feedback
                    .Where(f => f.Outcome == FeedbackOutcome.Overridden && f.Reason!.System == OurReasons && byCard[f.CardUuid].PatientHash == patient
                                && byCard[f.CardUuid].Numbers.Finding == finding && f.OutcomeTimestamp >= since)
                    .OrderByDescending(f => f.OutcomeTimestamp).Take(50).Select(f => (f.CardUuid, byCard[f.CardUuid].Numbers.LorazepamEquivalentMgPerDay)).ToList();
                var found = await Store.OverridesAsync(patient, finding, OurReasons, since, CancellationToken.None);
                Assert.Equal(expected, found.Select(o => (o.CardUuid, o.Numbers.LorazepamEquivalentMgPerDay)));
                Assert.NotEmpty(expected);

                var newest = feedback.Where(f => byCard[f.CardUuid].PatientHash == patient && byCard[f.CardUuid].Numbers.Finding == finding)
                    .OrderByDescending(f => f.OutcomeTimestamp).First();
                var latest = await Store.LatestAsync(patient, finding, CancellationToken.None);
                Assert.NotNull(latest);
                Assert.Equal((newest.Outcome, newest.OutcomeTimestamp), (latest.Outcome, latest.At));
            }
        }
    }

    [ContractFact]
    public async Task A_version_1_database_with_overrides_is_migrated_in_place_and_its_overrides_still_snooze()
    {
        var (older, sql) = CreateEmptyDatabase();
        await using var _ = older;
        var known = Card();
        var early = Card();

        // What version 1 created and wrote (its migration, verbatim in effect, and one card with an override plus an
        // override whose card had not reached the ledger yet).
        await sql("""
            CREATE TABLE card_ledger (card_uuid TEXT PRIMARY KEY, service_id TEXT NOT NULL, hook_instance TEXT NOT NULL, patient_hash TEXT NOT NULL,
                user_id TEXT NULL, finding TEXT NOT NULL, numbers_json TEXT NOT NULL, issued_at_ms BIGINT NOT NULL)
            """);
        await sql("CREATE INDEX ix_card_ledger_patient_finding ON card_ledger (patient_hash, finding)");
        await sql("""
            CREATE TABLE feedback (card_uuid TEXT NOT NULL, outcome TEXT NOT NULL, outcome_ts_ms BIGINT NOT NULL, service_id TEXT NOT NULL,
                reason_system TEXT NULL, reason_code TEXT NULL, reason_display TEXT NULL, user_comment TEXT NULL, accepted_suggestions TEXT NOT NULL,
                client_issuer TEXT NULL, client_subject TEXT NULL, received_at_ms BIGINT NOT NULL, effective_at_ms BIGINT NOT NULL,
                PRIMARY KEY (card_uuid, outcome, outcome_ts_ms))
            """);
        await sql("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)");
        await sql("INSERT INTO schema_version VALUES (1, 0)");
        var ms = Monday.ToUnixTimeMilliseconds();
        await sql($$"""
            INSERT INTO card_ledger VALUES ('{{known.CardUuid}}', 'ketamine-order-sign', 'h-1', '{{known.PatientHash}}', 'Practitioner/dr-a',
                'benzodiazepine-threshold', '{"finding":"benzodiazepine-threshold","lorazepamEquivalentMgPerDay":6,"ingredients":["clonazepam"]}', {{ms}})
            """);
        foreach (var card in new[] { known, early })
        {
            await sql($"""
                INSERT INTO feedback VALUES ('{card.CardUuid}', 'overridden', {ms}, 'ketamine-order-sign', '{OurReasons}', 'benefit-outweighs-risk',
                    NULL, NULL, '[]', 'https://ehr.example/iss', 'client-1', {ms}, {ms})
                """);
        }

        await older.InitializeAsync(CancellationToken.None);

        Assert.Equal(2, await ((SqlKetamineCdsStore)older).SchemaVersionAsync(CancellationToken.None));
        var found = Assert.Single(await older.OverridesAsync(known.PatientHash, "benzodiazepine-threshold", OurReasons, Monday.AddDays(-1), CancellationToken.None));
        Assert.Equal((known.CardUuid, 6m), (found.CardUuid, found.Numbers.LorazepamEquivalentMgPerDay));
        Assert.Equal(FeedbackOutcome.Overridden, (await older.LatestAsync(known.PatientHash, "benzodiazepine-threshold", CancellationToken.None))?.Outcome);

        // The override that was waiting for its card joins when the card is written.
        await older.RecordAsync([early], CancellationToken.None);
        Assert.Equal(2, (await older.OverridesAsync(known.PatientHash, "benzodiazepine-threshold", OurReasons, Monday.AddDays(-1), CancellationToken.None)).Count);
    }

    [ContractFact]
    public async Task Overrides_saved_while_their_cards_are_being_written_all_snooze()
    {
        // Feedback and the ledger write of its card racing (a client posting as the writer flushes): whichever commits
        // first, the override must end up joined to its card.
        var cards = Enumerable.Range(0, 40).Select(_ => Card(patient: "hmac-sha256:race")).ToList();
        var writes = cards.SelectMany(c => new Func<Task>[]
        {
            () => Store.SaveFeedbackAsync([Override(c, Monday)], CancellationToken.None),
            () => Store.RecordAsync([c], CancellationToken.None),
        }).Select(Task.Run);
        await Task.WhenAll(writes);
        var found = await Store.OverridesAsync("hmac-sha256:race", "benzodiazepine-threshold", OurReasons, Monday.AddDays(-1), CancellationToken.None);
        Assert.Equal(cards.Select(c => c.CardUuid).Order(), found.Select(o => o.CardUuid).Order());
    }
}
