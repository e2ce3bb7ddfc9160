using KetamineCds.Api.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Tests.MultiInstance;

/// <summary>
/// One contract for the replay store and the per-issuer rate limit, run against the in-memory default and against a
/// real Redis: a jti is accepted once per issuer, concurrently too; the same jti from another issuer is its own; the
/// limit admits exactly PermitLimit calls per window and says when to retry.
/// </summary>
public abstract class SharedStateContract
{
    protected const int PermitLimit = 5;

    protected static IOptions<CdsSecurityOptions> Security() =>
        Options.Create(new CdsSecurityOptions { RateLimit = new RateLimitOptions { PermitLimit = PermitLimit, WindowSeconds = 60 } });

    protected abstract IJtiReplayStore CreateStore();

    protected abstract IIssuerRateLimiter CreateLimiter();

    [Fact]
    public async Task A_token_id_is_accepted_once_and_a_replay_is_refused()
    {
        var store = CreateStore();
        var jti = Guid.NewGuid().ToString();
        var expires = DateTimeOffset.UtcNow.AddMinutes(5);

        Assert.True(await store.TryRememberAsync("https://ehr-a.example", jti, expires, CancellationToken.None));
        Assert.False(await store.TryRememberAsync("https://ehr-a.example", jti, expires, CancellationToken.None));
        Assert.True(await store.TryRememberAsync("https://ehr-b.example", jti, expires, CancellationToken.None));
    }

    [Fact]
    public async Task Of_fifty_concurrent_uses_of_one_token_exactly_one_is_accepted()
    {
        var store = CreateStore();
        var jti = Guid.NewGuid().ToString();
        var expires = DateTimeOffset.UtcNow.AddMinutes(5);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            Task.Run(async () => await store.TryRememberAsync("https://ehr-a.example", jti, expires, CancellationToken.None))));

        Assert.Single(results, r => r);
    }

    [Fact]
    public async Task The_rate_limit_admits_exactly_the_permit_limit_per_issuer_and_gives_a_retry_time()
    {
        var limiter = CreateLimiter();
        var issuer = "https://ehr-" + Guid.NewGuid().ToString("N") + ".example";

        var decisions = new List<RateLimitDecision>();
        for (var i = 0; i < PermitLimit + 3; i++)
        {
            decisions.Add(await limiter.AcquireAsync(issuer, CancellationToken.None));
        }

        Assert.Equal(PermitLimit, decisions.Count(d => d.Allowed));
        Assert.All(decisions.Take(PermitLimit), d => Assert.True(d.Allowed));
        Assert.All(decisions.Skip(PermitLimit), d => Assert.True(d.RetryAfter > TimeSpan.Zero && d.RetryAfter <= TimeSpan.FromSeconds(60)));
        Assert.True((await limiter.AcquireAsync(issuer + "/other", CancellationToken.None)).Allowed);
    }
}

public sealed class InMemorySharedStateTests : SharedStateContract
{
    protected override IJtiReplayStore CreateStore() => new InMemoryJtiReplayStore(TimeProvider.System);

    protected override IIssuerRateLimiter CreateLimiter() => new InMemoryIssuerRateLimiter(Security());
}

[Collection(RedisCollection.Name)]
public sealed class RedisSharedStateTests(RedisServer redis) : SharedStateContract, IDisposable
{
    private readonly List<RedisConnection> connections = [];

    protected override IJtiReplayStore CreateStore() => new RedisJtiReplayStore(Connect(), TimeProvider.System);

    protected override IIssuerRateLimiter CreateLimiter() =>
        new RedisIssuerRateLimiter(Connect(), new InMemoryIssuerRateLimiter(Security()), Security(), NullLogger<RedisIssuerRateLimiter>.Instance);

    [Fact]
    public async Task Redis_that_cannot_be_reached_fails_the_replay_check_closed()
    {
        using var unreachable = RedisServer.Unreachable();
        var store = new RedisJtiReplayStore(unreachable, TimeProvider.System);

        await Assert.ThrowsAsync<ReplayStoreUnavailableException>(async () =>
            await store.TryRememberAsync("https://ehr-a.example", Guid.NewGuid().ToString(), DateTimeOffset.UtcNow.AddMinutes(5), CancellationToken.None));
    }

    private RedisConnection Connect()
    {
        var connection = redis.Connect($"test-{Guid.NewGuid():N}:");
        connections.Add(connection);
        return connection;
    }

    public void Dispose()
    {
        foreach (var connection in connections)
        {
            connection.Dispose();
        }
    }
}
