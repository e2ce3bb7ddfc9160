using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Security;

/// <summary>What the per-issuer rate limit decided for one call.</summary>
public readonly record struct RateLimitDecision(bool Allowed, TimeSpan RetryAfter)
{
    public static RateLimitDecision Allow { get; } = new(true, TimeSpan.Zero);
}

/// <summary>
/// The per-issuer limit on hook and feedback calls (<c>KetamineCds:Security:RateLimit</c>: a fixed window of
/// <c>PermitLimit</c> calls per <c>WindowSeconds</c>). The partition is a verified issuer, or "unsigned" when signatures
/// are off. In-memory by default; <see cref="RedisIssuerRateLimiter"/> shares one count between instances.
/// </summary>
public interface IIssuerRateLimiter
{
    ValueTask<RateLimitDecision> AcquireAsync(string partition, CancellationToken cancellationToken);
}

/// <summary>
/// One instance's fixed windows (System.Threading.RateLimiting), one per partition; partitions are bounded by the
/// configured issuers (the partition is a verified <c>iss</c>, or "unsigned"). The partition's limiter is found with a
/// lock-free look-up, and an admitted call gets the limiter's shared successful lease: nothing is allocated per admitted
/// call (PartitionedRateLimiter ran its partitioner delegate and took one global lock on every call).
/// </summary>
public sealed class InMemoryIssuerRateLimiter : IIssuerRateLimiter, IDisposable
{
    private readonly ConcurrentDictionary<string, FixedWindowRateLimiter> limiters = new(StringComparer.Ordinal);
    private readonly FixedWindowRateLimiterOptions window;

    public InMemoryIssuerRateLimiter(IOptions<CdsSecurityOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value.RateLimit;
        window = new FixedWindowRateLimiterOptions
        {
            PermitLimit = settings.PermitLimit,
            Window = TimeSpan.FromSeconds(settings.WindowSeconds),
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    public ValueTask<RateLimitDecision> AcquireAsync(string partition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(partition);
        var limiter = limiters.GetOrAdd(partition, static (_, options) => new FixedWindowRateLimiter(options), window);
        using var lease = limiter.AttemptAcquire();
        if (lease.IsAcquired)
        {
            return ValueTask.FromResult(RateLimitDecision.Allow);
        }

        return ValueTask.FromResult(new RateLimitDecision(false,
            lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1)));
    }

    public void Dispose()
    {
        foreach (var limiter in limiters.Values)
        {
            limiter.Dispose();
        }
    }
}
