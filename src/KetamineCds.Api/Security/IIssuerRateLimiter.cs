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

/// <summary>One instance's fixed windows (System.Threading.RateLimiting), one per partition; partitions are bounded by the configured issuers.</summary>
public sealed class InMemoryIssuerRateLimiter : IIssuerRateLimiter, IDisposable
{
    private readonly PartitionedRateLimiter<string> limiter;

    public InMemoryIssuerRateLimiter(IOptions<CdsSecurityOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value.RateLimit;
        limiter = PartitionedRateLimiter.Create<string, string>(partition => RateLimitPartition.GetFixedWindowLimiter(partition, _ =>
            new FixedWindowRateLimiterOptions
            {
                PermitLimit = settings.PermitLimit,
                Window = TimeSpan.FromSeconds(settings.WindowSeconds),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    public ValueTask<RateLimitDecision> AcquireAsync(string partition, CancellationToken cancellationToken)
    {
        using var lease = limiter.AttemptAcquire(partition);
        if (lease.IsAcquired)
        {
            return ValueTask.FromResult(RateLimitDecision.Allow);
        }

        return ValueTask.FromResult(new RateLimitDecision(false,
            lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1)));
    }

    public void Dispose() => limiter.Dispose();
}
