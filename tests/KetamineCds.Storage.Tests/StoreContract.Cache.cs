using Microsoft.Extensions.Time.Testing;

namespace KetamineCds.Storage.Tests;

/// <summary>
/// Part of the store contract (run against SQLite and PostgreSQL): the snooze look-up cache and the batched
/// ledger write. The cache may show an alert an override elsewhere would have snoozed (until its entry expires), never
/// hide one; the batch writes every row.
/// </summary>
public abstract partial class StoreContract
{
    private const string Benzodiazepine = "benzodiazepine-threshold";
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider clock = new(Monday);

    private OverrideLookupCache Cached(int maxEntries = 1000) => new(Store, Ttl, maxEntries, clock);

    private static Task<IReadOnlyList<OverrideRecord>> LookUp(IFeedbackStore store, IssuedCard card, DateTimeOffset? since = null, string system = OurReasons) =>
        store.OverridesAsync(card.PatientHash, card.Numbers.Finding, system, since ?? Monday.AddDays(-90), CancellationToken.None);

    [ContractFact]
    public async Task A_patient_remembered_as_never_overridden_is_snoozed_at_once_after_an_override_posted_to_this_instance()
    {
        var cache = Cached();
        var card = Card();
        await Store.RecordAsync([card], CancellationToken.None);
        Assert.Empty(await LookUp(cache, card));
        Assert.Empty(await LookUp(cache, card));
        Assert.Equal((1, 1), (cache.Hits, cache.Misses));

        await cache.SaveFeedbackAsync([Override(card, Monday)], CancellationToken.None);

        Assert.Equal(card.CardUuid, Assert.Single(await LookUp(cache, card)).CardUuid);
        Assert.Equal(2, cache.Misses);
    }

    [ContractFact]
    public async Task The_synchronous_check_knows_a_remembered_never_overridden_finding_and_forgets_it_when_this_instance_stores_an_override()
    {
        var cache = Cached();
        var card = Card();
        await Store.RecordAsync([card], CancellationToken.None);
        var since = Monday.AddDays(-90);
        Assert.False(cache.KnownToHaveNone(card.PatientHash, card.Numbers.Finding, OurReasons, since));
        Assert.Empty(await LookUp(cache, card, since));
        Assert.True(cache.KnownToHaveNone(card.PatientHash, card.Numbers.Finding, OurReasons, since));
        // An earlier start, or another reason system, is not answered by the remembered "none".
        Assert.False(cache.KnownToHaveNone(card.PatientHash, card.Numbers.Finding, OurReasons, since.AddDays(-1)));
        Assert.False(cache.KnownToHaveNone(card.PatientHash, card.Numbers.Finding, "http://example.org/other-reasons", since));

        await cache.SaveFeedbackAsync([Override(card, Monday)], CancellationToken.None);
        Assert.False(cache.KnownToHaveNone(card.PatientHash, card.Numbers.Finding, OurReasons, since));
    }

    [ContractFact]
    public async Task An_override_posted_to_another_instance_snoozes_once_this_instances_entry_expires_and_the_alert_shows_until_then()
    {
        var cache = Cached();
        var card = Card();
        await Store.RecordAsync([card], CancellationToken.None);
        Assert.Empty(await LookUp(cache, card));

        // Another instance: the same database, not this cache.
        await Store.SaveFeedbackAsync([Override(card, Monday)], CancellationToken.None);
        clock.Advance(Ttl - TimeSpan.FromSeconds(1));
        Assert.Empty(await LookUp(cache, card));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Single(await LookUp(cache, card));
    }

    [ContractFact]
    public async Task Overrides_found_are_read_from_the_store_every_time_never_from_memory()
    {
        var cache = Cached();
        var card = Card();
        await Store.RecordAsync([card], CancellationToken.None);
        await Store.SaveFeedbackAsync([Override(card, Monday)], CancellationToken.None);
        Assert.Single(await LookUp(cache, card));
        Assert.Single(await LookUp(cache, card));
        Assert.Equal((0, 2), (cache.Hits, cache.Misses));
        Assert.Equal(0, cache.Count);
    }

