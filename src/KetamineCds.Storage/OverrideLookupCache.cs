using System.Collections.Concurrent;

namespace KetamineCds.Storage;

/// <summary>
/// The feedback store with a per-instance memory of "this patient's finding has no override" in front of
/// <see cref="IFeedbackStore.OverridesAsync"/>: the snooze look-up runs for every card at order-select/order-sign, and
/// almost always finds nothing, so repeating it within seconds is work with no new answer.
/// <para>Only the empty answer is remembered, never a list of overrides. Why: a stale empty answer can only make the
/// step show a card an override (posted to another instance, or the ledger row of an unknown card arriving later)
/// would have snoozed: one alert too many, the safe direction. A stale list of overrides could instead hide an alert:
/// the newest override, if missing from the list, may carry lower numbers than an older one, and the current card is
/// judged "worse" only against the newest (SnoozeRule.WorseSince). Overrides are few, so their look-ups stay uncached.</para>
/// <para>Invalidation: this instance's own feedback goes through <see cref="SaveFeedbackAsync"/>, which forgets the
/// entry of each overridden card's patient and finding (all entries when the card is unknown or cannot be read), after
/// a generation bump that keeps a look-up already in flight from storing an answer read before the save. Bounded: at
/// most <c>maxEntries</c> entries; a full cache first drops expired entries (at most once a second), then stops adding.</para>
/// </summary>
public sealed class OverrideLookupCache : IFeedbackStore
{
    private readonly IKetamineCdsStore inner;
    private readonly long ttlTicks;
    private readonly int maxEntries;
    private readonly TimeProvider time;
    private readonly ConcurrentDictionary<(string Patient, string Finding), Entry> noOverride = new();
    private int count;
    private long generation;
    private long lastSweep;

    public OverrideLookupCache(IKetamineCdsStore inner, TimeSpan ttl, int maxEntries, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        this.inner = inner;
        this.time = time;
        this.maxEntries = maxEntries;
        ttlTicks = (long)(ttl.TotalSeconds * time.TimestampFrequency);
        lastSweep = time.GetTimestamp() - time.TimestampFrequency;
    }

    /// <summary>Entries held now (for tests and operators).</summary>
    public int Count => Volatile.Read(ref count);

    /// <summary>Look-ups answered from memory, and look-ups that went to the store (for the benchmark and tests).</summary>
    public long Hits => Interlocked.Read(ref hits);

    public long Misses => Interlocked.Read(ref misses);

    private long hits;
    private long misses;

    /// <summary>
    /// True when this instance remembers that the patient's finding has no override since <paramref name="since"/>:
    /// the answer <see cref="OverridesAsync"/> would give from memory, without a task or a deadline (the snooze step
    /// asks this first, so a remembered answer costs it no timer per card).
    /// </summary>
    public bool KnownToHaveNone(string patientHash, string findingCode, string reasonSystem, DateTimeOffset since) =>
        KnownToHaveNone((patientHash, findingCode), reasonSystem, since.ToUnixTimeMilliseconds(), time.GetTimestamp());

    private bool KnownToHaveNone((string Patient, string Finding) key, string reasonSystem, long sinceMs, long now)
    {
        if (noOverride.TryGetValue(key, out var entry))
        {
            // "None since S" answers "none since S' >= S" for the same reason system; an earlier start could find more.
            if (now < entry.Expires && sinceMs >= entry.SinceMs && string.Equals(entry.ReasonSystem, reasonSystem, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref hits);
                return true;
            }

            if (now >= entry.Expires && noOverride.TryRemove(KeyValuePair.Create(key, entry)))
            {
                Interlocked.Decrement(ref count);
            }
        }

        return false;
    }

    public async Task<IReadOnlyList<OverrideRecord>> OverridesAsync(string patientHash, string findingCode, string reasonSystem, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var key = (patientHash, findingCode);
        var now = time.GetTimestamp();
        var sinceMs = since.ToUnixTimeMilliseconds();
        if (KnownToHaveNone(key, reasonSystem, sinceMs, now))
        {
            return [];
        }

        Interlocked.Increment(ref misses);
        var before = Interlocked.Read(ref generation);
        var result = await inner.OverridesAsync(patientHash, findingCode, reasonSystem, since, cancellationToken);
        if (result.Count == 0 && Interlocked.Read(ref generation) == before)
        {
            Remember(key, new Entry(now + ttlTicks, sinceMs, reasonSystem));
        }

        return result;
    }

    public async Task<FeedbackWriteResult> SaveFeedbackAsync(IReadOnlyList<FeedbackItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        try
        {
            return await inner.SaveFeedbackAsync(items, cancellationToken);
        }
        finally
        {
            // Also after a failure: a commit can succeed and still report an error.
            await ForgetAsync(items);
        }
    }

    public Task<IReadOnlyList<StoredFeedback>> FeedbackForCardAsync(Guid cardUuid, CancellationToken cancellationToken) =>
        inner.FeedbackForCardAsync(cardUuid, cancellationToken);

    public Task<StoreCounts> CountsAsync(CancellationToken cancellationToken) => inner.CountsAsync(cancellationToken);

    /// <summary>Forgets every entry (e.g. after retention or a restore).</summary>
    public void Clear()
    {
        Interlocked.Increment(ref generation);
        noOverride.Clear();
        Volatile.Write(ref count, noOverride.Count);
    }

    private async Task ForgetAsync(IReadOnlyList<FeedbackItem> items)
    {
        Interlocked.Increment(ref generation);
        foreach (var item in items)
        {
            if (item.Outcome != FeedbackOutcome.Overridden)
            {
                continue;
            }

            IssuedCard? card;
            try
            {
                // Not the caller's token: a cancelled request must still invalidate what it may have stored.
                card = await inner.FindCardAsync(item.CardUuid, CancellationToken.None);
            }
#pragma warning disable CA1031 // Any failure to read the card is answered by forgetting everything, the safe direction.
            catch (Exception)
#pragma warning restore CA1031
            {
                card = null;
            }

            if (card is null)
            {
                // Unknown card (its ledger row may still come) or unreadable: forget all rather than guess.
                Clear();
                return;
            }

            if (noOverride.TryRemove((card.PatientHash, card.Numbers.Finding), out _))
            {
                Interlocked.Decrement(ref count);
            }
        }
    }

    private void Remember((string, string) key, Entry entry)
    {
        if (Volatile.Read(ref count) >= maxEntries && !Sweep(entry.Expires - ttlTicks))
        {
            return;
        }

        if (noOverride.TryAdd(key, entry))
        {
            Interlocked.Increment(ref count);
        }
        else
        {
            noOverride[key] = entry;
        }
    }

    /// <summary>Drops expired entries, at most once a second; true when there is room afterwards.</summary>
    private bool Sweep(long now)
    {
        var last = Interlocked.Read(ref lastSweep);
        if (now - last < time.TimestampFrequency || Interlocked.CompareExchange(ref lastSweep, now, last) != last)
        {
            return false;
        }

        foreach (var pair in noOverride)
        {
            if (now >= pair.Value.Expires)
            {
                noOverride.TryRemove(pair);
            }
        }

        // Re-counted here, so concurrent adds and clears cannot make the counter drift for long.
        Volatile.Write(ref count, noOverride.Count);
        return Volatile.Read(ref count) < maxEntries;
    }

    private readonly record struct Entry(long Expires, long SinceMs, string ReasonSystem);
}
