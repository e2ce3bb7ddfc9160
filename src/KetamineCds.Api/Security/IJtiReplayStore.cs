using System.Collections.Concurrent;

namespace KetamineCds.Api.Security;

/// <summary>
/// Remembers the <c>jti</c> of every accepted token until it expires, so a captured token cannot be replayed.
/// <para>
/// The in-memory default protects one instance. Several instances behind a load balancer share
/// <see cref="RedisJtiReplayStore"/> (<c>SET key 1 NX PX ttl</c>), chosen by <c>KetamineCds:Redis:Configuration</c>.
/// The key includes the issuer: two EHRs may pick the same jti. The jti is at most
/// <see cref="CdsJwtBearerEvents.MaxJtiLength"/> characters, and is written only after the per-issuer rate limit.
/// </para>
/// </summary>
public interface IJtiReplayStore
{
    /// <summary>
    /// Records (issuer, jti) until <paramref name="expiresAt"/>. True when it was not seen before; false for a replay.
    /// Must be atomic: of two concurrent calls with the same pair, exactly one returns true. Throws
    /// <see cref="ReplayStoreUnavailableException"/> when a shared store cannot answer.
    /// </summary>
    ValueTask<bool> TryRememberAsync(string issuer, string jti, DateTimeOffset expiresAt, CancellationToken cancellationToken);
}

/// <summary>
/// Single-instance replay store; expired entries are swept as new ones arrive. Per call it allocates the dictionary
/// entry and nothing else (the issuer and jti strings are the token's own), and it keeps its own count: a
/// ConcurrentDictionary's Count takes every one of its locks, which would serialize all calls on every call.
/// </summary>
public sealed class InMemoryJtiReplayStore(TimeProvider time) : IJtiReplayStore
{
    /// <summary>Upper bound on remembered tokens; beyond it new tokens are refused rather than memory growing without limit.</summary>
    public const int Capacity = 1_000_000;

    private readonly ConcurrentDictionary<(string Issuer, string Jti), DateTimeOffset> seen = new();
    private long nextSweepTicks;
    private int count;

    /// <summary>Token ids remembered now (expired ones until the next sweep).</summary>
    public int Count => Volatile.Read(ref count);

    public ValueTask<bool> TryRememberAsync(string issuer, string jti, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        Sweep(now);
        var key = (issuer, jti);

        // Reserve a slot first, so concurrent callers can never take the store past its capacity.
        if (Interlocked.Increment(ref count) > Capacity)
        {
            Interlocked.Decrement(ref count);
            return ValueTask.FromResult(false);
        }

        if (seen.TryAdd(key, expiresAt))
        {
            return ValueTask.FromResult(true);
        }

        Interlocked.Decrement(ref count);

        // A remembered entry that has expired may be reused (its token could no longer validate anyway).
        if (seen.TryGetValue(key, out var existing) && existing < now && seen.TryUpdate(key, expiresAt, existing))
        {
            return ValueTask.FromResult(true);
        }

        return ValueTask.FromResult(false);
    }

    private void Sweep(DateTimeOffset now)
    {
        var due = Interlocked.Read(ref nextSweepTicks);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref nextSweepTicks, now.UtcTicks + TimeSpan.TicksPerMinute, due) != due)
        {
            return;
        }

        foreach (var entry in seen)
        {
            if (entry.Value < now && seen.TryRemove(entry))
            {
                Interlocked.Decrement(ref count);
            }
        }
    }
}

/// <summary>
/// The shared replay store could not answer (Redis unreachable or too slow). The call is refused with 503: accepting
/// it could accept a replay, so the store fails closed (docs/security.md, "Several instances").
/// </summary>
public sealed class ReplayStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A verified token's (issuer, jti), to be remembered by the admission step after the rate limit.</summary>
public sealed record PendingReplayCheck(string Issuer, string Jti, DateTimeOffset ExpiresAt);