    [ContractFact]
    public async Task A_look_up_over_a_longer_period_or_another_reason_system_is_not_answered_from_memory()
    {
        var cache = Cached();
        var card = Card();
        var old = Card();
        await Store.RecordAsync([card, old], CancellationToken.None);
        await Store.SaveFeedbackAsync([Override(old, Monday.AddDays(-200))], CancellationToken.None);
        Assert.Empty(await LookUp(cache, card));
        Assert.Single(await LookUp(cache, card, since: Monday.AddDays(-365)));
        Assert.Empty(await LookUp(cache, card, system: "https://ehr.example/reasons"));
        Assert.Equal(0, cache.Hits);
    }

    [ContractFact]
    public async Task Feedback_on_a_card_this_instance_does_not_know_forgets_every_remembered_patient()
    {
        var cache = Cached();
        var seen = Card(patient: "hmac-sha256:p7");
        await Store.RecordAsync([seen], CancellationToken.None);
        Assert.Empty(await LookUp(cache, seen));
        Assert.Equal(1, cache.Count);

        await cache.SaveFeedbackAsync([Override(Card(), Monday)], CancellationToken.None);
        Assert.Equal(0, cache.Count);
    }

    [ContractFact]
    public async Task Accepting_a_card_keeps_the_remembered_answer_and_overriding_forgets_only_that_patients_finding()
    {
        var cache = Cached();
        var a = Card(patient: "hmac-sha256:pa");
        var b = Card(patient: "hmac-sha256:pb");
        await Store.RecordAsync([a, b], CancellationToken.None);
        Assert.Empty(await LookUp(cache, a));
        Assert.Empty(await LookUp(cache, b));

        await cache.SaveFeedbackAsync([Accept(a.CardUuid, Monday)], CancellationToken.None);
        Assert.Equal(2, cache.Count);
        await cache.SaveFeedbackAsync([Override(a, Monday)], CancellationToken.None);
        Assert.Equal(1, cache.Count);
        Assert.Single(await LookUp(cache, a));
        Assert.Empty(await LookUp(cache, b));
        Assert.Equal(1, cache.Hits);
    }

    [ContractFact]
    public async Task The_cache_never_holds_more_entries_than_its_cap_and_makes_room_once_entries_expire()
    {
        var cache = Cached(maxEntries: 3);
        var cards = Enumerable.Range(0, 10).Select(i => Card(patient: $"hmac-sha256:cap{i}")).ToList();
        await Store.RecordAsync(cards, CancellationToken.None);
        foreach (var card in cards)
        {
            Assert.Empty(await LookUp(cache, card));
        }

        Assert.Equal(3, cache.Count);
        foreach (var card in cards)
        {
            Assert.Empty(await LookUp(cache, card));
        }

        Assert.Equal(3, cache.Hits);
        Assert.Equal(3, cache.Count);

        clock.Advance(Ttl + TimeSpan.FromSeconds(1));
        Assert.Empty(await LookUp(cache, cards[9]));
        Assert.Equal(1, cache.Count);
    }

    [ContractFact]
    public async Task A_ledger_batch_of_hundreds_writes_every_card_with_its_own_values_and_skips_replays()
    {
        var earlier = Enumerable.Range(0, 10).Select(_ => Card()).ToList();
        await Store.RecordAsync(earlier, CancellationToken.None);
        // Values alternate (user present or not, totals, findings) so a parameter left over from the previous row would show.
        var batch = Enumerable.Range(0, 600).Select(i => Card(
                patient: $"hmac-sha256:batch{i % 7}", finding: i % 2 == 0 ? Benzodiazepine : "lamotrigine-concurrent",
                total: i % 3 == 0 ? null : i, at: Monday.AddSeconds(i)) with { UserId = i % 2 == 0 ? null : $"Practitioner/{i}" })
            .Concat(earlier.Take(5)).ToList();
        await Store.RecordAsync(batch, CancellationToken.None);

        Assert.Equal(610, (await Store.CountsAsync(CancellationToken.None)).Cards);
        for (var i = 0; i < 600; i++)
        {
            var found = await Store.FindCardAsync(batch[i].CardUuid, CancellationToken.None);
            Assert.NotNull(found);
            Assert.Equal(batch[i].UserId, found.UserId);
            Assert.Equal(batch[i].PatientHash, found.PatientHash);
            Assert.Equal(batch[i].Numbers.Finding, found.Numbers.Finding);
            Assert.Equal(batch[i].Numbers.LorazepamEquivalentMgPerDay, found.Numbers.LorazepamEquivalentMgPerDay);
            Assert.Equal(batch[i].IssuedAt, found.IssuedAt);
        }
    }
}
